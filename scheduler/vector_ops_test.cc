#include "scheduler/vector_ops.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "emulator/chip_emulator.h"
#include "emulator/program_verifier.h"
#include "gtest/gtest.h"
#include "isa/numeric.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::scheduler {
namespace {

using isa::Opcode;

class VectorOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel model, isa::DefaultChipModel());
    chip_ = std::make_unique<isa::ChipModel>(std::move(model));
    scheduler_ = std::make_unique<ChipScheduler>(*chip_, 0);
    ops_ = std::make_unique<VectorOps>(*scheduler_, /*with_data=*/true);
  }

  // Runs the program built so far; checks the prediction against the run.
  void Run() {
    const int64_t predicted = scheduler_->last_cycle();
    program_ = scheduler_->Build();
    TSP_ASSERT_OK_AND_ASSIGN(emulator_, emulator::ChipEmulator::Create(*chip_, program_, {}));
    TSP_ASSERT_OK_AND_ASSIGN(emulator::RunResult result, emulator_->Run());
    EXPECT_EQ(result.last_event_cycle, predicted);
  }

  std::vector<uint32_t> Read(const Vec& v) {
    std::vector<uint32_t> bits(chip_->lanes(), 0);
    for (int p = 0; p < v.planes(); ++p) {
      absl::StatusOr<std::string> plane =
          emulator_->ReadMemory(chip_->slices()[v.slices[p]].name, v.address, 1);
      EXPECT_TRUE(plane.ok()) << plane.status();
      for (int lane = 0; lane < chip_->lanes(); ++lane) {
        bits[lane] |= static_cast<uint32_t>(static_cast<uint8_t>((*plane)[lane])) << (8 * p);
      }
    }
    return bits;
  }
  std::vector<float> ReadFloat(const Vec& v) {
    std::vector<float> values;
    for (uint32_t bits : Read(v)) values.push_back(isa::BitsToFloat(bits));
    return values;
  }

  std::unique_ptr<isa::ChipModel> chip_;
  std::unique_ptr<ChipScheduler> scheduler_;
  std::unique_ptr<VectorOps> ops_;
  isa::Program program_;
  std::unique_ptr<emulator::ChipEmulator> emulator_;
};

std::vector<float> Ramp(int n, float start, float step) {
  std::vector<float> values(n);
  for (int i = 0; i < n; ++i) values[i] = start + step * static_cast<float>(i % 37);
  return values;
}

TEST_F(VectorOpsTest, VectorAndLaneOperationsMatchPlainArithmetic) {
  const int n = chip_->lanes();
  const std::vector<float> a_values = Ramp(n, -3.25f, 0.5f);
  const std::vector<float> b_values = Ramp(n, 1.5f, -0.125f);
  TSP_ASSERT_OK_AND_ASSIGN(Vec a, ops_->ConstantFloat(Side::kWest, a_values));
  TSP_ASSERT_OK_AND_ASSIGN(Vec b, ops_->ConstantFloat(Side::kEast, b_values));
  TSP_ASSERT_OK_AND_ASSIGN(Vec sum, ops_->Vxm(Opcode::kAdd, isa::FP32, {a, b}, Side::kWest));
  // Both operands in the west groups: may share slices, which forces a copy.
  TSP_ASSERT_OK_AND_ASSIGN(Vec product, ops_->Vxm(Opcode::kMul, isa::FP32, {sum, a}, Side::kEast));
  TSP_ASSERT_OK_AND_ASSIGN(Vec square, ops_->Vxm(Opcode::kMul, isa::FP32, {a, a}, Side::kEast));
  TSP_ASSERT_OK_AND_ASSIGN(Vec shifted, ops_->Shift(Opcode::kShift, product, 3, Side::kEast));
  TSP_ASSERT_OK_AND_ASSIGN(Vec rotated, ops_->Shift(Opcode::kRotate, shifted, -5, Side::kWest));
  std::vector<int> reverse(n);
  for (int i = 0; i < n; ++i) reverse[i] = i % 7 == 0 ? -1 : n - 1 - i;
  TSP_ASSERT_OK_AND_ASSIGN(Vec permuted, ops_->Permute(rotated, reverse, Side::kWest));
  TSP_ASSERT_OK_AND_ASSIGN(Vec converted,
                           ops_->Vxm(Opcode::kConvert, isa::FP32, {a}, Side::kEast, isa::INT8));
  Run();

  std::vector<float> expected_product(n), expected_shifted(n, 0.0f), expected_rotated(n),
      expected_permuted(n);
  for (int i = 0; i < n; ++i) expected_product[i] = (a_values[i] + b_values[i]) * a_values[i];
  for (int i = 3; i < n; ++i) expected_shifted[i] = expected_product[i - 3];
  for (int i = 0; i < n; ++i) expected_rotated[i] = expected_shifted[((i + 5) % n + n) % n];
  for (int i = 0; i < n; ++i) expected_permuted[i] = reverse[i] < 0 ? 0.0f : expected_rotated[reverse[i]];
  EXPECT_EQ(ReadFloat(product), expected_product);
  EXPECT_EQ(ReadFloat(shifted), expected_shifted);
  EXPECT_EQ(ReadFloat(rotated), expected_rotated);
  EXPECT_EQ(ReadFloat(permuted), expected_permuted);
  const std::vector<float> squares = ReadFloat(square);
  const std::vector<uint32_t> bytes = Read(converted);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(squares[i], a_values[i] * a_values[i]);
    EXPECT_EQ(static_cast<int8_t>(bytes[i]), static_cast<int8_t>(std::nearbyint(a_values[i])));
  }
}

// y = W x through the streamed-matrix path on both MXM sides, int8 and fp16,
// against a plain product; a 700 x 500 matrix has partial tiles both ways.
TEST_F(VectorOpsTest, MatVecOnBothSidesMatchesPlainProducts) {
  const int n = chip_->lanes();
  const int64_t rows = 700, columns = 500;
  auto weight = [](int64_t r, int64_t c) { return static_cast<int>((r * 31 + c * 17) % 255) - 127; };
  auto input = [](int64_t c) { return static_cast<int>((c * 13) % 255) - 127; };
  TSP_ASSERT_OK_AND_ASSIGN(StreamedMatrix w8, ops_->NewMatrix(Side::kWest, isa::INT8, rows, columns));
  ops_->FillMatrix(w8, [&](int64_t r, int64_t c) { return static_cast<uint16_t>(weight(r, c) & 0xff); });
  TSP_ASSERT_OK_AND_ASSIGN(StreamedMatrix w16, ops_->NewMatrix(Side::kEast, isa::FP16, rows, columns));
  ops_->FillMatrix(w16, [&](int64_t r, int64_t c) {
    return isa::FloatToFp16(static_cast<float>(weight(r, c)) / 64.0f);
  });
  std::vector<Vec> x8, x16;
  for (int k = 0; k < w8.column_tiles; ++k) {
    std::vector<uint32_t> bits8(n, 0), bits16(n, 0);
    for (int j = 0; j < n && k * n + j < columns; ++j) {
      bits8[j] = static_cast<uint32_t>(input(k * n + j) & 0xff);
      bits16[j] = isa::FloatToFp16(static_cast<float>(input(k * n + j)) / 32.0f);
    }
    TSP_ASSERT_OK_AND_ASSIGN(Vec v8, ops_->Constant(isa::INT8, Side::kWest, bits8));
    TSP_ASSERT_OK_AND_ASSIGN(Vec v16, ops_->Constant(isa::FP16, Side::kEast, bits16));
    x8.push_back(v8);
    x16.push_back(v16);
  }
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> y8, ops_->MatVec(w8, x8, w8.row_tiles, w8.column_tiles));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> y16,
                           ops_->MatVec(w16, x16, w16.row_tiles, w16.column_tiles));
  Run();
  for (int m = 0; m < w8.row_tiles; ++m) {
    const std::vector<uint32_t> got8 = Read(y8[m]);
    const std::vector<float> got16 = ReadFloat(y16[m]);
    for (int i = 0; i < n; ++i) {
      const int64_t r = static_cast<int64_t>(m) * n + i;
      int64_t exact = 0;
      double real = 0.0;
      for (int64_t c = 0; r < rows && c < columns; ++c) {
        exact += static_cast<int64_t>(weight(r, c)) * input(c);
        real += (weight(r, c) / 64.0) * (input(c) / 32.0);
      }
      EXPECT_EQ(static_cast<int32_t>(got8[i]), exact) << "row " << r;
      // Both column tiles are summed exactly and rounded once each; small
      // integers over powers of two keep every sum exact here.
      EXPECT_EQ(got16[i], static_cast<float>(real)) << "row " << r;
    }
  }
}

// Y = W X for a batch: each tile installed once per group of members (as
// many as the plane has accumulators), every member's vector multiplied into
// its own accumulator; against plain products, predicted == emulated. With 2
// accumulators a batch of 5 takes groups of 2, 2 and 1.

TEST_F(VectorOpsTest, MatMulOfABatchMatchesPlainProductsWithOneInstallPerGroup) {
  for (const int accumulators : {32, 2}) {
    isa::ChipSpec spec = chip_->spec();
    spec.mutable_mxm()->mutable_accumulator_vectors()->set_value(accumulators);
    TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel model, isa::ChipModel::Create(spec));
    chip_ = std::make_unique<isa::ChipModel>(std::move(model));
    scheduler_ = std::make_unique<ChipScheduler>(*chip_, 0);
    ops_ = std::make_unique<VectorOps>(*scheduler_, /*with_data=*/true);
    const int n = chip_->lanes();
    const int64_t rows = 700, columns = 500;
    const int batch = 5;
    auto weight = [](int64_t r, int64_t c) { return static_cast<int>((r * 31 + c * 17) % 255) - 127; };
    auto input = [](int b, int64_t c) { return static_cast<int>((c * 13 + b * 29) % 255) - 127; };
    TSP_ASSERT_OK_AND_ASSIGN(StreamedMatrix w, ops_->NewMatrix(Side::kWest, isa::INT8, rows, columns));
    ops_->FillMatrix(w, [&](int64_t r, int64_t c) { return static_cast<uint16_t>(weight(r, c) & 0xff); });
    std::vector<std::vector<Vec>> x(batch);
    for (int b = 0; b < batch; ++b) {
      for (int k = 0; k < w.column_tiles; ++k) {
        std::vector<uint32_t> bits(n, 0);
        for (int j = 0; j < n && k * n + j < columns; ++j) bits[j] = static_cast<uint32_t>(input(b, k * n + j) & 0xff);
        TSP_ASSERT_OK_AND_ASSIGN(Vec v, ops_->Constant(isa::INT8, Side::kWest, bits));
        x[b].push_back(v);
      }
    }
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<std::vector<Vec>> y, ops_->MatMul(w, x, w.row_tiles, w.column_tiles));
    const isa::Program program = scheduler_->Build();
    int installs = 0;
    for (const isa::QueueProgram& queue : program.queues()) {
      for (const isa::Instruction& instruction : queue.instructions()) {
        installs += isa::InstructionOpcode(instruction) == Opcode::kInstallWeights;
      }
    }
    const int groups = (batch + accumulators - 1) / accumulators;
    EXPECT_EQ(installs, w.row_tiles * w.column_tiles * groups) << accumulators << " accumulators";
    TSP_EXPECT_OK(emulator::VerifyChipProgram(*chip_, program));
    const int64_t predicted = scheduler_->last_cycle();
    TSP_ASSERT_OK_AND_ASSIGN(emulator_, emulator::ChipEmulator::Create(*chip_, program, {}));
    TSP_ASSERT_OK_AND_ASSIGN(emulator::RunResult result, emulator_->Run());
    EXPECT_EQ(result.last_event_cycle, predicted);
    ASSERT_EQ(y.size(), static_cast<size_t>(batch));
    for (int b = 0; b < batch; ++b) {
      for (int m = 0; m < w.row_tiles; ++m) {
        const std::vector<uint32_t> got = Read(y[b][m]);
        for (int i = 0; i < n; ++i) {
          const int64_t r = static_cast<int64_t>(m) * n + i;
          int64_t exact = 0;
          for (int64_t c = 0; r < rows && c < columns; ++c) exact += static_cast<int64_t>(weight(r, c)) * input(b, c);
          ASSERT_EQ(static_cast<int32_t>(got[i]), exact) << "member " << b << ", row " << r;
        }
      }
    }
  }
}

}  // namespace
}  // namespace tsp::scheduler
