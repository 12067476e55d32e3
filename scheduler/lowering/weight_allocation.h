#ifndef TSP_SCHEDULER_LOWERING_WEIGHT_ALLOCATION_H_
#define TSP_SCHEDULER_LOWERING_WEIGHT_ALLOCATION_H_

// Where a chip's residents go in SRAM: its token slot and the stage's output
// residual, the KV caches of every user (first, so their addresses depend on
// nothing else), then its shard of every weight matrix of the stage's layers
// (and the embedding on the first stage, the final norm and LM head on the
// last), each matrix's row tiles split between the MXM sides so they fill
// evenly. Matrices take the weight slices alone when they fit there;
// otherwise the chip is laid out again with them spread over the activation
// slices too.

#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "isa/program.pb.h"
#include "scheduler/compiled_step.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"

namespace tsp::scheduler::lowering {

// Weight images per chip, laid out once and reused by every step of a
// compiler (their addresses do not depend on the position).
using WeightImages = std::map<int, std::vector<isa::MemoryImage>>;

// Requires c.chip, c.rank and c.stage set and the chip untouched in the
// context's scheduler; fills in the rest of `c`. Errors when the residents do
// not fit, unless the chip's VectorOps allow overflow (measuring a footprint).
absl::Status AllocateResidents(LoweringContext& ctx, ChipResidents& c, WeightImages& images);

// The SRAM one chip of the stage needs for its residents (the largest of its
// ranks), measured by allocating them with overflow allowed on chips
// untouched in the context's scheduler.
absl::StatusOr<StageFootprint> MeasureStageFootprint(LoweringContext& ctx, int stage, WeightImages& images);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_WEIGHT_ALLOCATION_H_
