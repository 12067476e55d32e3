#include "emulator/kernels/matvec_kernel.h"

#include <cmath>
#include <vector>

#include "emulator/chip_emulator.h"
#include "emulator/kernels/matvec_reference.h"
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

TEST(MatvecKernelTest, Int8MatchesReferenceAndPredictedCycles) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  MatvecShape shape{2, 3, isa::INT8};
  const int64_t rows = 640, columns = 960;
  const std::vector<uint16_t> w = Int8TestValues(rows * columns, 42);
  const std::vector<uint16_t> x = Int8TestValues(columns, 43);
  TSP_ASSERT_OK_AND_ASSIGN(MatvecKernel kernel, BuildMatvecKernel(chip, shape, w, x));

  Emulated functional = RunKernel(chip, kernel, /*functional=*/true);
  EXPECT_EQ(functional.y, ReferenceMatvecInt8(w, x, rows, columns));
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

TEST(MatvecKernelTest, Fp16MatchesReference) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  MatvecShape shape{2, 2, isa::FP16};
  const int64_t rows = 640, columns = 640;
  const std::vector<uint16_t> w = ExactFp16TestValues(rows * columns, 7);
  const std::vector<uint16_t> x = ExactFp16TestValues(columns, 8);
  // The generator is exact: k / 1024 round-trips through fp16.
  for (int k = 0; k < 64; ++k) {
    EXPECT_EQ(std::fmod(isa::Fp16ToFloat(w[k]) * 1024.0, 1.0), 0.0);
    EXPECT_LT(std::fabs(isa::Fp16ToFloat(w[k])), 2.0f);
  }
  TSP_ASSERT_OK_AND_ASSIGN(MatvecKernel kernel, BuildMatvecKernel(chip, shape, w, x));
  Emulated functional = RunKernel(chip, kernel, /*functional=*/true);
  EXPECT_EQ(functional.y, ReferenceMatvecFp16(w, x, rows, columns, chip.lanes()));
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
