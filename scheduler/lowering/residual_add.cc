#include "scheduler/lowering/residual_add.h"

#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::Status LowerResidualAdd(StageState& state, int index) {
  ASSIGN_OR_RETURN(const RankVectors* x, state.Input(index, 0));
  ASSIGN_OR_RETURN(const RankVectors* sums, state.Input(index, 1));
  const bool stage_output = index == state.stage_output;
  RankVectors y = *x;
  for (size_t r = 0; r < state.group.size(); ++r) {
    ChipResidents& c = *state.group[r];
    for (size_t k = 0; k < y[r].size(); ++k) {
      if (stage_output) {
        const Vec& out = c.residual_outs[state.member][k];
        RETURN_IF_ERROR(state.ctx.Ops(c).VxmInto(Opcode::kAdd, isa::FP32, {y[r][k], (*sums)[r][k]}, out));
        y[r][k] = out;
      } else {
        ASSIGN_OR_RETURN(y[r][k], state.ctx.Op(c, Opcode::kAdd, {y[r][k], (*sums)[r][k]}, Other(y[r][k].side)));
      }
    }
  }
  state.Result(index) = std::move(y);
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
