#ifndef TSP_SCHEDULER_LOWERING_EXPERTS_H_
#define TSP_SCHEDULER_LOWERING_EXPERTS_H_

// A mixture of experts on a stage (Mixtral's sparse MLP): the router's
// logits (the router is whole on every chip, so every chip picks the same
// experts), the top k of them and their softmax; then every expert's SwiGLU
// MLP, row-parallel over the stage like a dense one, weighed by its route
// weight (zero for experts not picked) and summed in expert order.

#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// Per expert, its weight in every lane: softmax over the top
// experts_per_token router logits, zero for the others. `logits`: the
// router's output (one vector, an expert per lane).
absl::StatusOr<std::vector<Vec>> RouteWeights(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& logits);
// The stage's layer `l` experts over the normed input h (per rank), weighed
// by `weights` (RouteWeights per rank): every rank's whole output.
absl::StatusOr<RankVectors> Experts(LoweringContext& ctx, StageGroup group, int l, const RankVectors& h,
                                    const RankVectors& weights);

// The graph's route operator (after the router's projection) on every rank.
absl::Status LowerRoute(StageState& state, int index);
// The graph's four expert operators (gate, up, SwiGLU, down), lowered
// together expert by expert; the result is the down operator's.
absl::Status LowerExperts(StageState& state, int gate);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_EXPERTS_H_
