#include "scheduler/lowering/mlp.h"

#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<std::vector<Vec>> SwiGlu(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& gate,
                                        const std::vector<Vec>& up) {
  std::vector<Vec> hidden;
  for (size_t k = 0; k < gate.size(); ++k) {
    const Vec& g = gate[k];
    ASSIGN_OR_RETURN(Vec negated, ctx.Op(c, Opcode::kNeg, {g}, Other(g.side)));
    ASSIGN_OR_RETURN(Vec e, ctx.Op(c, Opcode::kExp, {negated}, Other(negated.side)));
    ASSIGN_OR_RETURN(Vec one, ctx.Splat(c, 1.0f, Other(e.side)));
    ASSIGN_OR_RETURN(Vec denominator, ctx.Op(c, Opcode::kAdd, {e, one}, Other(e.side)));
    ASSIGN_OR_RETURN(Vec inverse, ctx.Op(c, Opcode::kRecip, {denominator}, Other(denominator.side)));
    ASSIGN_OR_RETURN(Vec silu, ctx.Op(c, Opcode::kMul, {g, inverse}, Other(up[k].side)));
    ASSIGN_OR_RETURN(Vec product, ctx.Op(c, Opcode::kMul, {silu, up[k]}, Other(up[k].side)));
    hidden.push_back(product);
  }
  return hidden;
}

absl::Status LowerSwiGlu(StageState& state, int index) {
  ASSIGN_OR_RETURN(const RankVectors* gate, state.Input(index, 0));
  ASSIGN_OR_RETURN(const RankVectors* up, state.Input(index, 1));
  RankVectors y(state.group.size());
  for (size_t r = 0; r < state.group.size(); ++r) {
    ASSIGN_OR_RETURN(y[r], SwiGlu(state.ctx, *state.group[r], (*gate)[r], (*up)[r]));
  }
  state.Result(index) = std::move(y);
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
