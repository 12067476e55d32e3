#ifndef TSP_SCHEDULER_LOWERING_RESIDUAL_ADD_H_
#define TSP_SCHEDULER_LOWERING_RESIDUAL_ADD_H_

// The residual stream's add after attention and after the MLP: x + the
// sub-block's all-reduced output, on every rank (each holds the whole x).

#include "absl/status/status.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// The stage's output add (state.stage_output) writes into each chip's
// residual_out, where the next stage fetches it.
absl::Status LowerResidualAdd(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_RESIDUAL_ADD_H_
