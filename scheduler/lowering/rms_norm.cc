#include "scheduler/lowering/rms_norm.h"

#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<std::vector<Vec>> RmsNorm(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x,
                                         const std::vector<Vec>& weight) {
  std::vector<Vec> squares;
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec square, ctx.Op(c, Opcode::kMul, {v, v}, Other(v.side)));
    squares.push_back(square);
  }
  ASSIGN_OR_RETURN(Vec total, ctx.Reduce(c, Opcode::kAdd, squares));
  ASSIGN_OR_RETURN(Vec inverse_n,
                   ctx.Splat(c, 1.0f / static_cast<float>(ctx.config().hidden_size()), Other(total.side)));
  ASSIGN_OR_RETURN(Vec mean, ctx.Op(c, Opcode::kMul, {total, inverse_n}, Other(total.side)));
  ASSIGN_OR_RETURN(Vec epsilon, ctx.Splat(c, static_cast<float>(ctx.config().norm_epsilon()), Other(mean.side)));
  ASSIGN_OR_RETURN(Vec shifted, ctx.Op(c, Opcode::kAdd, {mean, epsilon}, Other(mean.side)));
  ASSIGN_OR_RETURN(Vec inverse, ctx.Op(c, Opcode::kRsqrt, {shifted}, Other(shifted.side)));
  std::vector<Vec> y;
  for (size_t k = 0; k < x.size(); ++k) {
    ASSIGN_OR_RETURN(Vec scaled, ctx.Op(c, Opcode::kMul, {x[k], inverse}, Other(weight[k].side)));
    ASSIGN_OR_RETURN(Vec out, ctx.Op(c, Opcode::kMul, {scaled, weight[k]}, Other(weight[k].side)));
    y.push_back(out);
  }
  return y;
}

absl::Status LowerRmsNorm(StageState& state, int index) {
  const models::Operator& op = state.op(index);
  ASSIGN_OR_RETURN(const RankVectors* x, state.Input(index, 0));
  RankVectors y(state.group.size());
  for (size_t r = 0; r < state.group.size(); ++r) {
    ChipResidents& c = *state.group[r];
    const std::vector<Vec>* weight = nullptr;
    switch (op.weight) {
      case models::WeightKind::kAttentionNorm:
        weight = &state.Layer(c, op).attention_norm;
        break;
      case models::WeightKind::kMlpNorm:
        weight = &state.Layer(c, op).mlp_norm;
        break;
      case models::WeightKind::kFinalNorm:
        weight = &c.final_norm;
        break;
      default:
        return absl::InternalError(absl::StrCat("RMSNorm '", op.name, "' names no norm weight"));
    }
    ASSIGN_OR_RETURN(y[r], RmsNorm(state.ctx, c, (*x)[r], *weight));
  }
  state.Result(index) = std::move(y);
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
