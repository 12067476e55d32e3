#include "emulator/kernels/matvec_kernel.h"

#include <cmath>
#include <vector>

#include "emulator/chip_emulator.h"
#include "emulator/kernels/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/numeric.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::kernels {
namespace {

using emulator::ChipEmulator;
using emulator::RunOptions;
using emulator::RunResult;

struct Emulated {
  RunResult result;
  std::vector<uint32_t> y;
};

Emulated RunKernel(const isa::ChipModel& chip, const MatvecKernel& kernel, bool functional) {
  RunOptions options;
  options.functional = functional;
  auto emulator = ChipEmulator::Create(chip, kernel.program, options);
  EXPECT_THAT(emulator, testing::IsOk());
  auto result = (*emulator)->Run();
  EXPECT_THAT(result, testing::IsOk());
  Emulated emulated{*result, {}};
  if (functional) {
    std::vector<std::string> planes;
    for (const std::string& slice : kernel.output_slices) {
      planes.push_back(*(*emulator)->ReadMemory(slice, kernel.output_address_base,
                                                kernel.shape.row_tiles));
    }
    emulated.y = AssembleMatvecOutput(kernel, chip.lanes(), planes);
  }
  return emulated;
}

// Plain reference: int8 x int8 products summed in int64, wrapped to int32.
std::vector<uint32_t> ReferenceInt8(const std::vector<uint16_t>& w, const std::vector<uint16_t>& x,
                                    int64_t rows, int64_t columns) {
  std::vector<uint32_t> y(rows);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t sum = 0;
    for (int64_t j = 0; j < columns; ++j) {
      sum += static_cast<int64_t>(static_cast<int8_t>(w[i * columns + j])) *
             static_cast<int8_t>(x[j]);
    }
    y[i] = static_cast<uint32_t>(sum);
  }
  return y;
}

TEST(MatvecKernelTest, Int8MatchesReferenceAndPredictedCycles) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  MatvecShape shape{2, 3, isa::INT8};
  const int64_t rows = 640, columns = 960;
  SplitMix64 random(42);
  std::vector<uint16_t> w(rows * columns), x(columns);
  for (auto& v : w) v = static_cast<uint16_t>(random.Below(256));
  for (auto& v : x) v = static_cast<uint16_t>(random.Below(256));
  TSP_ASSERT_OK_AND_ASSIGN(MatvecKernel kernel, BuildMatvecKernel(chip, shape, w, x));

  Emulated functional = RunKernel(chip, kernel, /*functional=*/true);
  EXPECT_EQ(functional.y, ReferenceInt8(w, x, rows, columns));
  EXPECT_EQ(functional.result.last_event_cycle, kernel.predicted_last_event_cycle);
  // Hand calculation for the default chip: 6 tiles of 10 row loads + 1 x slot
  // = 11 cycles each; the first load waits for the farthest weight slice
  // (Read 5 + 34 hops = 39) ... the last tile's load at 39 + 5 * 11 = 94,
  // multiply at 94 + 21 = 115, accumulate at 115 + 24 = 139, result on the
  // streams at 143, at the farthest output slice (position 39) 38 hops later
  // = 181, written 5 cycles after: 186.
  EXPECT_EQ(functional.result.last_event_cycle, 186);
  EXPECT_EQ(functional.result.completion_cycle, 186 + 19 + 1);

  Emulated timing = RunKernel(chip, kernel, /*functional=*/false);
  EXPECT_EQ(timing.result.last_event_cycle, functional.result.last_event_cycle);
  EXPECT_EQ(timing.result.instructions_issued, functional.result.instructions_issued);
  EXPECT_EQ(timing.result.busy_cycles, functional.result.busy_cycles);
}

// Reference for fp16 with the chip's documented rounding: each tile's
// 320-element dot product exact, rounded once to fp32, tiles added in fp32.
// Test values are multiples of 2^-10 below 2 in magnitude, so products are
// multiples of 2^-20 below 4 and a tile's sum is exact in double.
std::vector<uint32_t> ReferenceFp16(const std::vector<uint16_t>& w, const std::vector<uint16_t>& x,
                                    int64_t rows, int64_t columns, int tile) {
  std::vector<uint32_t> y(rows);
  for (int64_t i = 0; i < rows; ++i) {
    float sum = 0.0f;
    for (int64_t k = 0; k < columns; k += tile) {
      double dot = 0.0;
      for (int64_t j = k; j < k + tile; ++j) {
        dot += static_cast<double>(isa::Fp16ToFloat(w[i * columns + j])) *
               static_cast<double>(isa::Fp16ToFloat(x[j]));
      }
      sum += static_cast<float>(dot);
    }
    y[i] = isa::FloatToBits(sum);
  }
  return y;
}

TEST(MatvecKernelTest, Fp16MatchesReference) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  MatvecShape shape{2, 2, isa::FP16};
  const int64_t rows = 640, columns = 640;
  SplitMix64 random(7);
  auto value = [&random]() {
    const int64_t steps = static_cast<int64_t>(random.Below(4096)) - 2048;  // [-2, 2) in 2^-10.
    return isa::FloatToFp16(static_cast<float>(std::ldexp(static_cast<double>(steps), -10)));
  };
  std::vector<uint16_t> w(rows * columns), x(columns);
  for (auto& v : w) v = value();
  for (auto& v : x) v = value();
  TSP_ASSERT_OK_AND_ASSIGN(MatvecKernel kernel, BuildMatvecKernel(chip, shape, w, x));
  Emulated functional = RunKernel(chip, kernel, /*functional=*/true);
  EXPECT_EQ(functional.y, ReferenceFp16(w, x, rows, columns, chip.lanes()));
  EXPECT_EQ(functional.result.last_event_cycle, kernel.predicted_last_event_cycle);
}

TEST(MatvecKernelTest, RejectsShapesThatDoNotFit) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  std::vector<uint16_t> w(320 * 320), x(320);
  EXPECT_THAT(BuildMatvecKernel(chip, {1, 1, isa::FP32}, w, x),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("int8 or fp16")));
  EXPECT_THAT(BuildMatvecKernel(chip, {2, 1, isa::INT8}, w, x),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("must have 204800")));
}

}  // namespace
}  // namespace tsp::kernels
