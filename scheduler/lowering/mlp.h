#ifndef TSP_SCHEDULER_LOWERING_MLP_H_
#define TSP_SCHEDULER_LOWERING_MLP_H_

// The gated MLP's elementwise part on one chip, SwiGLU:
// silu(gate) * up with silu(g) = g * (1 / (1 + exp(-g))), as the reference.
// The gate, up and down projections are projections (projection.h).

#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// Requires gate and up of the same vector count; the down projection's input.
absl::StatusOr<std::vector<Vec>> SwiGlu(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& gate,
                                        const std::vector<Vec>& up);

// The graph's SwiGLU operator of a dense MLP on every rank.
absl::Status LowerSwiGlu(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_MLP_H_
