#include "emulator/kernels/lane_sum_kernel.h"

#include <cmath>
#include <cstring>

#include "emulator/chip_emulator.h"
#include "emulator/kernels/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::kernels {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

float AsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

TEST(LaneSumKernelTest, StepsFor320And256Lanes) {
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<LaneSumStep> steps, LaneSumSteps(320));
  std::vector<int64_t> rotations;
  for (const LaneSumStep& step : steps) rotations.push_back(step.rotation);
  EXPECT_THAT(rotations, ElementsAre(160, 80, 40, 20, 10, 5, 1, 2, 4));
  EXPECT_EQ(steps.back().source_step, 6);  // The value summing each class mod 5.
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<LaneSumStep> power_of_two, LaneSumSteps(256));
  EXPECT_EQ(power_of_two.size(), 8u);
  EXPECT_THAT(LaneSumSteps(96), testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                  ::testing::HasSubstr("not 96")));
}

TEST(LaneSumKernelTest, EveryLaneGetsTheSumAtThePredictedCycle) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  SplitMix64 random(11);
  std::vector<uint32_t> x(320);
  std::vector<float> values(320);
  double exact = 0.0;
  for (int i = 0; i < 320; ++i) {
    values[i] = static_cast<float>((static_cast<double>(random.Below(2001)) - 1000.0) / 64.0);
    std::memcpy(&x[i], &values[i], sizeof(float));
    exact += values[i];
  }
  TSP_ASSERT_OK_AND_ASSIGN(LaneSumKernel kernel, BuildLaneSumKernel(chip, x));
  TSP_ASSERT_OK_AND_ASSIGN(auto emulator, emulator::ChipEmulator::Create(chip, kernel.program, {}));
  TSP_ASSERT_OK_AND_ASSIGN(emulator::RunResult result, emulator->Run());
  EXPECT_EQ(result.last_event_cycle, kernel.predicted_last_event_cycle);
  // By hand: planes in MEM_W0..3 (47..44), SXM_W at 3, VXM at 48. Step 0
  // rotates at 49 (Read 5 + 44 hops from MEM_W0 to the SXM), adds at
  // 49 + 4 + 45 = 98, stores plane p at 102 + p, readable from 111; each step
  // takes 111 cycles, so step 8 rotates at 937, adds at 986, and the last
  // Write (plane 3 at 993) lands at 998.
  EXPECT_EQ(kernel.predicted_last_event_cycle, 998);
  // The same steps in plain C++: y <- y + y_source rotated, in fp32.
  std::vector<std::vector<float>> y = {values};
  TSP_ASSERT_OK_AND_ASSIGN(const std::vector<LaneSumStep> steps, LaneSumSteps(320));
  for (const LaneSumStep& step : steps) {
    const std::vector<float>& source = y[step.source_step < 0 ? y.size() - 1 : step.source_step];
    std::vector<float> next(320);
    for (int i = 0; i < 320; ++i) next[i] = y.back()[i] + source[((i - step.rotation) % 320 + 320) % 320];
    y.push_back(next);
  }
  std::vector<std::string> planes;
  for (const std::string& slice : kernel.output_slices) {
    planes.push_back(*emulator->ReadMemory(slice, kernel.output_address, 1));
  }
  for (int lane = 0; lane < 320; ++lane) {
    uint32_t bits = 0;
    for (int p = 0; p < 4; ++p) bits |= static_cast<uint32_t>(static_cast<uint8_t>(planes[p][lane])) << (8 * p);
    EXPECT_EQ(AsFloat(bits), y.back()[lane]) << lane;
    // Values are multiples of 1/64 below 16: every partial sum is exact in fp32.
    EXPECT_EQ(static_cast<double>(AsFloat(bits)), exact) << lane;
  }
  // Timing-only gives the same cycles.
  emulator::RunOptions timing;
  timing.functional = false;
  TSP_ASSERT_OK_AND_ASSIGN(auto timing_emulator, emulator::ChipEmulator::Create(chip, kernel.program, timing));
  TSP_ASSERT_OK_AND_ASSIGN(emulator::RunResult timing_result, timing_emulator->Run());
  EXPECT_EQ(timing_result.last_event_cycle, result.last_event_cycle);
}

}  // namespace
}  // namespace tsp::kernels
