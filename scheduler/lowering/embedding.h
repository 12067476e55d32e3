#ifndef TSP_SCHEDULER_LOWERING_EMBEDDING_H_
#define TSP_SCHEDULER_LOWERING_EMBEDDING_H_

// The token's embedding on one chip of the first stage: a one-hot vector of
// the token over the chip's share of the vocabulary times the transposed
// embedding shard (hidden x local vocabulary) on the MXM. Only the chip
// holding the token's row gives a non-zero partial; the stage's all-reduce
// of the partials is the row (in int8 times the row's scale).

#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// This chip's partial of the embedding row of batch member `member`'s token
// (in its token slot).
absl::StatusOr<std::vector<Vec>> Embed(LoweringContext& ctx, ChipResidents& c, int member = 0);
// The same for several members, each table tile installed once for all.
absl::StatusOr<std::vector<std::vector<Vec>>> BatchEmbed(LoweringContext& ctx, ChipResidents& c,
                                                         const std::vector<int>& members);

// The graph's embedding operator on the first stage: every rank's partial,
// all-reduced, so every rank holds the token's row.
absl::Status LowerEmbedding(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_EMBEDDING_H_
