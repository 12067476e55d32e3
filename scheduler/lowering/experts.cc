#include "scheduler/lowering/experts.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "scheduler/lowering/mlp.h"
#include "scheduler/lowering/projection.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// SwiGLU's hidden vector of one expert (its down projection's input).
absl::StatusOr<std::vector<Vec>> ExpertHidden(LoweringContext& ctx, ChipResidents& c, LayerResidents& layer, int expert,
                                              const std::vector<Vec>& h) {
  ASSIGN_OR_RETURN(std::vector<Vec> gate, Apply(ctx, c, layer.gate[expert], h));
  ASSIGN_OR_RETURN(std::vector<Vec> up, Apply(ctx, c, layer.up[expert], h));
  return SwiGlu(ctx, c, gate, up);
}

}  // namespace

absl::StatusOr<std::vector<Vec>> RouteWeights(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& logits) {
  // The top k by repeated argmax, lowest index on ties.
  const int experts = static_cast<int>(ctx.config().experts());
  std::vector<float> ids(ctx.lanes(), 0.0f);
  for (int i = 0; i < ctx.lanes(); ++i) ids[i] = static_cast<float>(i);
  ASSIGN_OR_RETURN(Vec lane_ids, ctx.Ops(c).ConstantFloat(Side::kEast, ids));
  ASSIGN_OR_RETURN(Vec big, ctx.Splat(c, static_cast<float>(ctx.lanes()), Side::kWest));
  ASSIGN_OR_RETURN(Vec zero, ctx.Splat(c, 0.0f, Side::kEast));
  ASSIGN_OR_RETURN(Vec minus_infinity, ctx.Splat(c, -kInfinity, Side::kEast));
  ASSIGN_OR_RETURN(Vec remaining, ctx.Masked(c, logits[0], experts, -kInfinity));
  std::vector<Vec> picked_values, picked_masks;
  for (int64_t pick = 0; pick < ctx.config().experts_per_token(); ++pick) {
    ASSIGN_OR_RETURN(Vec best, ctx.AllLanes(c, Opcode::kMax, remaining));
    ASSIGN_OR_RETURN(Vec at_best, ctx.Op(c, Opcode::kCmpEq, {remaining, best}, Side::kWest));
    ASSIGN_OR_RETURN(Vec candidates, ctx.Op(c, Opcode::kSelect, {lane_ids, big, at_best}, Side::kEast));
    ASSIGN_OR_RETURN(Vec index, ctx.AllLanes(c, Opcode::kMin, candidates));
    ASSIGN_OR_RETURN(Vec mask, ctx.Op(c, Opcode::kCmpEq, {lane_ids, index}, Side::kWest));
    ASSIGN_OR_RETURN(remaining, ctx.Op(c, Opcode::kSelect, {minus_infinity, remaining, mask}, Side::kWest));
    picked_values.push_back(best);
    picked_masks.push_back(mask);
  }
  // Softmax among the picks, summed in expert order: the picks' weights in
  // their lanes, each weight then spread to every lane.
  Vec gates = zero;
  std::vector<Vec> exps;
  for (size_t k = 0; k < picked_values.size(); ++k) {
    ASSIGN_OR_RETURN(Vec shifted, ctx.Op(c, Opcode::kSub, {picked_values[k], picked_values[0]}, Side::kEast));
    ASSIGN_OR_RETURN(Vec e, ctx.Op(c, Opcode::kExp, {shifted}, Side::kWest));
    exps.push_back(e);
  }
  // Each pick's exponential at its expert's lane; the sum over experts in
  // expert order, as the reference adds them (zeros for the others are exact).
  for (size_t k = 0; k < exps.size(); ++k) {
    ASSIGN_OR_RETURN(Vec placed, ctx.Op(c, Opcode::kSelect, {exps[k], zero, picked_masks[k]}, Side::kWest));
    ASSIGN_OR_RETURN(gates, ctx.Op(c, Opcode::kAdd, {gates, placed}, Side::kEast));
  }
  std::vector<Vec> spread;
  for (int e = 0; e < experts; ++e) {
    ASSIGN_OR_RETURN(Vec b, ctx.Broadcast(c, gates, e, e % 2 == 0 ? Side::kWest : Side::kEast));
    spread.push_back(b);
  }
  Vec total = spread[0];
  for (int e = 1; e < experts; ++e) {
    ASSIGN_OR_RETURN(total, ctx.Op(c, Opcode::kAdd, {total, spread[e]}, Other(total.side)));
  }
  ASSIGN_OR_RETURN(Vec inverse, ctx.Op(c, Opcode::kRecip, {total}, Other(total.side)));
  std::vector<Vec> weights;
  for (int e = 0; e < experts; ++e) {
    ASSIGN_OR_RETURN(Vec weight, ctx.Op(c, Opcode::kMul, {spread[e], inverse}, Other(spread[e].side)));
    weights.push_back(weight);
  }
  return weights;
}

absl::StatusOr<RankVectors> Experts(LoweringContext& ctx, StageGroup group, int l, const RankVectors& h,
                                    const RankVectors& weights) {
  const size_t n = group.size();
  RankVectors out(n);
  // Each expert's output is row-parallel like a dense MLP's (so exact in
  // int8 at any width); every chip then weighs and sums them in expert order.
  for (int e = 0; e < static_cast<int>(ctx.config().experts()); ++e) {
    std::vector<std::vector<Vec>> hidden(n);
    std::vector<const Linear*> downs;
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(hidden[r], ExpertHidden(ctx, *group[r], group[r]->layers[l], e, h[r]));
      downs.push_back(&group[r]->layers[l].down[e]);
    }
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> y, RowParallel(ctx, group, downs, hidden));
    for (size_t r = 0; r < n; ++r) {
      for (size_t k = 0; k < y[r].size(); ++k) {
        ASSIGN_OR_RETURN(Vec weighted, ctx.Op(*group[r], Opcode::kMul, {weights[r][e], y[r][k]}, Other(y[r][k].side)));
        if (e == 0) {
          out[r].push_back(weighted);
        } else {
          ASSIGN_OR_RETURN(out[r][k], ctx.Op(*group[r], Opcode::kAdd, {out[r][k], weighted}, Other(out[r][k].side)));
        }
      }
    }
  }
  return out;
}

absl::Status LowerRoute(StageState& state, int index) {
  ASSIGN_OR_RETURN(const RankVectors* logits, state.Input(index, 0));
  RankVectors weights(state.group.size());
  for (size_t r = 0; r < state.group.size(); ++r) {
    ASSIGN_OR_RETURN(weights[r], RouteWeights(state.ctx, *state.group[r], (*logits)[r]));
  }
  state.Result(index) = std::move(weights);
  return absl::OkStatus();
}

absl::Status LowerExperts(StageState& state, int gate) {
  const int down = gate + 3;
  if (down >= static_cast<int>(state.graph.ops.size()) || state.op(down).weight != models::WeightKind::kDown ||
      state.op(down).inputs[0] != gate + 2) {
    return absl::InternalError(
        absl::StrCat("'", state.op(gate).name, "' does not start an experts' gate, up, SwiGLU and down"));
  }
  ASSIGN_OR_RETURN(const RankVectors* h, state.Input(gate, 0));
  ASSIGN_OR_RETURN(const RankVectors* weights, state.Input(gate, 1));
  const int layer = state.op(gate).layer - state.ctx.FirstLayer(state.stage);
  ASSIGN_OR_RETURN(state.Result(down), Experts(state.ctx, state.group, layer, *h, *weights));
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
