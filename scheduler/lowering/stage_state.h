#ifndef TSP_SCHEDULER_LOWERING_STAGE_STATE_H_
#define TSP_SCHEDULER_LOWERING_STAGE_STATE_H_

// What the operator lowerings of one stage share while the step's operator
// graph is lowered op by op (step_lowering.h): the stage's chips, the token's
// position, and each lowered operator's result on every rank, which later
// operators read through the graph's edges.

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "models/operator_graph.h"
#include "scheduler/compiled_step.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"

namespace tsp::scheduler::lowering {

// One token a step runs: a user's, at its position in that user's cache.
struct Member {
  int64_t position = 0;
  int user = 0;
};

struct StageState {
  LoweringContext& ctx;
  const models::OperatorGraph& graph;
  // The step's values so far, by batch member and operator index (they
  // outlive the stage: the next stage reads the last residual).
  std::vector<std::map<int, RankVectors>>& values;
  CompiledStep& step;
  // The first stage's chips (whose token slots the argmax writes).
  const std::vector<ChipResidents>& first_stage;
  StageGroup group;
  int stage = 0;
  // The step's tokens; a pass that lowers one member at a time lowers
  // `member`'s (a batched pass lowers them all at once).
  const std::vector<Member>& members;
  int member = 0;
  // The residual add whose result is the stage's output, written where the
  // next stage fetches it; -1 on the last stage.
  int stage_output = -1;

  const models::Operator& op(int index) const { return graph.ops[index]; }
  int64_t position() const { return members[member].position; }
  // Operand `operand` of operator `index` for `member` (-1: the current
  // one): the result of the operator the graph's edge names. An error when
  // that operator has no result (it is fused into a later one, or not
  // lowered on this stage).
  absl::StatusOr<const RankVectors*> Input(int index, int operand, int of_member = -1) const;
  // Where the current member's result of operator `index` goes.
  RankVectors& Result(int index) { return values[member][index]; }
  // The chip's residents of the operator's layer.
  LayerResidents& Layer(ChipResidents& c, const models::Operator& op) const;
  // The current member's KV caches of the operator's layer on the chip.
  std::vector<KvCache>& Caches(ChipResidents& c, const models::Operator& op) const {
    return Layer(c, op).caches[members[member].user];
  }
};

// One lowering pass: lowers graph operators [first, first + the pass's
// operator count) on the stage and leaves the result of the last of them in
// state.values.
using OperatorLowering = absl::Status (*)(StageState& state, int first);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_STAGE_STATE_H_
