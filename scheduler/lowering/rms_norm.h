#ifndef TSP_SCHEDULER_LOWERING_RMS_NORM_H_
#define TSP_SCHEDULER_LOWERING_RMS_NORM_H_

// RMSNorm of the residual on one chip: x / sqrt(mean(x^2) + epsilon) * weight,
// the mean over the model's hidden size (every chip holds the whole vector).

#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// Requires x and weight of HiddenVectors() fp32 vectors each.
absl::StatusOr<std::vector<Vec>> RmsNorm(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x,
                                         const std::vector<Vec>& weight);

// A graph RMSNorm (attention, MLP or final norm) on every rank.
absl::Status LowerRmsNorm(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_RMS_NORM_H_
