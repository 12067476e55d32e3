#include "scheduler/lowering/lm_head.h"

#include <limits>

#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

}  // namespace

absl::Status ArgmaxToFirstStage(LoweringContext& ctx, StageGroup group, const RankVectors& logits,
                                const std::vector<ChipResidents>& first_stage, int member) {
  // Each chip: its best logit and the lowest vocabulary index holding it.
  std::vector<Vec> best(group.size()), index(group.size());
  for (size_t r = 0; r < group.size(); ++r) {
    ChipResidents& c = *group[r];
    std::vector<Vec> masked, candidates;
    for (size_t k = 0; k < logits[r].size(); ++k) {
      ASSIGN_OR_RETURN(Vec m,
                       ctx.Masked(c, logits[r][k], c.vocab_local - static_cast<int64_t>(k) * ctx.lanes(), -kInfinity));
      masked.push_back(m);
    }
    ASSIGN_OR_RETURN(best[r], ctx.Reduce(c, Opcode::kMax, masked));
    ASSIGN_OR_RETURN(Vec big, ctx.Splat(c, static_cast<float>(ctx.config().vocab_size()), Side::kWest));
    for (size_t k = 0; k < masked.size(); ++k) {
      std::vector<float> ids(ctx.lanes());
      for (int i = 0; i < ctx.lanes(); ++i) ids[i] = static_cast<float>(c.vocab_first + k * ctx.lanes() + i);
      ASSIGN_OR_RETURN(Vec id_vector, ctx.Ops(c).ConstantFloat(Side::kEast, ids));
      ASSIGN_OR_RETURN(Vec at_best, ctx.Op(c, Opcode::kCmpEq, {masked[k], best[r]}, Side::kWest));
      ASSIGN_OR_RETURN(Vec candidate, ctx.Op(c, Opcode::kSelect, {id_vector, big, at_best}, Side::kEast));
      candidates.push_back(candidate);
    }
    ASSIGN_OR_RETURN(index[r], ctx.Reduce(c, Opcode::kMin, candidates));
  }
  // Every chip of the group combines all chips' pairs in chip order (a later
  // chip wins only with a strictly larger logit: lowest index on ties), and
  // each stage-0 chip of the same rank gets the token.
  for (size_t d = 0; d < group.size(); ++d) {
    ChipResidents& c = *group[d];
    Vec best_value = best[d], best_index = index[d];
    auto fetch = [&](size_t s, const Vec& v) -> absl::StatusOr<Vec> {
      if (s == d) return v;
      return ctx.system().Transfer(group[s]->chip, v, c.chip, Other(v.side));
    };
    ASSIGN_OR_RETURN(Vec value, fetch(0, best[0]));
    ASSIGN_OR_RETURN(Vec idx, fetch(0, index[0]));
    best_value = value;
    best_index = idx;
    for (size_t s = 1; s < group.size(); ++s) {
      ASSIGN_OR_RETURN(Vec other_value, fetch(s, best[s]));
      ASSIGN_OR_RETURN(Vec other_index, fetch(s, index[s]));
      ASSIGN_OR_RETURN(Vec larger, ctx.Op(c, Opcode::kCmpLt, {best_value, other_value}, Side::kWest));
      ASSIGN_OR_RETURN(best_value, ctx.Op(c, Opcode::kSelect, {other_value, best_value, larger}, Side::kEast));
      ASSIGN_OR_RETURN(best_index, ctx.Op(c, Opcode::kSelect, {other_index, best_index, larger}, Side::kEast));
    }
    const ChipResidents& target = first_stage[d];
    if (target.chip == c.chip) {
      RETURN_IF_ERROR(ctx.Ops(c).CopyInto(best_index, c.tokens[member]));
    } else {
      RETURN_IF_ERROR(ctx.system().Transfer(c.chip, best_index, target.chip, target.tokens[member]));
    }
  }
  return absl::OkStatus();
}

absl::Status LowerArgmax(StageState& state, int index) {
  ASSIGN_OR_RETURN(const RankVectors* logits, state.Input(index, 0));
  RETURN_IF_ERROR(ArgmaxToFirstStage(state.ctx, state.group, *logits, state.first_stage, state.member));
  state.Result(index) = RankVectors(state.group.size());
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
