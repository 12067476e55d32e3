#ifndef TSP_SCHEDULER_LOWERING_ALL_REDUCE_H_
#define TSP_SCHEDULER_LOWERING_ALL_REDUCE_H_

// The all-reduce over a stage's chips (tensor parallelism's one collective):
// reduce-scatter then all-gather over the chip-to-chip links.

#include <vector>

#include "absl/status/statusor.h"
#include "isa/element_type.h"
#include "isa/opcode.h"
#include "scheduler/lowering/lowering_context.h"

namespace tsp::scheduler::lowering {

// partials[r]: rank r's vectors (the same count on every rank). Returns
// every rank's totals of `op` over the ranks, bit-identical on all of them
// (vector k is reduced on rank k % n, in rank order). One rank: `partials`.
absl::StatusOr<RankVectors> AllReduceStage(LoweringContext& ctx, StageGroup group, const RankVectors& partials,
                                           isa::Opcode op = isa::Opcode::kAdd, isa::ElementType type = isa::FP32);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_ALL_REDUCE_H_
