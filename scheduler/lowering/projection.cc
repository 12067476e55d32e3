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
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> y, BatchProducts(ctx, c, linear, {q}, {x}));
  return std::move(y[0]);
}

absl::StatusOr<std::vector<std::vector<Vec>>> BatchProducts(LoweringContext& ctx, ChipResidents& c,
                                                            const Linear& linear, const std::vector<Quantized>& q,
                                                            const std::vector<std::vector<Vec>>& x) {
  const size_t batch = x.size();
  // inputs[side][m]: member m's vectors on that side's MXM.
  std::vector<std::vector<Vec>> inputs[2];
  for (int side = 0; side < 2; ++side) {
    inputs[side].resize(batch);
    for (size_t m = 0; m < batch && ctx.int8(); ++m) inputs[side][m] = q[m].q[side];
  }
  if (!ctx.int8()) {
    for (const StreamedMatrix& matrix : linear.sides) {
      const int side = static_cast<int>(matrix.side);
      for (size_t m = 0; m < batch; ++m) {
        for (const Vec& v : x[m]) {
          ASSIGN_OR_RETURN(Vec h, ctx.Ops(c).Vxm(Opcode::kConvert, isa::FP32, {v}, matrix.side, isa::FP16));
          inputs[side][m].push_back(h);
        }
      }
    }
  }
  std::vector<std::vector<Vec>> y(batch);
  for (const StreamedMatrix& matrix : linear.sides) {
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> part,
                     ctx.Ops(c).MatMul(matrix, inputs[static_cast<int>(matrix.side)], matrix.row_tiles,
                                       matrix.column_tiles));
    for (size_t m = 0; m < batch; ++m) y[m].insert(y[m].end(), part[m].begin(), part[m].end());
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
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> y, BatchApply(ctx, c, linear, {x}));
  return std::move(y[0]);
}

absl::StatusOr<std::vector<std::vector<Vec>>> BatchApply(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                                         const std::vector<std::vector<Vec>>& x) {
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : linear.sides) needs[static_cast<int>(m.side)] = true;
  std::vector<Quantized> q(x.size());
  for (size_t m = 0; m < x.size() && ctx.int8(); ++m) {
    ASSIGN_OR_RETURN(q[m], Quantize(ctx, c, x[m], needs[0], needs[1]));
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> products, BatchProducts(ctx, c, linear, q, x));
  if (!ctx.int8()) return products;
  std::vector<std::vector<Vec>> y(x.size());
  for (size_t m = 0; m < x.size(); ++m) {
    ASSIGN_OR_RETURN(y[m], Dequantize(ctx, c, linear, products[m], q[m].scale));
  }
  return y;
}

absl::StatusOr<std::vector<std::vector<Vec>>> RowParallel(LoweringContext& ctx, std::vector<ChipResidents*> group,
                                                          const std::vector<const Linear*>& linears,
                                                          const std::vector<std::vector<Vec>>& x) {
  ASSIGN_OR_RETURN(std::vector<RankVectors> y, BatchRowParallel(ctx, group, linears, {x}));
  return std::move(y[0]);
}

absl::StatusOr<std::vector<RankVectors>> BatchRowParallel(LoweringContext& ctx, StageGroup group,
                                                          const std::vector<const Linear*>& linears,
                                                          const std::vector<RankVectors>& x) {
  const size_t n = group.size();
  const size_t batch = x.size();
  // Member m's vectors on rank r: x[m][r]; a rank's batch: column(x, r).
  auto column = [&](const std::vector<RankVectors>& values, size_t r) {
    std::vector<std::vector<Vec>> out;
    for (const RankVectors& member : values) out.push_back(member[r]);
    return out;
  };
  std::vector<RankVectors> partials(batch, RankVectors(n));
  std::vector<RankVectors> y(batch);
  if (!ctx.int8() || n == 1) {
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> out, BatchApply(ctx, *group[r], *linears[r], column(x, r)));
      for (size_t m = 0; m < batch; ++m) partials[m][r] = std::move(out[m]);
    }
    for (size_t m = 0; m < batch; ++m) {
      ASSIGN_OR_RETURN(y[m], AllReduceStage(ctx, group, partials[m]));
    }
    return y;
  }
  std::vector<RankVectors> largest(batch);
  for (size_t m = 0; m < batch; ++m) {
    RankVectors maxima(n);
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(Vec largest_here, LargestMagnitude(ctx, *group[r], x[m][r]));
      maxima[r] = {largest_here};
    }
    ASSIGN_OR_RETURN(largest[m], AllReduceStage(ctx, group, maxima, Opcode::kMax));
  }
  std::vector<std::vector<Vec>> scales(batch, std::vector<Vec>(n));
  for (size_t r = 0; r < n; ++r) {
    bool needs[2] = {false, false};
    for (const StreamedMatrix& matrix : linears[r]->sides) needs[static_cast<int>(matrix.side)] = true;
    std::vector<Quantized> q(batch);
    for (size_t m = 0; m < batch; ++m) {
      ASSIGN_OR_RETURN(q[m], QuantizeWith(ctx, *group[r], x[m][r], largest[m][r][0], needs[0], needs[1]));
      scales[m][r] = q[m].scale;
    }
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> out, BatchProducts(ctx, *group[r], *linears[r], q, column(x, r)));
    for (size_t m = 0; m < batch; ++m) partials[m][r] = std::move(out[m]);
  }
  for (size_t m = 0; m < batch; ++m) {
    ASSIGN_OR_RETURN(RankVectors sums, AllReduceStage(ctx, group, partials[m], Opcode::kAdd, isa::INT32));
    y[m] = RankVectors(n);
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(y[m][r], Dequantize(ctx, *group[r], *linears[r], sums[r], scales[m][r]));
    }
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
  const size_t batch = state.members.size();
  std::vector<const RankVectors*> x(batch);
  for (size_t m = 0; m < batch; ++m) {
    ASSIGN_OR_RETURN(x[m], state.Input(index, 0, static_cast<int>(m)));
  }
  std::vector<RankVectors> y(batch, RankVectors(state.group.size()));
  for (size_t r = 0; r < state.group.size(); ++r) {
    ChipResidents& c = *state.group[r];
    ASSIGN_OR_RETURN(const Linear* linear, Shard(state, c, op));
    std::vector<std::vector<Vec>> inputs;
    for (size_t m = 0; m < batch; ++m) inputs.push_back((*x[m])[r]);
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> out, BatchApply(state.ctx, c, *linear, inputs));
    for (size_t m = 0; m < batch; ++m) {
      y[m][r] = std::move(out[m]);
      if (op.weight == models::WeightKind::kLmHead) {
        state.step.logits.push_back({c.chip, static_cast<int>(m), c.vocab_first, c.vocab_local, y[m][r]});
      }
    }
  }
  for (size_t m = 0; m < batch; ++m) state.values[m][index] = std::move(y[m]);
  return absl::OkStatus();
}

absl::Status LowerRowParallel(StageState& state, int index) {
  const models::Operator& op = state.op(index);
  std::vector<RankVectors> x;
  for (size_t m = 0; m < state.members.size(); ++m) {
    ASSIGN_OR_RETURN(const RankVectors* input, state.Input(index, 0, static_cast<int>(m)));
    x.push_back(*input);
  }
  std::vector<const Linear*> shards;
  for (ChipResidents* c : state.group) {
    ASSIGN_OR_RETURN(const Linear* linear, Shard(state, *c, op));
    shards.push_back(linear);
  }
  ASSIGN_OR_RETURN(std::vector<RankVectors> y, BatchRowParallel(state.ctx, state.group, shards, x));
  for (size_t m = 0; m < y.size(); ++m) state.values[m][index] = std::move(y[m]);
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
