#include "scheduler/lowering/weight_allocation.h"

#include <algorithm>
#include <functional>

#include "isa/status_macros.h"
#include "models/reference_decoder.h"

namespace tsp::scheduler::lowering {
namespace {

absl::StatusOr<Linear> MakeLinear(LoweringContext& ctx, ChipResidents& c, int64_t rows, int64_t columns,
                                  const models::Matrix* source, const std::function<int64_t(int64_t)>& source_row,
                                  const std::function<int64_t(int64_t)>& source_column) {
  Linear linear;
  linear.rows = rows;
  linear.columns = columns;
  const isa::ElementType type = ctx.int8() ? isa::INT8 : isa::FP16;
  const int64_t row_tiles = CeilDiv(rows, ctx.lanes());
  // An odd tile goes to the side with more room, so the sides fill evenly.
  const bool west_gets_more =
      ctx.Ops(c).weight_addresses_used(Side::kWest) <= ctx.Ops(c).weight_addresses_used(Side::kEast);
  const int64_t west_tiles = west_gets_more ? CeilDiv(row_tiles, 2) : row_tiles / 2;
  const int64_t west_rows = std::min(rows, west_tiles * ctx.lanes());
  for (int side = 0; side < 2; ++side) {
    const int64_t first = side == 0 ? 0 : west_rows;
    const int64_t count = side == 0 ? west_rows : rows - west_rows;
    if (count <= 0) continue;
    ASSIGN_OR_RETURN(StreamedMatrix m, ctx.Ops(c).NewMatrix(static_cast<Side>(side), type, count, columns));
    if (source != nullptr) {
      ctx.Ops(c).FillMatrix(m, [&](int64_t r, int64_t col) -> uint16_t {
        const int64_t index = source_row(first + r) * source->in + source_column(col);
        return ctx.int8() ? static_cast<uint16_t>(static_cast<uint8_t>(source->q[index])) : source->half[index];
      });
    }
    linear.sides.push_back(m);
  }
  if (ctx.int8()) {
    std::vector<float> scales;
    if (source != nullptr) {
      for (int64_t r = 0; r < rows; ++r) scales.push_back(source->scale[source_row(r)]);
    }
    // Scales sit opposite the products they multiply (which land on the
    // matrix's side).
    for (int64_t k = 0; k < row_tiles; ++k) {
      const Side side = k * ctx.lanes() < west_rows ? Side::kEast : Side::kWest;
      std::vector<float> lanes(ctx.lanes(), 0.0f);
      for (int i = 0; i < ctx.lanes() && k * ctx.lanes() + i < rows; ++i) {
        if (!scales.empty()) lanes[i] = scales[k * ctx.lanes() + i];
      }
      ASSIGN_OR_RETURN(Vec v, ctx.Ops(c).ConstantFloat(side, lanes));
      linear.scales.push_back(v);
    }
  }
  return linear;
}

absl::Status AllocateOnce(LoweringContext& ctx, ChipResidents& c, WeightImages& images) {
  VectorOps& o = ctx.Ops(c);
  const models::ModelWeights* w = ctx.options().weights;
  const int64_t hidden = ctx.config().hidden_size();
  const int tp = ctx.partition().tensor_parallel;
  const isa::ElementType cache_type = ctx.int8() ? isa::INT8 : isa::FP16;
  const int64_t batch = std::max<int64_t>(1, ctx.options().batch);
  c.tokens.resize(batch);
  c.residual_outs.resize(batch);
  for (int64_t m = 0; m < batch; ++m) {
    ASSIGN_OR_RETURN(c.tokens[m], o.NewVec(isa::FP32, Side::kWest));
    for (int64_t k = 0; k < ctx.HiddenVectors(); ++k) {
      ASSIGN_OR_RETURN(Vec v, o.NewVec(isa::FP32, k % 2 == 0 ? Side::kWest : Side::kEast));
      c.residual_outs[m].push_back(v);
    }
  }
  const int first_layer = ctx.FirstLayer(c.stage);
  const int layers = ctx.partition().stage_layers[c.stage];
  // The KV caches first: their addresses must not depend on anything else.
  c.layers.resize(layers);
  const int64_t users = std::max<int64_t>(1, ctx.options().users);
  for (LayerResidents& layer : c.layers) layer.caches.resize(users);
  for (int64_t user = 0; user < users; ++user) {
    for (int l = 0; l < layers; ++l) {
      for (int j = 0; j < ctx.LocalKvHeads(); ++j) {
        KvCache cache;
        ASSIGN_OR_RETURN(cache.keys, o.NewMatrix(Side::kWest, cache_type, ctx.context_tokens(), ctx.head_dim()));
        ASSIGN_OR_RETURN(cache.values, o.NewMatrix(Side::kEast, cache_type, ctx.head_dim(), ctx.context_tokens()));
        if (ctx.int8()) {
          for (int64_t k = 0; k < CeilDiv(ctx.context_tokens(), ctx.lanes()); ++k) {
            ASSIGN_OR_RETURN(Vec ks, o.NewVec(isa::FP32, Side::kEast));
            ASSIGN_OR_RETURN(Vec vs, o.NewVec(isa::FP32, Side::kWest));
            cache.key_scales.push_back(ks);
            cache.value_scales.push_back(vs);
          }
        }
        c.layers[l].caches[user].push_back(cache);
      }
    }
  }
  // Weights: this chip's shard of every matrix it streams; their images are
  // made once and reused.
  const bool cached = images.count(c.chip) > 0;
  const size_t first_image = o.scheduler().memory_image_count();
  if (cached) o.set_with_data(false);
  const int heads = ctx.LocalHeads();
  const int kv = ctx.LocalKvHeads();
  const int64_t first_head = ctx.FirstHead(c.rank);
  const int64_t first_kv = ctx.FirstKvHead(c.rank);
  auto identity = [](int64_t i) { return i; };
  for (int l = 0; l < layers; ++l) {
    const models::LayerWeights* lw = w != nullptr ? &w->layers[first_layer + l] : nullptr;
    LayerResidents& layer = c.layers[l];
    ASSIGN_OR_RETURN(layer.attention_norm,
                     ctx.FloatVectors(c, lw ? lw->attention_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(layer.mlp_norm,
                     ctx.FloatVectors(c, lw ? lw->mlp_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(layer.q, MakeLinear(
                                  ctx, c, heads * ctx.head_dim(), hidden, lw ? &lw->q : nullptr,
                                  [&](int64_t r) { return first_head * ctx.head_dim() + r; }, identity));
    ASSIGN_OR_RETURN(layer.k, MakeLinear(
                                  ctx, c, kv * ctx.head_dim(), hidden, lw ? &lw->k : nullptr,
                                  [&](int64_t r) { return first_kv * ctx.head_dim() + r; }, identity));
    ASSIGN_OR_RETURN(layer.v, MakeLinear(
                                  ctx, c, kv * ctx.head_dim(), hidden, lw ? &lw->v : nullptr,
                                  [&](int64_t r) { return first_kv * ctx.head_dim() + r; }, identity));
    ASSIGN_OR_RETURN(layer.o, MakeLinear(ctx, c, hidden, heads * ctx.head_dim(), lw ? &lw->o : nullptr, identity,
                                         [&](int64_t col) { return first_head * ctx.head_dim() + col; }));
    const int64_t ffn = ctx.FfnLocal();
    const int64_t first_ffn = static_cast<int64_t>(c.rank) * ffn;
    const int experts = static_cast<int>(std::max<int64_t>(ctx.config().experts(), 1));
    if (ctx.config().experts() > 0) {
      ASSIGN_OR_RETURN(layer.router, MakeLinear(ctx, c, ctx.config().experts(), hidden, lw ? &lw->router : nullptr,
                                                identity, identity));
    }
    for (int e = 0; e < experts; ++e) {
      ASSIGN_OR_RETURN(Linear gate, MakeLinear(
                                        ctx, c, ffn, hidden, lw ? &lw->gate[e] : nullptr,
                                        [&](int64_t r) { return first_ffn + r; }, identity));
      ASSIGN_OR_RETURN(Linear up, MakeLinear(
                                      ctx, c, ffn, hidden, lw ? &lw->up[e] : nullptr,
                                      [&](int64_t r) { return first_ffn + r; }, identity));
      ASSIGN_OR_RETURN(Linear down, MakeLinear(ctx, c, hidden, ffn, lw ? &lw->down[e] : nullptr, identity,
                                               [&](int64_t col) { return first_ffn + col; }));
      layer.gate.push_back(gate);
      layer.up.push_back(up);
      layer.down.push_back(down);
    }
  }
  const int64_t vocab = ctx.config().vocab_size();
  c.vocab_local = CeilDiv(vocab, tp);
  c.vocab_first = static_cast<int64_t>(c.rank) * c.vocab_local;
  c.vocab_local = std::max<int64_t>(0, std::min(c.vocab_local, vocab - c.vocab_first));
  if (c.stage == 0) {
    // The embedding transposed (hidden x local vocabulary): a one-hot token
    // vector times it is the token's row.
    ASSIGN_OR_RETURN(c.embedding, MakeLinear(ctx, c, hidden, c.vocab_local, nullptr, identity, identity));
    if (w != nullptr) {
      // Element (r, col) of the transpose is embedding[vocab_first + col][r].
      const models::Matrix& e = w->embedding;
      const int64_t west_rows = c.embedding.sides[0].rows;
      for (size_t side = 0; side < c.embedding.sides.size(); ++side) {
        const int64_t first = side == 0 ? 0 : west_rows;
        ctx.Ops(c).FillMatrix(c.embedding.sides[side], [&](int64_t r, int64_t col) -> uint16_t {
          const int64_t index = (c.vocab_first + col) * e.in + first + r;
          return ctx.int8() ? static_cast<uint16_t>(static_cast<uint8_t>(e.q[index])) : e.half[index];
        });
      }
    }
    if (ctx.int8()) {
      std::vector<float> scales;
      if (w != nullptr) {
        for (int64_t v = 0; v < c.vocab_local; ++v) scales.push_back(w->embedding.scale[c.vocab_first + v]);
      }
      ASSIGN_OR_RETURN(c.embedding_scales, ctx.FloatVectors(c, scales, c.vocab_local, Side::kEast));
    }
  }
  if (c.stage + 1 == static_cast<int>(ctx.partition().stage_chips.size())) {
    ASSIGN_OR_RETURN(c.final_norm, ctx.FloatVectors(c, w ? w->final_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(c.lm_head, MakeLinear(
                                    ctx, c, c.vocab_local, hidden, w ? &w->lm_head : nullptr,
                                    [&](int64_t r) { return c.vocab_first + r; }, identity));
  }
  if (cached) {
    o.set_with_data(ctx.with_data());
    o.scheduler().AddMemoryImages(images.at(c.chip));
  } else if (ctx.with_data() && o.weight_overflow() == 0) {
    images[c.chip] = o.scheduler().MemoryImagesFrom(first_image);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AllocateResidents(LoweringContext& ctx, ChipResidents& c, WeightImages& images) {
  // Matrices take the weight slices alone when they fit there; otherwise the
  // chip starts again with them spread over the activation slices too.
  ctx.Ops(c).set_allow_weight_overflow(true);
  RETURN_IF_ERROR(AllocateOnce(ctx, c, images));
  ctx.Ops(c).set_allow_weight_overflow(false);
  if (ctx.Ops(c).weight_overflow() == 0) return absl::OkStatus();
  const bool allow_overflow = ctx.Ops(c).allow_overflow();  // Measuring a footprint.
  ctx.system().ResetChip(c.chip);
  ChipResidents fresh;
  fresh.chip = c.chip;
  fresh.rank = c.rank;
  fresh.stage = c.stage;
  c = std::move(fresh);
  ctx.Ops(c).set_allow_overflow(allow_overflow);
  ctx.Ops(c).set_spread_weights(true);
  return AllocateOnce(ctx, c, images);
}

absl::StatusOr<StageFootprint> MeasureStageFootprint(LoweringContext& ctx, int stage, WeightImages& images) {
  StageFootprint f;
  f.stage = stage;
  f.layers = ctx.partition().stage_layers[stage];
  for (size_t r = 0; r < ctx.partition().stage_chips[stage].size(); ++r) {
    ChipResidents c;
    c.chip = ctx.partition().stage_chips[stage][r];
    c.rank = static_cast<int>(r);
    c.stage = stage;
    ctx.system().ops(c.chip).set_allow_overflow(true);
    RETURN_IF_ERROR(AllocateResidents(ctx, c, images));
  }
  const int64_t vector_bytes = ctx.lanes();
  for (int chip_id : ctx.partition().stage_chips[stage]) {
    VectorOps& o = ctx.system().ops(chip_id);
    const int64_t weights = std::max(o.weight_addresses_used(Side::kWest), o.weight_addresses_used(Side::kEast));
    if (weights >= std::max(f.weight_addresses[0], f.weight_addresses[1])) {
      f.weight_addresses[0] = o.weight_addresses_used(Side::kWest);
      f.weight_addresses[1] = o.weight_addresses_used(Side::kEast);
    }
    f.weight_bytes = std::max(f.weight_bytes, 2 * weights * o.weight_slices_per_side() * vector_bytes);
    f.weight_unplaced_bytes = std::max(f.weight_unplaced_bytes, o.weight_overflow() * vector_bytes);
    f.activation_bytes =
        std::max(f.activation_bytes, 2 * o.activation_addresses_used() * o.activation_slices_per_side() * vector_bytes);
    f.weight_capacity = 2 * o.weight_capacity_addresses() * o.weight_slices_per_side() * vector_bytes;
    f.spread = f.spread || o.spread_weights();
    f.activation_capacity = 2 * ctx.chip().mem_addresses() * o.activation_slices_per_side() * vector_bytes;
  }
  return f;
}

}  // namespace tsp::scheduler::lowering
