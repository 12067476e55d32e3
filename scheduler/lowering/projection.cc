#include "scheduler/lowering/projection.h"

#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "scheduler/lowering/all_reduce.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<Vec> LargestMagnitude(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x) {
  std::vector<Vec> magnitudes;
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec m, ctx.Op(c, Opcode::kAbs, {v}, Other(v.side)));
    magnitudes.push_back(m);
  }
  return ctx.Reduce(c, Opcode::kMax, magnitudes);
}

absl::StatusOr<Quantized> Quantize(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x, bool west,
                                   bool east) {
  ASSIGN_OR_RETURN(Vec largest, LargestMagnitude(ctx, c, x));
  return QuantizeWith(ctx, c, x, largest, west, east);
}

absl::StatusOr<Quantized> QuantizeWith(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x,
                                       const Vec& largest, bool west, bool east) {
  Quantized out;
  const Side s = Other(largest.side);
  ASSIGN_OR_RETURN(Vec zero, ctx.Splat(c, 0.0f, s));
  ASSIGN_OR_RETURN(Vec one, ctx.Splat(c, 1.0f, Other(largest.side)));
  ASSIGN_OR_RETURN(Vec is_zero, ctx.Op(c, Opcode::kCmpEq, {largest, zero}, s));
  ASSIGN_OR_RETURN(Vec reciprocal, ctx.Op(c, Opcode::kRecip, {largest}, Other(s)));
  ASSIGN_OR_RETURN(Vec k127, ctx.Splat(c, 127.0f, s));
  ASSIGN_OR_RETURN(Vec ratio_raw, ctx.Op(c, Opcode::kMul, {k127, reciprocal}, s));
  ASSIGN_OR_RETURN(Vec ratio, ctx.Op(c, Opcode::kSelect, {one, ratio_raw, is_zero}, Other(s)));
  ASSIGN_OR_RETURN(Vec inverse127, ctx.Splat(c, 1.0f / 127.0f, s));
  ASSIGN_OR_RETURN(Vec scale_raw, ctx.Op(c, Opcode::kMul, {largest, inverse127}, Other(s)));
  ASSIGN_OR_RETURN(Vec one_again, ctx.Splat(c, 1.0f, s));
  ASSIGN_OR_RETURN(out.scale, ctx.Op(c, Opcode::kSelect, {one_again, scale_raw, is_zero}, s));
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec scaled, ctx.Op(c, Opcode::kMul, {v, ratio}, Other(v.side)));
    for (int side = 0; side < 2; ++side) {
      if ((side == 0 && !west) || (side == 1 && !east)) continue;
      ASSIGN_OR_RETURN(Vec q,
                       ctx.Ops(c).Vxm(Opcode::kConvert, isa::FP32, {scaled}, static_cast<Side>(side), isa::INT8));
      out.q[side].push_back(q);
    }
  }
  return out;
}

absl::StatusOr<std::vector<Vec>> Products(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                          const Quantized& q, const std::vector<Vec>& x) {
  std::vector<Vec> inputs[2] = {q.q[0], q.q[1]};
  if (!ctx.int8()) {
    for (const StreamedMatrix& m : linear.sides) {
      const int side = static_cast<int>(m.side);
      for (const Vec& v : x) {
        ASSIGN_OR_RETURN(Vec h, ctx.Ops(c).Vxm(Opcode::kConvert, isa::FP32, {v}, m.side, isa::FP16));
        inputs[side].push_back(h);
      }
    }
  }
  std::vector<Vec> y;
  for (const StreamedMatrix& m : linear.sides) {
    ASSIGN_OR_RETURN(std::vector<Vec> part,
                     ctx.Ops(c).MatVec(m, inputs[static_cast<int>(m.side)], m.row_tiles, m.column_tiles));
    y.insert(y.end(), part.begin(), part.end());
  }
  return y;
}

absl::StatusOr<std::vector<Vec>> Dequantize(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                            const std::vector<Vec>& accumulators, const Vec& scale) {
  std::vector<Vec> y;
  for (size_t k = 0; k < accumulators.size(); ++k) {
    const Vec& acc = accumulators[k];
    const Vec& row_scale = linear.scales[k];
    ASSIGN_OR_RETURN(Vec real, ctx.Ops(c).Vxm(Opcode::kConvert, isa::INT32, {acc}, Other(acc.side), isa::FP32));
    ASSIGN_OR_RETURN(Vec scaled, ctx.Op(c, Opcode::kMul, {real, scale}, Other(row_scale.side)));
    ASSIGN_OR_RETURN(Vec out, ctx.Op(c, Opcode::kMul, {scaled, row_scale}, Other(row_scale.side)));
    y.push_back(out);
  }
  return y;
}

absl::StatusOr<std::vector<Vec>> Apply(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                       const std::vector<Vec>& x) {
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : linear.sides) needs[static_cast<int>(m.side)] = true;
  Quantized q;
  if (ctx.int8()) {
    ASSIGN_OR_RETURN(q, Quantize(ctx, c, x, needs[0], needs[1]));
  }
  ASSIGN_OR_RETURN(std::vector<Vec> products, Products(ctx, c, linear, q, x));
  if (!ctx.int8()) return products;
  return Dequantize(ctx, c, linear, products, q.scale);
}

absl::StatusOr<std::vector<std::vector<Vec>>> RowParallel(LoweringContext& ctx, std::vector<ChipResidents*> group,
                                                          const std::vector<const Linear*>& linears,
                                                          const std::vector<std::vector<Vec>>& x) {
  const size_t n = group.size();
  std::vector<std::vector<Vec>> partials(n);
  if (!ctx.int8() || n == 1) {
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(partials[r], Apply(ctx, *group[r], *linears[r], x[r]));
    }
    return AllReduceStage(ctx, group, partials);
  }
  std::vector<std::vector<Vec>> maxima(n);
  for (size_t r = 0; r < n; ++r) {
    ASSIGN_OR_RETURN(Vec m, LargestMagnitude(ctx, *group[r], x[r]));
    maxima[r] = {m};
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> largest, AllReduceStage(ctx, group, maxima, Opcode::kMax));
  std::vector<Vec> scales(n);
  for (size_t r = 0; r < n; ++r) {
    bool needs[2] = {false, false};
    for (const StreamedMatrix& m : linears[r]->sides) needs[static_cast<int>(m.side)] = true;
    ASSIGN_OR_RETURN(Quantized q, QuantizeWith(ctx, *group[r], x[r], largest[r][0], needs[0], needs[1]));
    scales[r] = q.scale;
    ASSIGN_OR_RETURN(partials[r], Products(ctx, *group[r], *linears[r], q, x[r]));
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> sums, AllReduceStage(ctx, group, partials, Opcode::kAdd, isa::INT32));
  std::vector<std::vector<Vec>> y(n);
  for (size_t r = 0; r < n; ++r) {
    ASSIGN_OR_RETURN(y[r], Dequantize(ctx, *group[r], *linears[r], sums[r], scales[r]));
  }
  return y;
}

namespace {

// The chip's shard of the projection's weight.
absl::StatusOr<const Linear*> Shard(const StageState& state, ChipResidents& c, const models::Operator& op) {
  using models::WeightKind;
  if (op.weight == WeightKind::kLmHead) return &c.lm_head;
  LayerResidents& layer = state.Layer(c, op);
  switch (op.weight) {
    case WeightKind::kQ:
      return &layer.q;
    case WeightKind::kK:
      return &layer.k;
    case WeightKind::kV:
      return &layer.v;
    case WeightKind::kO:
      return &layer.o;
    case WeightKind::kRouter:
      return &layer.router;
    case WeightKind::kGate:
      return &layer.gate[0];
    case WeightKind::kUp:
      return &layer.up[0];
    case WeightKind::kDown:
      return &layer.down[0];
    default:
      return absl::InternalError(absl::StrCat("projection '", op.name, "' names no projection weight"));
  }
}

}  // namespace

absl::Status LowerColumnParallel(StageState& state, int index) {
  const models::Operator& op = state.op(index);
  ASSIGN_OR_RETURN(const RankVectors* x, state.Input(index, 0));
  RankVectors y(state.group.size());
  for (size_t r = 0; r < state.group.size(); ++r) {
    ChipResidents& c = *state.group[r];
    ASSIGN_OR_RETURN(const Linear* linear, Shard(state, c, op));
    ASSIGN_OR_RETURN(y[r], Apply(state.ctx, c, *linear, (*x)[r]));
    if (op.weight == models::WeightKind::kLmHead) {
      state.step.logits.push_back({c.chip, c.vocab_first, c.vocab_local, y[r]});
    }
  }
  state.values[index] = std::move(y);
  return absl::OkStatus();
}

absl::Status LowerRowParallel(StageState& state, int index) {
  const models::Operator& op = state.op(index);
  ASSIGN_OR_RETURN(const RankVectors* x, state.Input(index, 0));
  std::vector<const Linear*> shards;
  for (ChipResidents* c : state.group) {
    ASSIGN_OR_RETURN(const Linear* linear, Shard(state, *c, op));
    shards.push_back(linear);
  }
  ASSIGN_OR_RETURN(state.values[index], RowParallel(state.ctx, state.group, shards, *x));
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
