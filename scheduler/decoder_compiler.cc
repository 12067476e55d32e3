#include "scheduler/decoder_compiler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/numeric.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "scheduler/system_scheduler.h"
#include "scheduler/tensor_parallel_width.h"

namespace tsp::scheduler {
namespace {

using isa::Opcode;
using models::NumberFormat;

constexpr float kInfinity = std::numeric_limits<float>::infinity();

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
Side Other(Side side) { return side == Side::kWest ? Side::kEast : Side::kWest; }

// A weight matrix split by row tiles between the two MXM sides, with its
// int8 per-row scales as fp32 vectors (one per output vector).
struct Linear {
  int64_t rows = 0;
  int64_t columns = 0;
  std::vector<StreamedMatrix> sides;  // West part first; an empty part is left out.
  std::vector<Vec> scales;            // int8 only: one per output vector.
};

// What a chip keeps between steps and the weights it streams.
struct ChipState {
  int chip = 0;
  int rank = 0;   // Index in its stage's tensor-parallel group.
  int stage = 0;
  Vec token;      // fp32 token id in every lane.
  std::vector<Vec> residual_out;  // The stage's output residual, where the next stage fetches it.
  struct Cache {
    StreamedMatrix keys;           // Rows are tokens.
    StreamedMatrix values;         // Transposed: rows are head dimensions, lanes tokens.
    std::vector<Vec> key_scales;   // int8: s_k of token t at lane t % lanes of vector t / lanes.
    std::vector<Vec> value_scales;
  };
  struct Layer {
    std::vector<Cache> caches;  // Per local KV head.
    std::vector<Vec> attention_norm, mlp_norm;
    Linear q, k, v, o, router;
    std::vector<Linear> gate, up, down;  // Per expert.
  };
  std::vector<Layer> layers;
  std::vector<Vec> final_norm;
  Linear embedding;                 // Transposed shard: hidden x local vocabulary.
  std::vector<Vec> embedding_scales;
  Linear lm_head;
  int64_t vocab_first = 0;
  int64_t vocab_local = 0;
};

class StepLowering {
 public:
  StepLowering(const models::ModelConfig& config, const isa::ChipModel& chip,
               const pipeline::SystemModel& system, const pipeline::Topology& topology,
               const DecoderPartition& partition, const DecoderOptions& options, int64_t context,
               std::map<int, std::vector<isa::MemoryImage>>& weight_images)
      : weight_images_(weight_images),
        config_(config),
        chip_(chip),
        partition_(partition),
        options_(options),
        context_(context),
        int8_(options.format == NumberFormat::kInt8),
        lanes_(chip.lanes()),
        head_dim_(models::HeadDim(config)),
        system_(chip, system, topology, options.weights != nullptr) {}

  // The SRAM a stage's chips need for what they keep (weights, KV caches,
  // constants), with overflow allowed; a step's activations come on top and
  // are checked when it is compiled.
  absl::StatusOr<StageFootprint> Footprint(int stage);
  // The whole step (unit -1), or one stage unit.
  absl::StatusOr<CompiledStep> Run(int64_t position, int unit);

 private:
  std::map<int, std::vector<isa::MemoryImage>>& weight_images_;
  VectorOps& Ops(const ChipState& c) { return system_.ops(c.chip); }
  bool with_data() const { return options_.weights != nullptr; }

  // --- state and weights -------------------------------------------------
  absl::Status Allocate(ChipState& c);
  absl::Status AllocateOnce(ChipState& c);
  absl::StatusOr<Linear> MakeLinear(ChipState& c, int64_t rows, int64_t columns,
                                    const models::Matrix* source,
                                    const std::function<int64_t(int64_t)>& source_row,
                                    const std::function<int64_t(int64_t)>& source_column);
  absl::StatusOr<std::vector<Vec>> FloatVectors(ChipState& c, const std::vector<float>& values,
                                                int64_t count, Side side);

  // --- vector arithmetic -------------------------------------------------
  absl::StatusOr<Vec> Op(ChipState& c, Opcode op, const std::vector<Vec>& in, Side side) {
    return Ops(c).Vxm(op, isa::FP32, in, side);
  }
  absl::StatusOr<Vec> Splat(ChipState& c, float value, Side side);
  absl::StatusOr<Vec> AllLanes(ChipState& c, Opcode op, const Vec& v);
  absl::StatusOr<Vec> Reduce(ChipState& c, Opcode op, const std::vector<Vec>& vectors);
  absl::StatusOr<std::vector<Vec>> RmsNorm(ChipState& c, const std::vector<Vec>& x,
                                           const std::vector<Vec>& weight);
  // int8 activation quantization: q on each requested side, and s_x in every lane.
  struct Quantized {
    std::vector<Vec> q[2];
    Vec scale;
  };
  absl::StatusOr<Quantized> Quantize(ChipState& c, const std::vector<Vec>& x, bool west, bool east);
  // max |x| over every lane of every vector, in every lane.
  absl::StatusOr<Vec> LargestMagnitude(ChipState& c, const std::vector<Vec>& x);
  absl::StatusOr<Quantized> QuantizeWith(ChipState& c, const std::vector<Vec>& x, const Vec& largest,
                                         bool west, bool east);
  // y = W x where each chip of the group holds a column shard of W and the
  // matching part of x; every chip ends with the whole y. int8 quantizes
  // with the group's largest magnitude and sums the int32 accumulators
  // exactly, so the result is the one-chip definition's.
  absl::StatusOr<std::vector<std::vector<Vec>>> RowParallel(std::vector<ChipState*> group,
                                                            const std::vector<const Linear*>& linears,
                                                            const std::vector<std::vector<Vec>>& x);
  // Products of a linear (int32 accumulators or fp32 sums), before scales.
  absl::StatusOr<std::vector<Vec>> Products(ChipState& c, const Linear& linear, const Quantized& q,
                                            const std::vector<Vec>& x);
  absl::StatusOr<std::vector<Vec>> Dequantize(ChipState& c, const Linear& linear,
                                              const std::vector<Vec>& accumulators, const Vec& scale);
  absl::StatusOr<std::vector<Vec>> Apply(ChipState& c, const Linear& linear, const std::vector<Vec>& x);
  absl::StatusOr<Vec> ExtractHead(ChipState& c, const std::vector<Vec>& packed, int64_t offset);
  absl::StatusOr<std::vector<Vec>> PackHeads(ChipState& c, const std::vector<Vec>& heads,
                                             int64_t vectors);
  absl::StatusOr<Vec> Rotary(ChipState& c, const Vec& head, int64_t position);
  absl::StatusOr<Vec> Masked(ChipState& c, const Vec& v, int64_t valid, float fill);
  absl::StatusOr<Vec> Broadcast(ChipState& c, const Vec& v, int lane, Side side);

  // --- operators ----------------------------------------------------------
  absl::StatusOr<std::vector<Vec>> Embed(ChipState& c);
  absl::StatusOr<std::vector<Vec>> Attention(ChipState& c, ChipState::Layer& layer,
                                             const std::vector<Vec>& x, int64_t position);
  absl::StatusOr<Vec> AttendHead(ChipState& c, ChipState::Cache& cache, const Vec& query,
                                 int64_t tokens);
  absl::Status AppendToCache(ChipState& c, ChipState::Cache& cache, const Vec& key,
                             const Vec& value, int64_t position);
  absl::StatusOr<std::vector<Vec>> Mlp(ChipState& c, ChipState::Layer& layer, const std::vector<Vec>& x);
  // A mixture's per-expert weights (zero for experts not picked), each in every lane.
  absl::StatusOr<std::vector<Vec>> MoeWeights(ChipState& c, ChipState::Layer& layer, const std::vector<Vec>& h);
  // A mixture-of-experts MLP over the group: every chip's whole output.
  absl::StatusOr<std::vector<std::vector<Vec>>> Mixture(std::vector<ChipState*> group, int l,
                                                        const std::vector<std::vector<Vec>>& x);
  // SwiGLU's hidden vector (the down projection's input).
  absl::StatusOr<std::vector<Vec>> ExpertHidden(ChipState& c, ChipState::Layer& layer, int expert,
                                                const std::vector<Vec>& h);
  // All-reduces the partials of every chip of a stage; returns each chip's sums.
  absl::StatusOr<std::vector<std::vector<Vec>>> AllReduceStage(
      std::vector<ChipState*> group, const std::vector<std::vector<Vec>>& partials,
      Opcode op = Opcode::kAdd, isa::ElementType type = isa::FP32);
  absl::Status Argmax(std::vector<ChipState*> group, const std::vector<std::vector<Vec>>& logits);

  int LocalHeads() const { return static_cast<int>(config_.heads() / partition_.tensor_parallel); }
  int LocalKvHeads() const {
    return static_cast<int>(std::max<int64_t>(1, config_.kv_heads() / partition_.tensor_parallel));
  }
  int64_t HiddenVectors() const { return CeilDiv(config_.hidden_size(), lanes_); }
  int64_t FfnLocal() const { return config_.ffn_size() / partition_.tensor_parallel; }

  const models::ModelConfig& config_;
  const isa::ChipModel& chip_;
  const DecoderPartition& partition_;
  const DecoderOptions& options_;
  int64_t context_;
  bool int8_;
  int lanes_;
  int64_t head_dim_;
  SystemScheduler system_;
  std::vector<std::vector<ChipState>> stages_;
  std::map<std::tuple<int, uint32_t, int>, Vec> splats_;
};

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

absl::StatusOr<Vec> StepLowering::Splat(ChipState& c, float value, Side side) {
  const auto key = std::make_tuple(c.chip, Bits(value), static_cast<int>(side));
  auto it = splats_.find(key);
  if (it != splats_.end()) return it->second;
  ASSIGN_OR_RETURN(Vec v, Ops(c).Splat(side, value));
  splats_[key] = v;
  return v;
}

absl::StatusOr<std::vector<Vec>> StepLowering::FloatVectors(ChipState& c, const std::vector<float>& values,
                                                            int64_t count, Side side) {
  std::vector<Vec> out;
  for (int64_t k = 0; k < CeilDiv(count, lanes_); ++k) {
    std::vector<float> lanes(lanes_, 0.0f);
    for (int i = 0; i < lanes_ && k * lanes_ + i < count; ++i) {
      if (!values.empty()) lanes[i] = values[k * lanes_ + i];
    }
    ASSIGN_OR_RETURN(Vec v, Ops(c).ConstantFloat(k % 2 == 0 ? side : Other(side), lanes));
    out.push_back(v);
  }
  return out;
}

absl::StatusOr<Linear> StepLowering::MakeLinear(ChipState& c, int64_t rows, int64_t columns,
                                                const models::Matrix* source,
                                                const std::function<int64_t(int64_t)>& source_row,
                                                const std::function<int64_t(int64_t)>& source_column) {
  Linear linear;
  linear.rows = rows;
  linear.columns = columns;
  const isa::ElementType type = int8_ ? isa::INT8 : isa::FP16;
  const int64_t row_tiles = CeilDiv(rows, lanes_);
  // An odd tile goes to the side with more room, so the sides fill evenly.
  const bool west_gets_more = Ops(c).weight_addresses_used(Side::kWest) <= Ops(c).weight_addresses_used(Side::kEast);
  const int64_t west_tiles = west_gets_more ? CeilDiv(row_tiles, 2) : row_tiles / 2;
  const int64_t west_rows = std::min(rows, west_tiles * lanes_);
  for (int side = 0; side < 2; ++side) {
    const int64_t first = side == 0 ? 0 : west_rows;
    const int64_t count = side == 0 ? west_rows : rows - west_rows;
    if (count <= 0) continue;
    ASSIGN_OR_RETURN(StreamedMatrix m, Ops(c).NewMatrix(static_cast<Side>(side), type, count, columns));
    if (source != nullptr) {
      Ops(c).FillMatrix(m, [&](int64_t r, int64_t col) -> uint16_t {
        const int64_t index = source_row(first + r) * source->in + source_column(col);
        return int8_ ? static_cast<uint16_t>(static_cast<uint8_t>(source->q[index]))
                     : source->half[index];
      });
    }
    linear.sides.push_back(m);
  }
  if (int8_) {
    std::vector<float> scales;
    if (source != nullptr) {
      for (int64_t r = 0; r < rows; ++r) scales.push_back(source->scale[source_row(r)]);
    }
    // Scales sit opposite the products they multiply (which land on the matrix's side).
    for (int64_t k = 0; k < row_tiles; ++k) {
      const Side side = k * lanes_ < west_rows ? Side::kEast : Side::kWest;
      std::vector<float> lanes(lanes_, 0.0f);
      for (int i = 0; i < lanes_ && k * lanes_ + i < rows; ++i) {
        if (!scales.empty()) lanes[i] = scales[k * lanes_ + i];
      }
      ASSIGN_OR_RETURN(Vec v, Ops(c).ConstantFloat(side, lanes));
      linear.scales.push_back(v);
    }
  }
  return linear;
}

absl::Status StepLowering::Allocate(ChipState& c) {
  // Matrices take the weight slices alone when they fit there; otherwise the
  // chip starts again with them spread over the activation slices too.
  Ops(c).set_allow_weight_overflow(true);
  RETURN_IF_ERROR(AllocateOnce(c));
  Ops(c).set_allow_weight_overflow(false);
  if (Ops(c).weight_overflow() == 0) return absl::OkStatus();
  const bool allow_overflow = Ops(c).allow_overflow();  // Measuring a footprint.
  system_.ResetChip(c.chip);
  ChipState fresh;
  fresh.chip = c.chip;
  fresh.rank = c.rank;
  fresh.stage = c.stage;
  c = std::move(fresh);
  Ops(c).set_allow_overflow(allow_overflow);
  Ops(c).set_spread_weights(true);
  return AllocateOnce(c);
}

absl::Status StepLowering::AllocateOnce(ChipState& c) {
  VectorOps& o = Ops(c);
  const models::ModelWeights* w = options_.weights;
  const int64_t hidden = config_.hidden_size();
  const int tp = partition_.tensor_parallel;
  const isa::ElementType cache_type = int8_ ? isa::INT8 : isa::FP16;
  ASSIGN_OR_RETURN(c.token, o.NewVec(isa::FP32, Side::kWest));
  for (int64_t k = 0; k < HiddenVectors(); ++k) {
    ASSIGN_OR_RETURN(Vec v, o.NewVec(isa::FP32, k % 2 == 0 ? Side::kWest : Side::kEast));
    c.residual_out.push_back(v);
  }
  int first_layer = 0;
  for (int s = 0; s < c.stage; ++s) first_layer += partition_.stage_layers[s];
  const int layers = partition_.stage_layers[c.stage];
  // The KV caches first: their addresses must not depend on anything else.
  c.layers.resize(layers);
  for (int64_t user = 0; user < std::max<int64_t>(1, options_.users); ++user) {
  for (int l = 0; l < layers; ++l) {
    for (int j = 0; j < LocalKvHeads(); ++j) {
      ChipState::Cache cache;
      ASSIGN_OR_RETURN(cache.keys, o.NewMatrix(Side::kWest, cache_type, context_, head_dim_));
      ASSIGN_OR_RETURN(cache.values, o.NewMatrix(Side::kEast, cache_type, head_dim_, context_));
      if (int8_) {
        for (int64_t k = 0; k < CeilDiv(context_, lanes_); ++k) {
          ASSIGN_OR_RETURN(Vec ks, o.NewVec(isa::FP32, Side::kEast));
          ASSIGN_OR_RETURN(Vec vs, o.NewVec(isa::FP32, Side::kWest));
          cache.key_scales.push_back(ks);
          cache.value_scales.push_back(vs);
        }
      }
      // The step runs user 0; the other users' caches only take their space.
      if (user == 0) c.layers[l].caches.push_back(cache);
    }
  }
  }
  // Weights: this chip's shard of every matrix it streams; their images are
  // made once and reused.
  const bool cached = weight_images_.count(c.chip) > 0;
  const size_t first_image = o.scheduler().memory_image_count();
  if (cached) o.set_with_data(false);
  const int heads = LocalHeads();
  const int kv = LocalKvHeads();
  const int64_t first_head = static_cast<int64_t>(c.rank) * heads;
  const int64_t group = config_.heads() / config_.kv_heads();
  const int64_t first_kv = first_head / group;
  auto identity = [](int64_t i) { return i; };
  for (int l = 0; l < layers; ++l) {
    const models::LayerWeights* lw = w != nullptr ? &w->layers[first_layer + l] : nullptr;
    ChipState::Layer& layer = c.layers[l];
    ASSIGN_OR_RETURN(layer.attention_norm,
                     FloatVectors(c, lw ? lw->attention_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(layer.mlp_norm,
                     FloatVectors(c, lw ? lw->mlp_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(layer.q, MakeLinear(c, heads * head_dim_, hidden, lw ? &lw->q : nullptr,
                                         [&](int64_t r) { return first_head * head_dim_ + r; }, identity));
    ASSIGN_OR_RETURN(layer.k, MakeLinear(c, kv * head_dim_, hidden, lw ? &lw->k : nullptr,
                                         [&](int64_t r) { return first_kv * head_dim_ + r; }, identity));
    ASSIGN_OR_RETURN(layer.v, MakeLinear(c, kv * head_dim_, hidden, lw ? &lw->v : nullptr,
                                         [&](int64_t r) { return first_kv * head_dim_ + r; }, identity));
    ASSIGN_OR_RETURN(layer.o, MakeLinear(c, hidden, heads * head_dim_, lw ? &lw->o : nullptr, identity,
                                         [&](int64_t col) { return first_head * head_dim_ + col; }));
    const int64_t ffn = FfnLocal();
    const int64_t first_ffn = static_cast<int64_t>(c.rank) * ffn;
    const int experts = static_cast<int>(std::max<int64_t>(config_.experts(), 1));
    if (config_.experts() > 0) {
      ASSIGN_OR_RETURN(layer.router, MakeLinear(c, config_.experts(), hidden, lw ? &lw->router : nullptr,
                                                identity, identity));
    }
    for (int e = 0; e < experts; ++e) {
      ASSIGN_OR_RETURN(Linear gate, MakeLinear(c, ffn, hidden, lw ? &lw->gate[e] : nullptr,
                                               [&](int64_t r) { return first_ffn + r; }, identity));
      ASSIGN_OR_RETURN(Linear up, MakeLinear(c, ffn, hidden, lw ? &lw->up[e] : nullptr,
                                             [&](int64_t r) { return first_ffn + r; }, identity));
      ASSIGN_OR_RETURN(Linear down, MakeLinear(c, hidden, ffn, lw ? &lw->down[e] : nullptr, identity,
                                               [&](int64_t col) { return first_ffn + col; }));
      layer.gate.push_back(gate);
      layer.up.push_back(up);
      layer.down.push_back(down);
    }
  }
  const int64_t vocab = config_.vocab_size();
  c.vocab_local = CeilDiv(vocab, tp);
  c.vocab_first = static_cast<int64_t>(c.rank) * c.vocab_local;
  c.vocab_local = std::max<int64_t>(0, std::min(c.vocab_local, vocab - c.vocab_first));
  if (c.stage == 0) {
    // The embedding transposed (hidden x local vocabulary): a one-hot token
    // vector times it is the token's row.
    ASSIGN_OR_RETURN(c.embedding, MakeLinear(c, hidden, c.vocab_local, nullptr, identity, identity));
    if (w != nullptr) {
      // Element (r, col) of the transpose is embedding[vocab_first + col][r].
      const models::Matrix& e = w->embedding;
      const int64_t west_rows = c.embedding.sides[0].rows;
      for (size_t side = 0; side < c.embedding.sides.size(); ++side) {
        const int64_t first = side == 0 ? 0 : west_rows;
        Ops(c).FillMatrix(c.embedding.sides[side], [&](int64_t r, int64_t col) -> uint16_t {
          const int64_t index = (c.vocab_first + col) * e.in + first + r;
          return int8_ ? static_cast<uint16_t>(static_cast<uint8_t>(e.q[index])) : e.half[index];
        });
      }
    }
    if (int8_) {
      std::vector<float> scales;
      if (w != nullptr) {
        for (int64_t v = 0; v < c.vocab_local; ++v) scales.push_back(w->embedding.scale[c.vocab_first + v]);
      }
      ASSIGN_OR_RETURN(c.embedding_scales, FloatVectors(c, scales, c.vocab_local, Side::kEast));
    }
  }
  if (c.stage + 1 == static_cast<int>(partition_.stage_chips.size())) {
    ASSIGN_OR_RETURN(c.final_norm,
                     FloatVectors(c, w ? w->final_norm : std::vector<float>{}, hidden, Side::kEast));
    ASSIGN_OR_RETURN(c.lm_head, MakeLinear(c, c.vocab_local, hidden, w ? &w->lm_head : nullptr,
                                           [&](int64_t r) { return c.vocab_first + r; }, identity));
  }
  if (cached) {
    o.set_with_data(with_data());
    o.scheduler().AddMemoryImages(weight_images_.at(c.chip));
  } else if (with_data() && o.weight_overflow() == 0) {
    weight_images_[c.chip] = o.scheduler().MemoryImagesFrom(first_image);
  }
  return absl::OkStatus();
}

// Every lane gets op over all lanes: rotations halve the lane count while it
// is even, then the odd remainder is covered by binary pieces.
absl::StatusOr<Vec> StepLowering::AllLanes(ChipState& c, Opcode op, const Vec& v) {
  Vec acc = v;
  int n = lanes_;
  while (n % 2 == 0) {
    n /= 2;
    ASSIGN_OR_RETURN(Vec rotated, Ops(c).Shift(Opcode::kRotate, acc, n, Other(acc.side)));
    ASSIGN_OR_RETURN(acc, Op(c, op, {acc, rotated}, Other(acc.side)));
  }
  if (n == 1) return acc;
  // pieces[k] covers 2^k consecutive residues.
  std::vector<Vec> pieces = {acc};
  while ((2 << (pieces.size() - 1)) <= n) {
    const Vec& last = pieces.back();
    const int span = 1 << (pieces.size() - 1);
    ASSIGN_OR_RETURN(Vec rotated, Ops(c).Shift(Opcode::kRotate, last, span, Other(last.side)));
    ASSIGN_OR_RETURN(Vec next, Op(c, op, {last, rotated}, Other(last.side)));
    pieces.push_back(next);
  }
  Vec result;
  bool have = false;
  int offset = 0;
  for (int k = static_cast<int>(pieces.size()) - 1; k >= 0; --k) {
    if ((n & (1 << k)) == 0) continue;
    Vec piece = pieces[k];
    if (offset > 0) {
      ASSIGN_OR_RETURN(piece, Ops(c).Shift(Opcode::kRotate, piece, offset, Other(piece.side)));
    }
    if (have) {
      ASSIGN_OR_RETURN(result, Op(c, op, {result, piece}, Other(result.side)));
    } else {
      result = piece;
      have = true;
    }
    offset += 1 << k;
  }
  return result;
}

absl::StatusOr<Vec> StepLowering::Reduce(ChipState& c, Opcode op, const std::vector<Vec>& vectors) {
  Vec acc = vectors[0];
  for (size_t k = 1; k < vectors.size(); ++k) {
    ASSIGN_OR_RETURN(acc, Op(c, op, {acc, vectors[k]}, Other(acc.side)));
  }
  return AllLanes(c, op, acc);
}

absl::StatusOr<std::vector<Vec>> StepLowering::RmsNorm(ChipState& c, const std::vector<Vec>& x,
                                                       const std::vector<Vec>& weight) {
  std::vector<Vec> squares;
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec square, Op(c, Opcode::kMul, {v, v}, Other(v.side)));
    squares.push_back(square);
  }
  ASSIGN_OR_RETURN(Vec total, Reduce(c, Opcode::kAdd, squares));
  ASSIGN_OR_RETURN(Vec inverse_n,
                   Splat(c, 1.0f / static_cast<float>(config_.hidden_size()), Other(total.side)));
  ASSIGN_OR_RETURN(Vec mean, Op(c, Opcode::kMul, {total, inverse_n}, Other(total.side)));
  ASSIGN_OR_RETURN(Vec epsilon,
                   Splat(c, static_cast<float>(config_.norm_epsilon()), Other(mean.side)));
  ASSIGN_OR_RETURN(Vec shifted, Op(c, Opcode::kAdd, {mean, epsilon}, Other(mean.side)));
  ASSIGN_OR_RETURN(Vec inverse, Op(c, Opcode::kRsqrt, {shifted}, Other(shifted.side)));
  std::vector<Vec> y;
  for (size_t k = 0; k < x.size(); ++k) {
    ASSIGN_OR_RETURN(Vec scaled, Op(c, Opcode::kMul, {x[k], inverse}, Other(weight[k].side)));
    ASSIGN_OR_RETURN(Vec out, Op(c, Opcode::kMul, {scaled, weight[k]}, Other(weight[k].side)));
    y.push_back(out);
  }
  return y;
}

absl::StatusOr<Vec> StepLowering::LargestMagnitude(ChipState& c, const std::vector<Vec>& x) {
  std::vector<Vec> magnitudes;
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec m, Op(c, Opcode::kAbs, {v}, Other(v.side)));
    magnitudes.push_back(m);
  }
  return Reduce(c, Opcode::kMax, magnitudes);
}

absl::StatusOr<StepLowering::Quantized> StepLowering::Quantize(ChipState& c, const std::vector<Vec>& x,
                                                               bool west, bool east) {
  ASSIGN_OR_RETURN(Vec largest, LargestMagnitude(c, x));
  return QuantizeWith(c, x, largest, west, east);
}

absl::StatusOr<StepLowering::Quantized> StepLowering::QuantizeWith(ChipState& c, const std::vector<Vec>& x,
                                                                   const Vec& largest, bool west,
                                                                   bool east) {
  Quantized out;
  const Side s = Other(largest.side);
  ASSIGN_OR_RETURN(Vec zero, Splat(c, 0.0f, s));
  ASSIGN_OR_RETURN(Vec one, Splat(c, 1.0f, Other(largest.side)));
  ASSIGN_OR_RETURN(Vec is_zero, Op(c, Opcode::kCmpEq, {largest, zero}, s));
  ASSIGN_OR_RETURN(Vec reciprocal, Op(c, Opcode::kRecip, {largest}, Other(s)));
  ASSIGN_OR_RETURN(Vec k127, Splat(c, 127.0f, s));
  ASSIGN_OR_RETURN(Vec ratio_raw, Op(c, Opcode::kMul, {k127, reciprocal}, s));
  ASSIGN_OR_RETURN(Vec ratio, Op(c, Opcode::kSelect, {one, ratio_raw, is_zero}, Other(s)));
  ASSIGN_OR_RETURN(Vec inverse127, Splat(c, 1.0f / 127.0f, s));
  ASSIGN_OR_RETURN(Vec scale_raw, Op(c, Opcode::kMul, {largest, inverse127}, Other(s)));
  ASSIGN_OR_RETURN(Vec one_again, Splat(c, 1.0f, s));
  ASSIGN_OR_RETURN(out.scale, Op(c, Opcode::kSelect, {one_again, scale_raw, is_zero}, s));
  for (const Vec& v : x) {
    ASSIGN_OR_RETURN(Vec scaled, Op(c, Opcode::kMul, {v, ratio}, Other(v.side)));
    for (int side = 0; side < 2; ++side) {
      if ((side == 0 && !west) || (side == 1 && !east)) continue;
      ASSIGN_OR_RETURN(Vec q, Ops(c).Vxm(Opcode::kConvert, isa::FP32, {scaled}, static_cast<Side>(side),
                                         isa::INT8));
      out.q[side].push_back(q);
    }
  }
  return out;
}

absl::StatusOr<std::vector<Vec>> StepLowering::Products(ChipState& c, const Linear& linear,
                                                        const Quantized& q, const std::vector<Vec>& x) {
  std::vector<Vec> inputs[2] = {q.q[0], q.q[1]};
  if (!int8_) {
    for (const StreamedMatrix& m : linear.sides) {
      const int side = static_cast<int>(m.side);
      for (const Vec& v : x) {
        ASSIGN_OR_RETURN(Vec h, Ops(c).Vxm(Opcode::kConvert, isa::FP32, {v}, m.side, isa::FP16));
        inputs[side].push_back(h);
      }
    }
  }
  std::vector<Vec> y;
  for (const StreamedMatrix& m : linear.sides) {
    ASSIGN_OR_RETURN(std::vector<Vec> part,
                     Ops(c).MatVec(m, inputs[static_cast<int>(m.side)], m.row_tiles, m.column_tiles));
    y.insert(y.end(), part.begin(), part.end());
  }
  return y;
}

absl::StatusOr<std::vector<Vec>> StepLowering::Dequantize(ChipState& c, const Linear& linear,
                                                          const std::vector<Vec>& accumulators,
                                                          const Vec& scale) {
  std::vector<Vec> y;
  for (size_t k = 0; k < accumulators.size(); ++k) {
    const Vec& acc = accumulators[k];
    const Vec& row_scale = linear.scales[k];
    ASSIGN_OR_RETURN(Vec real, Ops(c).Vxm(Opcode::kConvert, isa::INT32, {acc}, Other(acc.side), isa::FP32));
    ASSIGN_OR_RETURN(Vec scaled, Op(c, Opcode::kMul, {real, scale}, Other(row_scale.side)));
    ASSIGN_OR_RETURN(Vec out, Op(c, Opcode::kMul, {scaled, row_scale}, Other(row_scale.side)));
    y.push_back(out);
  }
  return y;
}

absl::StatusOr<std::vector<Vec>> StepLowering::Apply(ChipState& c, const Linear& linear,
                                                     const std::vector<Vec>& x) {
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : linear.sides) needs[static_cast<int>(m.side)] = true;
  Quantized q;
  if (int8_) {
    ASSIGN_OR_RETURN(q, Quantize(c, x, needs[0], needs[1]));
  }
  ASSIGN_OR_RETURN(std::vector<Vec> products, Products(c, linear, q, x));
  if (!int8_) return products;
  return Dequantize(c, linear, products, q.scale);
}

absl::StatusOr<std::vector<std::vector<Vec>>> StepLowering::RowParallel(
    std::vector<ChipState*> group, const std::vector<const Linear*>& linears,
    const std::vector<std::vector<Vec>>& x) {
  const size_t n = group.size();
  std::vector<std::vector<Vec>> partials(n);
  if (!int8_ || n == 1) {
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(partials[r], Apply(*group[r], *linears[r], x[r]));
    }
    return AllReduceStage(group, partials);
  }
  std::vector<std::vector<Vec>> maxima(n);
  for (size_t r = 0; r < n; ++r) {
    ASSIGN_OR_RETURN(Vec m, LargestMagnitude(*group[r], x[r]));
    maxima[r] = {m};
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> largest, AllReduceStage(group, maxima, Opcode::kMax));
  std::vector<Vec> scales(n);
  for (size_t r = 0; r < n; ++r) {
    bool needs[2] = {false, false};
    for (const StreamedMatrix& m : linears[r]->sides) needs[static_cast<int>(m.side)] = true;
    ASSIGN_OR_RETURN(Quantized q, QuantizeWith(*group[r], x[r], largest[r][0], needs[0], needs[1]));
    scales[r] = q.scale;
    ASSIGN_OR_RETURN(partials[r], Products(*group[r], *linears[r], q, x[r]));
  }
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> sums, AllReduceStage(group, partials, Opcode::kAdd, isa::INT32));
  std::vector<std::vector<Vec>> y(n);
  for (size_t r = 0; r < n; ++r) {
    ASSIGN_OR_RETURN(y[r], Dequantize(*group[r], *linears[r], sums[r], scales[r]));
  }
  return y;
}

absl::StatusOr<Vec> StepLowering::Masked(ChipState& c, const Vec& v, int64_t valid, float fill) {
  std::vector<float> mask(lanes_, 0.0f);
  for (int i = 0; i < lanes_ && i < valid; ++i) mask[i] = 1.0f;
  ASSIGN_OR_RETURN(Vec m, Ops(c).ConstantFloat(Other(v.side), mask));
  ASSIGN_OR_RETURN(Vec f, Splat(c, fill, v.side));
  return Op(c, Opcode::kSelect, {v, f, m}, Other(v.side));
}

// Lanes [offset, offset + head_dim) of the packed vectors, moved to lanes
// [0, head_dim) of one vector, other lanes zero.
absl::StatusOr<Vec> StepLowering::ExtractHead(ChipState& c, const std::vector<Vec>& packed,
                                              int64_t offset) {
  const int64_t k = offset / lanes_;
  const int o = static_cast<int>(offset % lanes_);
  Vec head = packed[k];
  if (o > 0) {
    ASSIGN_OR_RETURN(head, Ops(c).Shift(Opcode::kShift, head, -o, Other(head.side)));
  }
  if (o + head_dim_ > lanes_) {
    ASSIGN_OR_RETURN(Vec rest, Ops(c).Shift(Opcode::kShift, packed[k + 1], lanes_ - o, Other(head.side)));
    ASSIGN_OR_RETURN(head, Op(c, Opcode::kAdd, {head, rest}, Other(head.side)));
  }
  if (head_dim_ < lanes_) return Masked(c, head, head_dim_, 0.0f);
  return head;
}

absl::StatusOr<std::vector<Vec>> StepLowering::PackHeads(ChipState& c, const std::vector<Vec>& heads,
                                                         int64_t vectors) {
  std::vector<std::vector<Vec>> parts(vectors);
  for (size_t h = 0; h < heads.size(); ++h) {
    const int64_t offset = static_cast<int64_t>(h) * head_dim_;
    const int64_t k = offset / lanes_;
    const int o = static_cast<int>(offset % lanes_);
    Vec part = heads[h];
    if (o > 0) {
      ASSIGN_OR_RETURN(part, Ops(c).Shift(Opcode::kShift, heads[h], o, Other(heads[h].side)));
    }
    parts[k].push_back(part);
    if (o + head_dim_ > lanes_) {
      ASSIGN_OR_RETURN(Vec rest, Ops(c).Shift(Opcode::kShift, heads[h], o - lanes_, Other(heads[h].side)));
      parts[k + 1].push_back(rest);
    }
  }
  std::vector<Vec> packed;
  for (auto& list : parts) {
    Vec acc = list[0];
    for (size_t i = 1; i < list.size(); ++i) {
      ASSIGN_OR_RETURN(acc, Op(c, Opcode::kAdd, {acc, list[i]}, Other(acc.side)));
    }
    packed.push_back(acc);
  }
  return packed;
}

absl::StatusOr<Vec> StepLowering::Rotary(ChipState& c, const Vec& head, int64_t position) {
  const int64_t half = head_dim_ / 2;
  std::vector<float> cosines(lanes_, 0.0f), sines(lanes_, 0.0f);
  std::vector<int> swap(lanes_, -1);
  for (int64_t j = 0; j < half; ++j) {
    const double angle = static_cast<double>(position) *
                         std::pow(config_.rope_theta(), -2.0 * static_cast<double>(j) /
                                                            static_cast<double>(head_dim_));
    const float cosine = static_cast<float>(std::cos(angle));
    const float sine = static_cast<float>(std::sin(angle));
    cosines[j] = cosines[j + half] = cosine;
    sines[j] = -sine;
    sines[j + half] = sine;
    swap[j] = static_cast<int>(j + half);
    swap[j + half] = static_cast<int>(j);
  }
  ASSIGN_OR_RETURN(Vec cos_vector, Ops(c).ConstantFloat(Other(head.side), cosines));
  ASSIGN_OR_RETURN(Vec swapped, Ops(c).Permute(head, swap, Other(head.side)));
  ASSIGN_OR_RETURN(Vec sin_vector, Ops(c).ConstantFloat(Other(swapped.side), sines));
  ASSIGN_OR_RETURN(Vec direct, Op(c, Opcode::kMul, {head, cos_vector}, head.side));
  ASSIGN_OR_RETURN(Vec crossed, Op(c, Opcode::kMul, {swapped, sin_vector}, Other(head.side)));
  return Op(c, Opcode::kAdd, {direct, crossed}, Other(head.side));
}

absl::StatusOr<Vec> StepLowering::Broadcast(ChipState& c, const Vec& v, int lane, Side side) {
  return Ops(c).Permute(v, std::vector<int>(lanes_, lane), side);
}

absl::StatusOr<std::vector<Vec>> StepLowering::Embed(ChipState& c) {
  std::vector<Vec> onehot;
  const int64_t vectors = CeilDiv(c.vocab_local, lanes_);
  for (int64_t k = 0; k < vectors; ++k) {
    std::vector<float> ids(lanes_, -1.0f);
    for (int i = 0; i < lanes_ && k * lanes_ + i < c.vocab_local; ++i) {
      ids[i] = static_cast<float>(c.vocab_first + k * lanes_ + i);
    }
    ASSIGN_OR_RETURN(Vec id_vector, Ops(c).ConstantFloat(Side::kEast, ids));
    ASSIGN_OR_RETURN(Vec hot, Op(c, Opcode::kCmpEq, {id_vector, c.token}, Side::kEast));
    onehot.push_back(hot);
  }
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : c.embedding.sides) needs[static_cast<int>(m.side)] = true;
  std::vector<Vec> inputs[2];
  for (const Vec& hot : onehot) {
    for (int side = 0; side < 2; ++side) {
      if (!needs[side]) continue;
      ASSIGN_OR_RETURN(Vec in, Ops(c).Vxm(Opcode::kConvert, isa::FP32, {hot}, static_cast<Side>(side),
                                          int8_ ? isa::INT8 : isa::FP16));
      inputs[side].push_back(in);
    }
  }
  Vec token_scale;
  if (int8_) {
    std::vector<Vec> picked;
    for (size_t k = 0; k < onehot.size(); ++k) {
      ASSIGN_OR_RETURN(Vec p, Op(c, Opcode::kMul, {onehot[k], c.embedding_scales[k]}, Side::kWest));
      picked.push_back(p);
    }
    ASSIGN_OR_RETURN(token_scale, Reduce(c, Opcode::kAdd, picked));
  }
  std::vector<Vec> x;
  for (const StreamedMatrix& m : c.embedding.sides) {
    ASSIGN_OR_RETURN(std::vector<Vec> part,
                     Ops(c).MatVec(m, inputs[static_cast<int>(m.side)], m.row_tiles, m.column_tiles));
    for (const Vec& acc : part) {
      if (!int8_) {
        x.push_back(acc);
        continue;
      }
      ASSIGN_OR_RETURN(Vec real, Ops(c).Vxm(Opcode::kConvert, isa::INT32, {acc}, Other(acc.side), isa::FP32));
      ASSIGN_OR_RETURN(Vec row, Op(c, Opcode::kMul, {real, token_scale}, Other(real.side)));
      x.push_back(row);
    }
  }
  return x;
}

absl::Status StepLowering::AppendToCache(ChipState& c, ChipState::Cache& cache, const Vec& key,
                                         const Vec& value, int64_t position) {
  VectorOps& o = Ops(c);
  const int64_t tile = position / lanes_;
  const int lane = static_cast<int>(position % lanes_);
  const Vec key_row = o.MatrixRow(cache.keys, position);
  Vec stored_value;
  if (int8_) {
    std::vector<float> onehot(lanes_, 0.0f);
    onehot[lane] = 1.0f;
    ASSIGN_OR_RETURN(Quantized qk, Quantize(c, {key}, true, false));
    RETURN_IF_ERROR(o.CopyInto(qk.q[0][0], key_row));
    ASSIGN_OR_RETURN(Vec hot, o.ConstantFloat(Side::kWest, onehot));
    const Vec& key_scales = cache.key_scales[tile];
    ASSIGN_OR_RETURN(Vec ks, Op(c, Opcode::kSelect, {qk.scale, key_scales, hot}, Other(key_scales.side)));
    RETURN_IF_ERROR(o.CopyInto(ks, key_scales));
    ASSIGN_OR_RETURN(Quantized qv, Quantize(c, {value}, false, true));
    stored_value = qv.q[1][0];
    const Vec& value_scales = cache.value_scales[tile];
    ASSIGN_OR_RETURN(Vec vs, Op(c, Opcode::kSelect, {qv.scale, value_scales, hot}, Other(value_scales.side)));
    RETURN_IF_ERROR(o.CopyInto(vs, value_scales));
  } else {
    ASSIGN_OR_RETURN(Vec k16, o.Vxm(Opcode::kConvert, isa::FP32, {key}, Side::kWest, isa::FP16));
    RETURN_IF_ERROR(o.CopyInto(k16, key_row));
    ASSIGN_OR_RETURN(stored_value, o.Vxm(Opcode::kConvert, isa::FP32, {value}, Side::kEast, isa::FP16));
  }
  // Value dimension i goes to lane `lane` of row i of the transposed cache
  // (whose lane is zero until now).
  for (int64_t i = 0; i < head_dim_; ++i) {
    std::vector<int> map(lanes_, -1);
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

absl::StatusOr<Vec> StepLowering::AttendHead(ChipState& c, ChipState::Cache& cache, const Vec& query,
                                             int64_t tokens) {
  VectorOps& o = Ops(c);
  const int tiles = static_cast<int>(CeilDiv(tokens, lanes_));
  ASSIGN_OR_RETURN(Vec inverse_root,
                   Splat(c, 1.0f / std::sqrt(static_cast<float>(head_dim_)), Side::kEast));
  std::vector<Vec> scores;
  if (int8_) {
    ASSIGN_OR_RETURN(Quantized qq, Quantize(c, {query}, true, false));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.keys, qq.q[0], tiles, 1));
    for (int k = 0; k < tiles; ++k) {
      ASSIGN_OR_RETURN(Vec real, o.Vxm(Opcode::kConvert, isa::INT32, {acc[k]}, Side::kEast, isa::FP32));
      ASSIGN_OR_RETURN(Vec a, Op(c, Opcode::kMul, {real, qq.scale}, Side::kWest));
      ASSIGN_OR_RETURN(Vec b, Op(c, Opcode::kMul, {a, cache.key_scales[k]}, Side::kWest));
      ASSIGN_OR_RETURN(Vec s, Op(c, Opcode::kMul, {b, inverse_root}, Side::kWest));
      scores.push_back(s);
    }
  } else {
    ASSIGN_OR_RETURN(Vec q16, o.Vxm(Opcode::kConvert, isa::FP32, {query}, Side::kWest, isa::FP16));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.keys, {q16}, tiles, 1));
    for (int k = 0; k < tiles; ++k) {
      ASSIGN_OR_RETURN(Vec s, Op(c, Opcode::kMul, {acc[k], inverse_root}, Side::kWest));
      scores.push_back(s);
    }
  }
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(scores[k], Masked(c, scores[k], tokens - static_cast<int64_t>(k) * lanes_, -kInfinity));
  }
  ASSIGN_OR_RETURN(Vec largest, Reduce(c, Opcode::kMax, scores));
  std::vector<Vec> exps;
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(Vec shifted, Op(c, Opcode::kSub, {scores[k], largest}, Other(scores[k].side)));
    ASSIGN_OR_RETURN(Vec e, Op(c, Opcode::kExp, {shifted}, Other(shifted.side)));
    ASSIGN_OR_RETURN(e, Masked(c, e, tokens - static_cast<int64_t>(k) * lanes_, 0.0f));
    exps.push_back(e);
  }
  ASSIGN_OR_RETURN(Vec total, Reduce(c, Opcode::kAdd, exps));
  ASSIGN_OR_RETURN(Vec inverse, Op(c, Opcode::kRecip, {total}, Other(total.side)));
  std::vector<Vec> probabilities;
  for (int k = 0; k < tiles; ++k) {
    ASSIGN_OR_RETURN(Vec p, Op(c, Opcode::kMul, {exps[k], inverse}, Other(exps[k].side)));
    if (int8_) {
      ASSIGN_OR_RETURN(p, Op(c, Opcode::kMul, {p, cache.value_scales[k]}, Other(p.side)));
    }
    probabilities.push_back(p);
  }
  if (int8_) {
    ASSIGN_OR_RETURN(Quantized qp, Quantize(c, probabilities, false, true));
    ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.values, qp.q[1], 1, tiles));
    ASSIGN_OR_RETURN(Vec real, o.Vxm(Opcode::kConvert, isa::INT32, {acc[0]}, Side::kWest, isa::FP32));
    return Op(c, Opcode::kMul, {real, qp.scale}, Side::kEast);
  }
  std::vector<Vec> p16;
  for (const Vec& p : probabilities) {
    ASSIGN_OR_RETURN(Vec h, o.Vxm(Opcode::kConvert, isa::FP32, {p}, Side::kEast, isa::FP16));
    p16.push_back(h);
  }
  ASSIGN_OR_RETURN(std::vector<Vec> acc, o.MatVec(cache.values, p16, 1, tiles));
  return acc[0];
}

absl::StatusOr<std::vector<Vec>> StepLowering::Attention(ChipState& c, ChipState::Layer& layer,
                                                         const std::vector<Vec>& x, int64_t position) {
  ASSIGN_OR_RETURN(std::vector<Vec> h, RmsNorm(c, x, layer.attention_norm));
  ASSIGN_OR_RETURN(std::vector<Vec> q, Apply(c, layer.q, h));
  ASSIGN_OR_RETURN(std::vector<Vec> k, Apply(c, layer.k, h));
  ASSIGN_OR_RETURN(std::vector<Vec> v, Apply(c, layer.v, h));
  for (int j = 0; j < LocalKvHeads(); ++j) {
    ASSIGN_OR_RETURN(Vec key, ExtractHead(c, k, j * head_dim_));
    ASSIGN_OR_RETURN(key, Rotary(c, key, position));
    ASSIGN_OR_RETURN(Vec value, ExtractHead(c, v, j * head_dim_));
    RETURN_IF_ERROR(AppendToCache(c, layer.caches[j], key, value, position));
  }
  const int64_t group = config_.heads() / config_.kv_heads();
  const int64_t first_head = static_cast<int64_t>(c.rank) * LocalHeads();
  const int64_t first_kv = first_head / group;
  std::vector<Vec> outs;
  for (int head = 0; head < LocalHeads(); ++head) {
    ASSIGN_OR_RETURN(Vec query, ExtractHead(c, q, head * head_dim_));
    ASSIGN_OR_RETURN(query, Rotary(c, query, position));
    const int64_t kv = (first_head + head) / group - first_kv;
    ASSIGN_OR_RETURN(Vec out, AttendHead(c, layer.caches[kv], query, position + 1));
    outs.push_back(out);
  }
  return PackHeads(c, outs, CeilDiv(LocalHeads() * head_dim_, lanes_));
}

absl::StatusOr<std::vector<Vec>> StepLowering::ExpertHidden(ChipState& c, ChipState::Layer& layer,
                                                            int expert, const std::vector<Vec>& h) {
  ASSIGN_OR_RETURN(std::vector<Vec> gate, Apply(c, layer.gate[expert], h));
  ASSIGN_OR_RETURN(std::vector<Vec> up, Apply(c, layer.up[expert], h));
  std::vector<Vec> hidden;
  for (size_t k = 0; k < gate.size(); ++k) {
    const Vec& g = gate[k];
    ASSIGN_OR_RETURN(Vec negated, Op(c, Opcode::kNeg, {g}, Other(g.side)));
    ASSIGN_OR_RETURN(Vec e, Op(c, Opcode::kExp, {negated}, Other(negated.side)));
    ASSIGN_OR_RETURN(Vec one, Splat(c, 1.0f, Other(e.side)));
    ASSIGN_OR_RETURN(Vec denominator, Op(c, Opcode::kAdd, {e, one}, Other(e.side)));
    ASSIGN_OR_RETURN(Vec inverse, Op(c, Opcode::kRecip, {denominator}, Other(denominator.side)));
    ASSIGN_OR_RETURN(Vec silu, Op(c, Opcode::kMul, {g, inverse}, Other(up[k].side)));
    ASSIGN_OR_RETURN(Vec product, Op(c, Opcode::kMul, {silu, up[k]}, Other(up[k].side)));
    hidden.push_back(product);
  }
  return hidden;
}

absl::StatusOr<std::vector<Vec>> StepLowering::Mlp(ChipState& c, ChipState::Layer& layer,
                                                   const std::vector<Vec>& x) {
  ASSIGN_OR_RETURN(std::vector<Vec> h, RmsNorm(c, x, layer.mlp_norm));
  return ExpertHidden(c, layer, 0, h);
}

absl::StatusOr<std::vector<Vec>> StepLowering::MoeWeights(ChipState& c, ChipState::Layer& layer,
                                                          const std::vector<Vec>& h) {
  // Router logits (the router is whole on every chip, so every chip picks the
  // same experts); the top k by repeated argmax, lowest index on ties.
  ASSIGN_OR_RETURN(std::vector<Vec> logits, Apply(c, layer.router, h));
  const int experts = static_cast<int>(config_.experts());
  std::vector<float> ids(lanes_, 0.0f);
  for (int i = 0; i < lanes_; ++i) ids[i] = static_cast<float>(i);
  ASSIGN_OR_RETURN(Vec lane_ids, Ops(c).ConstantFloat(Side::kEast, ids));
  ASSIGN_OR_RETURN(Vec big, Splat(c, static_cast<float>(lanes_), Side::kWest));
  ASSIGN_OR_RETURN(Vec zero, Splat(c, 0.0f, Side::kEast));
  ASSIGN_OR_RETURN(Vec minus_infinity, Splat(c, -kInfinity, Side::kEast));
  ASSIGN_OR_RETURN(Vec remaining, Masked(c, logits[0], experts, -kInfinity));
  std::vector<Vec> picked_values, picked_masks;
  for (int64_t pick = 0; pick < config_.experts_per_token(); ++pick) {
    ASSIGN_OR_RETURN(Vec best, AllLanes(c, Opcode::kMax, remaining));
    ASSIGN_OR_RETURN(Vec at_best, Op(c, Opcode::kCmpEq, {remaining, best}, Side::kWest));
    ASSIGN_OR_RETURN(Vec candidates, Op(c, Opcode::kSelect, {lane_ids, big, at_best}, Side::kEast));
    ASSIGN_OR_RETURN(Vec index, AllLanes(c, Opcode::kMin, candidates));
    ASSIGN_OR_RETURN(Vec mask, Op(c, Opcode::kCmpEq, {lane_ids, index}, Side::kWest));
    ASSIGN_OR_RETURN(remaining, Op(c, Opcode::kSelect, {minus_infinity, remaining, mask}, Side::kWest));
    picked_values.push_back(best);
    picked_masks.push_back(mask);
  }
  // Softmax among the picks, summed in expert order: the picks' weights in
  // their lanes, each weight then spread to every lane.
  Vec gates = zero;
  std::vector<Vec> exps;
  for (size_t k = 0; k < picked_values.size(); ++k) {
    ASSIGN_OR_RETURN(Vec shifted, Op(c, Opcode::kSub, {picked_values[k], picked_values[0]}, Side::kEast));
    ASSIGN_OR_RETURN(Vec e, Op(c, Opcode::kExp, {shifted}, Side::kWest));
    exps.push_back(e);
  }
  // Each pick's exponential at its expert's lane; the sum over experts in
  // expert order, as the reference adds them (zeros for the others are exact).
  for (size_t k = 0; k < exps.size(); ++k) {
    ASSIGN_OR_RETURN(Vec placed, Op(c, Opcode::kSelect, {exps[k], zero, picked_masks[k]}, Side::kWest));
    ASSIGN_OR_RETURN(gates, Op(c, Opcode::kAdd, {gates, placed}, Side::kEast));
  }
  std::vector<Vec> spread;
  for (int e = 0; e < experts; ++e) {
    ASSIGN_OR_RETURN(Vec b, Broadcast(c, gates, e, e % 2 == 0 ? Side::kWest : Side::kEast));
    spread.push_back(b);
  }
  Vec total = spread[0];
  for (int e = 1; e < experts; ++e) {
    ASSIGN_OR_RETURN(total, Op(c, Opcode::kAdd, {total, spread[e]}, Other(total.side)));
  }
  ASSIGN_OR_RETURN(Vec inverse, Op(c, Opcode::kRecip, {total}, Other(total.side)));
  std::vector<Vec> weights;
  for (int e = 0; e < experts; ++e) {
    ASSIGN_OR_RETURN(Vec weight, Op(c, Opcode::kMul, {spread[e], inverse}, Other(spread[e].side)));
    weights.push_back(weight);
  }
  return weights;
}

absl::StatusOr<std::vector<std::vector<Vec>>> StepLowering::Mixture(std::vector<ChipState*> group, int l,
                                                                    const std::vector<std::vector<Vec>>& x) {
  const size_t n = group.size();
  std::vector<std::vector<Vec>> h(n), weights(n), out(n);
  for (size_t r = 0; r < n; ++r) {
    ChipState::Layer& layer = group[r]->layers[l];
    ASSIGN_OR_RETURN(h[r], RmsNorm(*group[r], x[r], layer.mlp_norm));
    ASSIGN_OR_RETURN(weights[r], MoeWeights(*group[r], layer, h[r]));
  }
  // Each expert's output is row-parallel like a dense MLP's (so exact in
  // int8 at any width); every chip then weighs and sums them in expert order.
  for (int e = 0; e < static_cast<int>(config_.experts()); ++e) {
    std::vector<std::vector<Vec>> hidden(n);
    std::vector<const Linear*> downs;
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(hidden[r], ExpertHidden(*group[r], group[r]->layers[l], e, h[r]));
      downs.push_back(&group[r]->layers[l].down[e]);
    }
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> y, RowParallel(group, downs, hidden));
    for (size_t r = 0; r < n; ++r) {
      for (size_t k = 0; k < y[r].size(); ++k) {
        ASSIGN_OR_RETURN(Vec weighted, Op(*group[r], Opcode::kMul, {weights[r][e], y[r][k]}, Other(y[r][k].side)));
        if (e == 0) {
          out[r].push_back(weighted);
        } else {
          ASSIGN_OR_RETURN(out[r][k], Op(*group[r], Opcode::kAdd, {out[r][k], weighted}, Other(out[r][k].side)));
        }
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<Vec>>> StepLowering::AllReduceStage(
    std::vector<ChipState*> group, const std::vector<std::vector<Vec>>& partials, Opcode op,
    isa::ElementType type) {
  const size_t n = group.size();
  if (n == 1) return partials;
  // Reduce-scatter then all-gather: vector k is summed on its owner chip
  // k % n, in chip order, and the owner sends the total to every other chip,
  // so all hold bit-identical totals. Each chip sends (n - 1) / n of its
  // partials twice instead of all of them n - 1 times.
  const size_t count = partials[0].size();
  // received[k][s]: chip s's partial k on its owner.
  std::vector<std::vector<Vec>> received(count, std::vector<Vec>(n));
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    for (size_t s = 0; s < n; ++s) {
      const Vec& v = partials[s][k];
      if (s == owner) {
        received[k][s] = v;
        continue;
      }
      ASSIGN_OR_RETURN(received[k][s], system_.Transfer(group[s]->chip, v, group[owner]->chip, Other(v.side)));
    }
  }
  std::vector<Vec> sums(count);
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    Vec acc = received[k][0];
    for (size_t s = 1; s < n; ++s) {
      ASSIGN_OR_RETURN(acc, Ops(*group[owner]).Vxm(op, type, {acc, received[k][s]}, Other(acc.side)));
    }
    sums[k] = acc;
  }
  std::vector<std::vector<Vec>> totals(n, std::vector<Vec>(count));
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    for (size_t d = 0; d < n; ++d) {
      if (d == owner) {
        totals[d][k] = sums[k];
        continue;
      }
      ASSIGN_OR_RETURN(totals[d][k], system_.Transfer(group[owner]->chip, sums[k], group[d]->chip,
                                                      Other(sums[k].side)));
    }
  }
  return totals;
}

absl::Status StepLowering::Argmax(std::vector<ChipState*> group, const std::vector<std::vector<Vec>>& logits) {
  // Each chip: its best logit and the lowest vocabulary index holding it.
  std::vector<Vec> best(group.size()), index(group.size());
  for (size_t r = 0; r < group.size(); ++r) {
    ChipState& c = *group[r];
    std::vector<Vec> masked, candidates;
    for (size_t k = 0; k < logits[r].size(); ++k) {
      ASSIGN_OR_RETURN(Vec m, Masked(c, logits[r][k], c.vocab_local - static_cast<int64_t>(k) * lanes_,
                                     -kInfinity));
      masked.push_back(m);
    }
    ASSIGN_OR_RETURN(best[r], Reduce(c, Opcode::kMax, masked));
    ASSIGN_OR_RETURN(Vec big, Splat(c, static_cast<float>(config_.vocab_size()), Side::kWest));
    for (size_t k = 0; k < masked.size(); ++k) {
      std::vector<float> ids(lanes_);
      for (int i = 0; i < lanes_; ++i) ids[i] = static_cast<float>(c.vocab_first + k * lanes_ + i);
      ASSIGN_OR_RETURN(Vec id_vector, Ops(c).ConstantFloat(Side::kEast, ids));
      ASSIGN_OR_RETURN(Vec at_best, Op(c, Opcode::kCmpEq, {masked[k], best[r]}, Side::kWest));
      ASSIGN_OR_RETURN(Vec candidate, Op(c, Opcode::kSelect, {id_vector, big, at_best}, Side::kEast));
      candidates.push_back(candidate);
    }
    ASSIGN_OR_RETURN(index[r], Reduce(c, Opcode::kMin, candidates));
  }
  // Every chip of the group combines all chips' pairs in chip order (a later
  // chip wins only with a strictly larger logit: lowest index on ties), and
  // each stage-0 chip of the same rank gets the token.
  const std::vector<ChipState>& first_stage = stages_.front();
  for (size_t d = 0; d < group.size(); ++d) {
    ChipState& c = *group[d];
    Vec best_value = best[d], best_index = index[d];
    auto fetch = [&](size_t s, const Vec& v) -> absl::StatusOr<Vec> {
      if (s == d) return v;
      return system_.Transfer(group[s]->chip, v, c.chip, Other(v.side));
    };
    ASSIGN_OR_RETURN(Vec value, fetch(0, best[0]));
    ASSIGN_OR_RETURN(Vec idx, fetch(0, index[0]));
    best_value = value;
    best_index = idx;
    for (size_t s = 1; s < group.size(); ++s) {
      ASSIGN_OR_RETURN(Vec other_value, fetch(s, best[s]));
      ASSIGN_OR_RETURN(Vec other_index, fetch(s, index[s]));
      ASSIGN_OR_RETURN(Vec larger, Op(c, Opcode::kCmpLt, {best_value, other_value}, Side::kWest));
      ASSIGN_OR_RETURN(best_value, Op(c, Opcode::kSelect, {other_value, best_value, larger}, Side::kEast));
      ASSIGN_OR_RETURN(best_index, Op(c, Opcode::kSelect, {other_index, best_index, larger}, Side::kEast));
    }
    const ChipState& target = first_stage[d];
    if (target.chip == c.chip) {
      RETURN_IF_ERROR(Ops(c).CopyInto(best_index, c.token));
    } else {
      RETURN_IF_ERROR(system_.Transfer(c.chip, best_index, target.chip, target.token));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StageFootprint> StepLowering::Footprint(int stage) {
  StageFootprint f;
  f.stage = stage;
  f.layers = partition_.stage_layers[stage];
  for (size_t r = 0; r < partition_.stage_chips[stage].size(); ++r) {
    ChipState c;
    c.chip = partition_.stage_chips[stage][r];
    c.rank = static_cast<int>(r);
    c.stage = stage;
    system_.ops(c.chip).set_allow_overflow(true);
    RETURN_IF_ERROR(Allocate(c));
  }
  const int64_t vector_bytes = lanes_;
  for (int chip_id : partition_.stage_chips[stage]) {
    VectorOps& o = system_.ops(chip_id);
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
    f.activation_capacity = 2 * chip_.mem_addresses() * o.activation_slices_per_side() * vector_bytes;
  }
  return f;
}

absl::StatusOr<CompiledStep> StepLowering::Run(int64_t position, int unit) {
  if (position < 0 || position >= context_) {
    return absl::OutOfRangeError(absl::StrCat("position ", position, " is outside the KV cache of ",
                                              context_, " tokens"));
  }
  const int stage_count = static_cast<int>(partition_.stage_chips.size());
  if (unit >= stage_count) {
    return absl::OutOfRangeError(absl::StrCat("stage ", unit, " of ", stage_count));
  }
  // A stage unit holds its stage, the previous stage (which sends x) and,
  // for the last stage, the first (which receives the token).
  const int first = unit < 0 ? 0 : unit;
  const int last = unit < 0 ? stage_count - 1 : unit;
  std::vector<bool> needed(stage_count, unit < 0);
  if (unit >= 0) {
    needed[unit] = true;
    if (unit > 0) needed[unit - 1] = true;
    if (unit == stage_count - 1) needed[0] = true;
  }
  stages_.resize(stage_count);
  for (int s = 0; s < stage_count; ++s) {
    for (size_t r = 0; r < partition_.stage_chips[s].size(); ++r) {
      ChipState c;
      c.chip = partition_.stage_chips[s][r];
      c.rank = static_cast<int>(r);
      c.stage = s;
      stages_[s].push_back(c);
    }
    if (!needed[s]) continue;
    for (ChipState& c : stages_[s]) RETURN_IF_ERROR(Allocate(c));
  }
  CompiledStep step;
  for (const ChipState& c : stages_[0]) step.token_slots.push_back({c.chip, c.token});
  for (const auto& stage : stages_) {
    for (const ChipState& c : stage) {
      for (int p = 0; p < 4; ++p) step.persistent.push_back({c.chip, c.token.slices[p], c.token.address, 1});
      for (const ChipState::Layer& layer : c.layers) {
        for (const ChipState::Cache& cache : layer.caches) {
          for (const StreamedMatrix* m : {&cache.keys, &cache.values}) {
            const int64_t addresses = static_cast<int64_t>(m->row_tiles) * m->column_tiles * m->loads;
            if (m->places != nullptr) {
              // A spread cache: each tile's streams where they lie.
              for (const StreamPlace& place : *m->places) {
                step.persistent.push_back({c.chip, place.slice, place.address, m->loads});
              }
              continue;
            }
            for (int r = 0; r < lanes_; ++r) {
              const Vec row = system_.ops(c.chip).MatrixRow(*m, r);
              for (int p = 0; p < row.planes(); ++p) {
                step.persistent.push_back({c.chip, row.slices[p], m->base, addresses});
              }
            }
          }
          for (const auto* scales : {&cache.key_scales, &cache.value_scales}) {
            for (const Vec& v : *scales) {
              for (int p = 0; p < 4; ++p) step.persistent.push_back({c.chip, v.slices[p], v.address, 1});
            }
          }
        }
      }
    }
  }
  // Duplicate regions (rows sharing a slice) collapse.
  std::sort(step.persistent.begin(), step.persistent.end(), [](const MemoryRegion& a, const MemoryRegion& b) {
    return std::tie(a.chip, a.slice, a.address, a.vectors) < std::tie(b.chip, b.slice, b.address, b.vectors);
  });
  step.persistent.erase(std::unique(step.persistent.begin(), step.persistent.end(),
                                    [](const MemoryRegion& a, const MemoryRegion& b) {
                                      return a.chip == b.chip && a.slice == b.slice &&
                                             a.address == b.address && a.vectors == b.vectors;
                                    }),
                        step.persistent.end());

  // The token through the stages.
  std::vector<std::vector<Vec>> x(stages_[0].size());
  if (first > 0) {
    // The previous stage's residual, there from the unit's start.
    for (size_t r = 0; r < stages_[first - 1].size(); ++r) x[r] = stages_[first - 1][r].residual_out;
  } else {
    std::vector<ChipState*> group;
    std::vector<std::vector<Vec>> partials;
    for (ChipState& c : stages_[0]) {
      group.push_back(&c);
      ASSIGN_OR_RETURN(std::vector<Vec> e, Embed(c));
      partials.push_back(e);
    }
    ASSIGN_OR_RETURN(x, AllReduceStage(group, partials));
  }
  step.embedding_end_cycle = system_.last_cycle();
  for (int s = first; s <= last; ++s) {
    std::vector<ChipState*> group;
    for (ChipState& c : stages_[s]) group.push_back(&c);
    if (s > 0) {
      // Stages meet at a barrier: the handoff starts once the previous stage
      // is done, so stage units compose (DecoderCompiler::CompileStageUnit).
      int64_t done = 0;
      for (const ChipState& c : stages_[s - 1]) done = std::max(done, system_.chip(c.chip).last_cycle());
      for (ChipState& c : stages_[s - 1]) system_.chip(c.chip).set_earliest(done);
      for (size_t r = 0; r < group.size(); ++r) {
        std::vector<Vec> moved;
        for (const Vec& v : x[r]) {
          ASSIGN_OR_RETURN(Vec in, system_.Transfer(stages_[s - 1][r].chip, v, group[r]->chip, v.side));
          moved.push_back(in);
        }
        x[r] = moved;
      }
    }
    for (int l = 0; l < partition_.stage_layers[s]; ++l) {
      for (int sub = 0; sub < 2; ++sub) {
        // Attention and dense MLPs end in a row-parallel projection.
        std::vector<std::vector<Vec>> sums;
        if (sub == 1 && config_.experts() > 0) {
          ASSIGN_OR_RETURN(sums, Mixture(group, l, x));
        } else {
          std::vector<std::vector<Vec>> inputs;
          std::vector<const Linear*> projections;
          for (size_t r = 0; r < group.size(); ++r) {
            ChipState& c = *group[r];
            ASSIGN_OR_RETURN(std::vector<Vec> p, sub == 0 ? Attention(c, c.layers[l], x[r], position)
                                                          : Mlp(c, c.layers[l], x[r]));
            inputs.push_back(p);
            projections.push_back(sub == 0 ? &c.layers[l].o : &c.layers[l].down[0]);
          }
          ASSIGN_OR_RETURN(sums, RowParallel(group, projections, inputs));
        }
        // The stage's last residual lands where the next stage fetches it.
        const bool stage_output = sub == 1 && l + 1 == partition_.stage_layers[s] && s + 1 < stage_count;
        for (size_t r = 0; r < group.size(); ++r) {
          for (size_t k = 0; k < x[r].size(); ++k) {
            if (stage_output) {
              const Vec& out = group[r]->residual_out[k];
              RETURN_IF_ERROR(Ops(*group[r]).VxmInto(Opcode::kAdd, isa::FP32, {x[r][k], sums[r][k]}, out));
              x[r][k] = out;
            } else {
              ASSIGN_OR_RETURN(x[r][k], Op(*group[r], Opcode::kAdd, {x[r][k], sums[r][k]}, Other(x[r][k].side)));
            }
          }
        }
      }
      step.layer_end_cycles.push_back(system_.last_cycle());
    }
    if (s + 1 == stage_count) {
      std::vector<std::vector<Vec>> logits;
      for (size_t r = 0; r < group.size(); ++r) {
        ChipState& c = *group[r];
        ASSIGN_OR_RETURN(std::vector<Vec> h, RmsNorm(c, x[r], c.final_norm));
        ASSIGN_OR_RETURN(std::vector<Vec> y, Apply(c, c.lm_head, h));
        logits.push_back(y);
        step.logits.push_back({c.chip, c.vocab_first, c.vocab_local, y});
      }
      RETURN_IF_ERROR(Argmax(group, logits));
    }
  }
  step.predicted_last_cycle = system_.last_cycle();
  for (const ChipState& c : stages_[last]) {
    step.stage_last_cycle = std::max(step.stage_last_cycle, system_.chip(c.chip).last_cycle());
  }
  step.instructions = system_.instruction_count();
  step.programs = system_.Build();
  return step;
}

}  // namespace

absl::StatusOr<DecoderPartition> EvenPartition(const models::ModelConfig& config, int tensor_parallel,
                                               int stages, int stage_stride) {
  if (tensor_parallel < 1 || stages < 1 || stages > config.layers()) {
    return absl::InvalidArgumentError(absl::StrCat("a partition of ", stages, " stages of ",
                                                   tensor_parallel, " chips for ", config.layers(),
                                                   " layers"));
  }
  if (stage_stride < tensor_parallel) {
    return absl::InvalidArgumentError("stages must not share chips");
  }
  DecoderPartition p;
  p.tensor_parallel = tensor_parallel;
  for (int s = 0; s < stages; ++s) {
    std::vector<int> chips;
    for (int r = 0; r < tensor_parallel; ++r) chips.push_back(s * stage_stride + r);
    p.stage_chips.push_back(chips);
    p.stage_layers.push_back(static_cast<int>(config.layers() / stages +
                                              (s < config.layers() % stages ? 1 : 0)));
  }
  return p;
}

absl::StatusOr<DecoderCompiler> DecoderCompiler::Create(const models::ModelConfig& config,
                                                        const isa::ChipModel& chip,
                                                        const pipeline::SystemModel& system,
                                                        const pipeline::Topology& topology,
                                                        const DecoderPartition& partition,
                                                        const DecoderOptions& options) {
  RETURN_IF_ERROR(models::ValidateModelConfig(config));
  const int tp = partition.tensor_parallel;
  const int64_t head_dim = models::HeadDim(config);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(config.name(), " on ", tp,
                                                   "-way tensor parallelism: ", why));
  };
  RETURN_IF_ERROR(CheckWidth(config, tp));
  if (head_dim > chip.lanes() || head_dim % 2 != 0) {
    return bad(absl::StrCat("head size ", head_dim, " must be even and at most ", chip.lanes()));
  }
  if (config.experts() > chip.lanes()) return bad("more experts than lanes");
  if (partition.stage_chips.size() != partition.stage_layers.size() || partition.stage_chips.empty()) {
    return absl::InvalidArgumentError("a partition needs one layer count per stage");
  }
  int64_t layers = 0;
  for (size_t s = 0; s < partition.stage_chips.size(); ++s) {
    if (static_cast<int>(partition.stage_chips[s].size()) != tp) {
      return absl::InvalidArgumentError(absl::StrCat("stage ", s, " has ", partition.stage_chips[s].size(),
                                                     " chips, not ", tp));
    }
    for (int chip_id : partition.stage_chips[s]) {
      if (chip_id < 0 || chip_id >= topology.chips()) {
        return absl::InvalidArgumentError(absl::StrCat("stage ", s, " uses chip ", chip_id, " of a ",
                                                       topology.chips(), "-chip system"));
      }
    }
    layers += partition.stage_layers[s];
  }
  if (layers != config.layers()) {
    return absl::InvalidArgumentError(absl::StrCat("the stages hold ", layers, " layers; ", config.name(),
                                                   " has ", config.layers()));
  }
  if (options.weights != nullptr && options.weights->format != options.format) {
    return absl::InvalidArgumentError("the weights are in another number format");
  }
  DecoderCompiler compiler;
  compiler.config_ = config;
  compiler.chip_ = &chip;
  compiler.system_ = &system;
  compiler.topology_ = &topology;
  compiler.partition_ = partition;
  compiler.options_ = options;
  compiler.context_ = options.context_tokens > 0 ? options.context_tokens : config.context_tokens();
  compiler.weight_images_ = std::make_shared<std::map<int, std::vector<isa::MemoryImage>>>();
  return compiler;
}

absl::StatusOr<CompiledStep> DecoderCompiler::CompileStep(int64_t position) const {
  StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                        *weight_images_);
  return lowering.Run(position, -1);
}

absl::StatusOr<std::vector<StageFootprint>> DecoderCompiler::Footprints() const {
  std::vector<StageFootprint> footprints;
  for (size_t s = 0; s < partition_.stage_chips.size(); ++s) {
    StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                          *weight_images_);
    ASSIGN_OR_RETURN(StageFootprint f, lowering.Footprint(static_cast<int>(s)));
    footprints.push_back(f);
  }
  return footprints;
}

absl::StatusOr<CompiledStep> DecoderCompiler::CompileStageUnit(int stage, int64_t position) const {
  StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                        *weight_images_);
  return lowering.Run(position, stage);
}

}  // namespace tsp::scheduler
