#ifndef TSP_EMULATOR_KERNELS_MATVEC_KERNEL_H_
#define TSP_EMULATOR_KERNELS_MATVEC_KERNEL_H_

// A hand-scheduled weight-streaming matrix-vector product y = W x on one MXM
// plane: for each 320x320 tile of W, 32 MEM slices stream its rows into the
// plane's weight buffer (32 streams, one row each per cycle for int8, half as
// many fp16 rows on byte-plane pairs) while the previous tile computes; x is
// read per tile, products accumulate over the K tiles of a row block, and the
// accumulator is written back to SRAM. Every cycle is derived from the
// ChipModel's latencies and positions, so the kernel stays valid when the
// chip spec changes. It is the workload of the emulator's benchmark and demo.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::kernels {

struct MatvecShape {
  int row_tiles = 1;    // M / 320.
  int column_tiles = 1; // K / 320.
  isa::ElementType type = isa::INT8;  // INT8 (int32 out) or FP16 (fp32 out).
};

// Where the result lands: row block m's 4 byte planes are at `address_base + m`
// of the four slices in `output_slices` (plane 0 first).
struct MatvecKernel {
  isa::Program program;
  MatvecShape shape;
  std::vector<std::string> output_slices;
  int64_t output_address_base = 0;
  int64_t predicted_last_event_cycle = 0;  // From the schedule, before running.
};

// Weights row-major (M x K raw elements: int8 bytes or fp16 bits), x of K raw
// elements. Values are any bit patterns of the type. With both empty, the
// program carries no data (for timing-only runs).
absl::StatusOr<MatvecKernel> BuildMatvecKernel(const isa::ChipModel& chip, const MatvecShape& shape,
                                               const std::vector<uint16_t>& weights,
                                               const std::vector<uint16_t>& x);

// Reassembles y (M raw 32-bit results) from the kernel's output planes as read
// from SRAM: planes[q] holds the row_tiles vectors of output slice q.
std::vector<uint32_t> AssembleMatvecOutput(const MatvecKernel& kernel, int lanes,
                                           const std::vector<std::string>& planes);

}  // namespace tsp::kernels

#endif  // TSP_EMULATOR_KERNELS_MATVEC_KERNEL_H_
