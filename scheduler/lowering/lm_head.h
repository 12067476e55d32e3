#ifndef TSP_SCHEDULER_LOWERING_LM_HEAD_H_
#define TSP_SCHEDULER_LOWERING_LM_HEAD_H_

// The end of the step on the last stage: the LM head (a column-parallel
// projection, each chip its rows of the vocabulary: projection.h) and the
// greedy argmax over the whole vocabulary, whose token goes back to the first
// stage's token slots for the next step.

#include <vector>

#include "absl/status/status.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// logits[r]: rank r's logits over its vocabulary rows. Every chip of the
// group finds the largest logit's index (lowest on ties) and writes it, as an
// fp32 token id, into the token slot of the first stage's chip of its rank.
// `member`: the batch member whose token it is.
absl::Status ArgmaxToFirstStage(LoweringContext& ctx, StageGroup group, const RankVectors& logits,
                                const std::vector<ChipResidents>& first_stage, int member = 0);

// The graph's argmax operator on the last stage (its result: no vectors).
absl::Status LowerArgmax(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_LM_HEAD_H_
