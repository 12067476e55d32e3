#ifndef TSP_EMULATOR_KERNELS_LANE_SUM_KERNEL_H_
#define TSP_EMULATOR_KERNELS_LANE_SUM_KERNEL_H_

// The sum of a vector's lanes, in every lane: the cross-lane reduction that
// RMSNorm (sum of squares) and softmax (sum of exponentials) need. fp32,
// computed as y <- y + Rotate(y, r) on the VXM and the SXM, for the rotations
// of LaneSumRotations(lanes): for 320 lanes 160, 80, 40, 20, 10, 5 (each lane
// then holds the sum of its residue class mod 5), then 1 and 2 (four
// consecutive classes) and a last add of the step-6 value rotated by 4.
// Between steps the vector is kept in SRAM (one byte plane per MEM slice) and
// also travels to the SXM on the streams; every cycle follows from the
// ChipModel's latencies and positions.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::kernels {

struct LaneSumStep {
  int64_t rotation;  // Lanes toward higher numbers.
  int source_step;   // The earlier value rotated: -1 for the one before.
};

// The steps for `lanes`, or an error when `lanes` is not 2^a x 5^b with b <= 1.
absl::StatusOr<std::vector<LaneSumStep>> LaneSumSteps(int lanes);

struct LaneSumKernel {
  isa::Program program;
  std::vector<std::string> output_slices;  // Byte planes 0..3 of the result.
  int64_t output_address = 0;
  int64_t predicted_last_event_cycle = 0;
};

// x: `lanes` fp32 values (raw bits). Empty: a program without data.
absl::StatusOr<LaneSumKernel> BuildLaneSumKernel(const isa::ChipModel& chip,
                                                 const std::vector<uint32_t>& x);

}  // namespace tsp::kernels

#endif  // TSP_EMULATOR_KERNELS_LANE_SUM_KERNEL_H_
