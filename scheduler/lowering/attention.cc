#include "scheduler/lowering/attention.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "scheduler/lowering/projection.h"
#include "scheduler/lowering/rotary.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

}  // namespace

// Lanes [offset, offset + head_dim) of the packed vectors, moved to lanes
// [0, head_dim) of one vector, other lanes zero.
absl::StatusOr<Vec> ExtractHead(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& packed,
                                int64_t offset) {
  const int64_t k = offset / ctx.lanes();
  const int o = static_cast<int>(offset % ctx.lanes());
  Vec head = packed[k];
  if (o > 0) {
    ASSIGN_OR_RETURN(head, ctx.Ops(c).Shift(Opcode::kShift, head, -o, Other(head.side)));
  }
  if (o + ctx.head_dim() > ctx.lanes()) {
    ASSIGN_OR_RETURN(Vec rest, ctx.Ops(c).Shift(Opcode::kShift, packed[k + 1], ctx.lanes() - o, Other(head.side)));
    ASSIGN_OR_RETURN(head, ctx.Op(c, Opcode::kAdd, {head, rest}, Other(head.side)));
  }
  if (ctx.head_dim() < ctx.lanes()) return ctx.Masked(c, head, ctx.head_dim(), 0.0f);
  return head;
}

absl::StatusOr<std::vector<Vec>> PackHeads(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& heads,
                                           int64_t vectors) {
  std::vector<std::vector<Vec>> parts(vectors);
  for (size_t h = 0; h < heads.size(); ++h) {
    const int64_t offset = static_cast<int64_t>(h) * ctx.head_dim();
    const int64_t k = offset / ctx.lanes();
    const int o = static_cast<int>(offset % ctx.lanes());
    Vec part = heads[h];
    if (o > 0) {
      ASSIGN_OR_RETURN(part, ctx.Ops(c).Shift(Opcode::kShift, heads[h], o, Other(heads[h].side)));
    }
    parts[k].push_back(part);
    if (o + ctx.head_dim() > ctx.lanes()) {
      ASSIGN_OR_RETURN(Vec rest, ctx.Ops(c).Shift(Opcode::kShift, heads[h], o - ctx.lanes(), Other(heads[h].side)));
      parts[k + 1].push_back(rest);
    }
  }
  std::vector<Vec> packed;
  for (auto& list : parts) {
    Vec acc = list[0];
    for (size_t i = 1; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(acc, ctx.Op(c, Opcode::kAdd, {acc, list[i]}, Other(acc.side)));
    }
    packed.push_back(acc);
  }
  return packed;
}

absl::Status AppendToCache(LoweringContext& ctx, ChipResidents& c, KvCache& cache, const Vec& key, const Vec& value,
                           int64_t position) {
  VectorOps& o = ctx.Ops(c);
  const int64_t tile = position / ctx.lanes();
  const int lane = static_cast<int>(position % ctx.lanes());
  const Vec key_row = o.MatrixRow(cache.keys, position);
  Vec stored_value;
  if (ctx.int8()) {
    std::vector<float> onehot(ctx.lanes(), 0.0f);
    onehot[lane] = 1.0f;
    ASSIGN_OR_RETURN(Quantized qk, Quantize(ctx, c, {key}, true, false));
    RETURN_IF_ERROR(o.CopyInto(qk.q[0][0], key_row));
    ASSIGN_OR_RETURN(Vec hot, o.ConstantFloat(Side::kWest, onehot));
    const Vec& key_scales = cache.key_scales[tile];
    ASSIGN_OR_RETURN(Vec ks, ctx.Op(c, Opcode::kSelect, {qk.scale, key_scales, hot}, Other(key_scales.side)));
    RETURN_IF_ERROR(o.CopyInto(ks, key_scales));
    ASSIGN_OR_RETURN(Quantized qv, Quantize(ctx, c, {value}, false, true));
    stored_value = qv.q[1][0];
    const Vec& value_scales = cache.value_scales[tile];
    ASSIGN_OR_RETURN(Vec vs, ctx.Op(c, Opcode::kSelect, {qv.scale, value_scales, hot}, Other(value_scales.side)));
    RETURN_IF_ERROR(o.CopyInto(vs, value_scales));
  } else {
    ASSIGN_OR_RETURN(Vec k16, o.Vxm(Opcode::kConvert, isa::FP32, {key}, Side::kWest, isa::FP16));
    RETURN_IF_ERROR(o.CopyInto(k16, key_row));
    ASSIGN_OR_RETURN(stored_value, o.Vxm(Opcode::kConvert, isa::FP32, {value}, Side::kEast, isa::FP16));
  }
  // Value dimension i goes to lane `lane` of row i of the transposed cache
  // (whose lane is zero until now).
  for (int64_t i = 0; i < ctx.head_dim(); ++i) {
    std::vector<int> map(ctx.lanes(), -1);
    map[lane] = static_cast<int>(i);
    ASSIGN_OR_RETURN(Vec moved, o.Permute(stored_value, map, Side::kWest));
    StreamedMatrix values = cache.values;
    Vec row = o.MatrixRow(values, i);
    row.address += tile * values.loads;  // Column tile `tile` of row i.
    ASSIGN_OR_RETURN(Vec sum, o.Vxm(Opcode::kAdd, row.type, {row, moved}, Side::kWest));
    RETURN_IF_ERROR(o.CopyInto(sum, row));
  }
  return absl::OkStatus();
}

absl::StatusOr<Vec> AttendHead(LoweringContext& ctx, ChipResidents& c, KvCache& cache, const Vec& query,
                               int64_t tokens) {
  VectorOps& o = ctx.Ops(c);
  const int tiles = static_cast<int>(CeilDiv(tokens, ctx.lanes()));
  ASSIGN_OR_RETURN(Vec inverse_root, ctx.Splat(c, 1.0f / std::sqrt(static_cast<float>(ctx.head_dim())), Side::kEast));
  std::vector<Vec> scores;
  if (ctx.int8()) {
    ASSIGN_OR_RETURN(Quantized qq, Quantize(ctx, c, {query}, true, false));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.keys, qq.q[0], tiles, 1));
    for (int k = 0; k < tiles; ++k) {
      ASSIGN_OR_RETURN(Vec real, o.Vxm(Opcode::kConvert, isa::INT32, {acc[k]}, Side::kEast, isa::FP32));
      ASSIGN_OR_RETURN(Vec a, ctx.Op(c, Opcode::kMul, {real, qq.scale}, Side::kWest));
      ASSIGN_OR_RETURN(Vec b, ctx.Op(c, Opcode::kMul, {a, cache.key_scales[k]}, Side::kWest));
      ASSIGN_OR_RETURN(Vec s, ctx.Op(c, Opcode::kMul, {b, inverse_root}, Side::kWest));
      scores.push_back(s);
    }
  } else {
    ASSIGN_OR_RETURN(Vec q16, o.Vxm(Opcode::kConvert, isa::FP32, {query}, Side::kWest, isa::FP16));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.keys, {q16}, tiles, 1));
    for (int k = 0; k < tiles; ++k) {
      ASSIGN_OR_RETURN(Vec s, ctx.Op(c, Opcode::kMul, {acc[k], inverse_root}, Side::kWest));
      scores.push_back(s);
    }
  }
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(scores[k], ctx.Masked(c, scores[k], tokens - static_cast<int64_t>(k) * ctx.lanes(), -kInfinity));
  }
  ASSIGN_OR_RETURN(Vec largest, ctx.Reduce(c, Opcode::kMax, scores));
  std::vector<Vec> exps;
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(Vec shifted, ctx.Op(c, Opcode::kSub, {scores[k], largest}, Other(scores[k].side)));
    ASSIGN_OR_RETURN(Vec e, ctx.Op(c, Opcode::kExp, {shifted}, Other(shifted.side)));
    ASSIGN_OR_RETURN(e, ctx.Masked(c, e, tokens - static_cast<int64_t>(k) * ctx.lanes(), 0.0f));
    exps.push_back(e);
  }
  ASSIGN_OR_RETURN(Vec total, ctx.Reduce(c, Opcode::kAdd, exps));
  ASSIGN_OR_RETURN(Vec inverse, ctx.Op(c, Opcode::kRecip, {total}, Other(total.side)));
  std::vector<Vec> probabilities;
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(Vec p, ctx.Op(c, Opcode::kMul, {exps[k], inverse}, Other(exps[k].side)));
    if (ctx.int8()) {
      ASSIGN_OR_RETURN(p, ctx.Op(c, Opcode::kMul, {p, cache.value_scales[k]}, Other(p.side)));
    }
    probabilities.push_back(p);
  }
  if (ctx.int8()) {
    ASSIGN_OR_RETURN(Quantized qp, Quantize(ctx, c, probabilities, false, true));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.values, qp.q[1], 1, tiles));
    ASSIGN_OR_RETURN(Vec real, o.Vxm(Opcode::kConvert, isa::INT32, {acc[0]}, Side::kWest, isa::FP32));
    return ctx.Op(c, Opcode::kMul, {real, qp.scale}, Side::kEast);
  }
  std::vector<Vec> p16;
  for (const Vec& p : probabilities) {
    ASSIGN_OR_RETURN(Vec h, o.Vxm(Opcode::kConvert, isa::FP32, {p}, Side::kEast, isa::FP16));
    p16.push_back(h);
  }
  ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.values, p16, 1, tiles));
  return acc[0];
}

absl::StatusOr<std::vector<Vec>> AttendHeads(LoweringContext& ctx, ChipResidents& c, std::vector<KvCache>& caches,
                                             const std::vector<Vec>& q, const std::vector<Vec>& k,
                                             const std::vector<Vec>& v, int64_t position) {
  for (int j = 0; j < ctx.LocalKvHeads(); ++j) {
    ASSIGN_OR_RETURN(Vec key, ExtractHead(ctx, c, k, j * ctx.head_dim()));
    ASSIGN_OR_RETURN(key, Rotary(ctx, c, key, position));
    ASSIGN_OR_RETURN(Vec value, ExtractHead(ctx, c, v, j * ctx.head_dim()));
    RETURN_IF_ERROR(AppendToCache(ctx, c, caches[j], key, value, position));
  }
  const int64_t group = ctx.config().heads() / ctx.config().kv_heads();
  const int64_t first_head = ctx.FirstHead(c.rank);
  const int64_t first_kv = ctx.FirstKvHead(c.rank);
  std::vector<Vec> outs;
  for (int head = 0; head < ctx.LocalHeads(); ++head) {
    ASSIGN_OR_RETURN(Vec query, ExtractHead(ctx, c, q, head * ctx.head_dim()));
    ASSIGN_OR_RETURN(query, Rotary(ctx, c, query, position));
    const int64_t kv = (first_head + head) / group - first_kv;
    ASSIGN_OR_RETURN(Vec out, AttendHead(ctx, c, caches[kv], query, position + 1));
    outs.push_back(out);
  }
  return PackHeads(ctx, c, outs, CeilDiv(ctx.LocalHeads() * ctx.head_dim(), ctx.lanes()));
}

absl::Status LowerAttention(StageState& state, int rotary) {
  const int attention = rotary + 1;
  if (state.op(rotary).kind != models::OpKind::kRotary || attention >= static_cast<int>(state.graph.ops.size()) ||
      state.op(attention).kind != models::OpKind::kAttention || state.op(attention).inputs[0] != rotary) {
    return absl::InternalError(
        absl::StrCat("'", state.op(rotary).name, "' is not a rotary operator right before the attention reading it"));
  }
  ASSIGN_OR_RETURN(const RankVectors* q, state.Input(rotary, 0));
  ASSIGN_OR_RETURN(const RankVectors* k, state.Input(rotary, 1));
  ASSIGN_OR_RETURN(const RankVectors* v, state.Input(attention, 1));
  RankVectors out(state.group.size());
  for (size_t r = 0; r < state.group.size(); ++r) {
    ChipResidents& c = *state.group[r];
    ASSIGN_OR_RETURN(out[r], AttendHeads(state.ctx, c, state.Caches(c, state.op(attention)), (*q)[r], (*k)[r],
                                         (*v)[r], state.position()));
  }
  state.Result(attention) = std::move(out);
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
