#ifndef TSP_SCHEDULER_LOWERING_ROTARY_H_
#define TSP_SCHEDULER_LOWERING_ROTARY_H_

// The rotary position embedding of one head vector (RoPE, rotate-half form):
// lanes j and j + d/2 rotated by position * theta^(-2j/d).

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/lowering_context.h"

namespace tsp::scheduler::lowering {

// `head`: one head in lanes [0, head_dim), zeros beyond.
absl::StatusOr<Vec> Rotary(LoweringContext& ctx, ChipResidents& c, const Vec& head, int64_t position);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_ROTARY_H_
