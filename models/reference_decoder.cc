#include "models/reference_decoder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "emulator/kernels/random.h"
#include "models/model_registry.h"

namespace tsp::models {
namespace {

class TensorSource {
 public:
  explicit TensorSource(uint64_t seed) : seed_(seed) {}
  kernels::SplitMix64 Next() { return kernels::SplitMix64(seed_ * 0x9E3779B97F4A7C15ull + ++tensor_); }

 private:
  uint64_t seed_;
  uint64_t tensor_ = 0;
};

double Unit(kernels::SplitMix64& random) {
  return static_cast<double>(random.Next() >> 11) / 9007199254740992.0;
}

Matrix MakeMatrix(TensorSource& source, int64_t out, int64_t in, NumberFormat format, double spread) {
  kernels::SplitMix64 random = source.Next();
  Matrix m;
  m.out = out;
  m.in = in;
  m.q.resize(out * in);
  m.scale.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    m.scale[o] = static_cast<float>(spread * (0.75 + 0.5 * Unit(random)) / 127.0);
    for (int64_t i = 0; i < in; ++i) {
      m.q[o * in + i] = static_cast<int8_t>(static_cast<int64_t>(random.Below(255)) - 127);
    }
  }
  if (format == NumberFormat::kFp16) {
    m.half.resize(out * in);
    for (int64_t o = 0; o < out; ++o) {
      for (int64_t i = 0; i < in; ++i) {
        m.half[o * in + i] = ToFp16Bits(static_cast<float>(m.q[o * in + i]) * m.scale[o]);
      }
    }
    m.q.clear();
    m.scale.clear();
  }
  return m;
}

std::vector<float> MakeNorm(TensorSource& source, int64_t size) {
  kernels::SplitMix64 random = source.Next();
  std::vector<float> weight(size);
  for (float& w : weight) w = static_cast<float>(1.0 + 0.1 * (2.0 * Unit(random) - 1.0));
  return weight;
}

void AddInPlace(std::vector<float>& x, const std::vector<float>& y) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

}  // namespace

ModelWeights SyntheticWeights(const ModelConfig& config, NumberFormat format, uint64_t seed) {
  TensorSource source(seed);
  const int64_t hidden = config.hidden_size();
  const int64_t head_dim = HeadDim(config);
  // Uniform [-1, 1] times sqrt(3 / in) has variance 1 / in: outputs keep the
  // inputs' scale.
  auto spread = [](int64_t in) { return std::sqrt(3.0 / static_cast<double>(in)); };
  ModelWeights weights;
  weights.format = format;
  weights.embedding = MakeMatrix(source, config.vocab_size(), hidden, format, 1.0);
  for (int64_t l = 0; l < config.layers(); ++l) {
    LayerWeights layer;
    layer.attention_norm = MakeNorm(source, hidden);
    layer.q = MakeMatrix(source, config.heads() * head_dim, hidden, format, spread(hidden));
    layer.k = MakeMatrix(source, config.kv_heads() * head_dim, hidden, format, spread(hidden));
    layer.v = MakeMatrix(source, config.kv_heads() * head_dim, hidden, format, spread(hidden));
    layer.o = MakeMatrix(source, hidden, config.heads() * head_dim, format, spread(config.heads() * head_dim));
    layer.mlp_norm = MakeNorm(source, hidden);
    const int64_t experts = std::max<int64_t>(config.experts(), 1);
    if (config.experts() > 0) layer.router = MakeMatrix(source, config.experts(), hidden, format, spread(hidden));
    for (int64_t e = 0; e < experts; ++e) {
      layer.gate.push_back(MakeMatrix(source, config.ffn_size(), hidden, format, spread(hidden)));
      layer.up.push_back(MakeMatrix(source, config.ffn_size(), hidden, format, spread(hidden)));
      layer.down.push_back(MakeMatrix(source, hidden, config.ffn_size(), format, spread(config.ffn_size())));
    }
    weights.layers.push_back(std::move(layer));
  }
  weights.final_norm = MakeNorm(source, hidden);
  weights.lm_head = MakeMatrix(source, config.vocab_size(), hidden, format, spread(hidden));
  return weights;
}

ReferenceDecoder::ReferenceDecoder(const ModelConfig& config, NumberFormat format, uint64_t seed, SumOrder norm_order)
    : config_(config),
      norm_order_(norm_order),
      weights_(SyntheticWeights(config, format, seed)),
      keys_(config.layers()),
      values_(config.layers()) {}

StoredVector ReferenceDecoder::Store(const std::vector<float>& x) const {
  StoredVector stored;
  if (weights_.format == NumberFormat::kInt8) {
    stored.q = QuantizeInt8(x);
  } else {
    for (float value : x) stored.half.push_back(ToFp16Bits(value));
  }
  return stored;
}

std::vector<float> ReferenceDecoder::Mlp(const LayerWeights& layer, const std::vector<float>& h) const {
  const NumberFormat format = weights_.format;
  auto expert = [&](size_t e) {
    std::vector<float> gate = MatVec(layer.gate[e], h, format);
    const std::vector<float> up = MatVec(layer.up[e], h, format);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = Silu(gate[i]) * up[i];
    return MatVec(layer.down[e], gate, format);
  };
  if (config_.experts() == 0) return expert(0);
  const std::vector<float> logits = MatVec(layer.router, h, format);
  std::vector<int64_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  order.resize(config_.experts_per_token());
  std::sort(order.begin(), order.end());  // Sum in expert order.
  float largest = -INFINITY;
  for (int64_t e : order) largest = std::max(largest, logits[e]);
  std::vector<float> p;
  float total = 0.0f;
  for (int64_t e : order) {
    p.push_back(std::exp(logits[e] - largest));
    total += p.back();
  }
  std::vector<float> out(h.size(), 0.0f);
  for (size_t k = 0; k < order.size(); ++k) {
    const std::vector<float> y = expert(order[k]);
    const float weight = p[k] * (1.0f / total);
    for (size_t i = 0; i < out.size(); ++i) out[i] += weight * y[i];
  }
  return out;
}

std::vector<float> ReferenceDecoder::Step(int64_t token) {
  const NumberFormat format = weights_.format;
  const int64_t head_dim = HeadDim(config_);
  const int64_t group = config_.heads() / config_.kv_heads();
  std::vector<float> x = weights_.embedding.Row(token);
  for (int64_t l = 0; l < config_.layers(); ++l) {
    const LayerWeights& layer = weights_.layers[l];
    const std::vector<float> h = RmsNorm(x, layer.attention_norm, config_.norm_epsilon(), norm_order_);
    const std::vector<float> q = MatVec(layer.q, h, format);
    const std::vector<float> k = MatVec(layer.k, h, format);
    const std::vector<float> v = MatVec(layer.v, h, format);
    std::vector<StoredVector> new_keys, new_values;
    for (int64_t g = 0; g < config_.kv_heads(); ++g) {
      std::vector<float> key(k.begin() + g * head_dim, k.begin() + (g + 1) * head_dim);
      Rotary(key, position_, config_.rope_theta());
      new_keys.push_back(Store(key));
      new_values.push_back(Store(std::vector<float>(v.begin() + g * head_dim, v.begin() + (g + 1) * head_dim)));
    }
    keys_[l].push_back(std::move(new_keys));
    values_[l].push_back(std::move(new_values));
    std::vector<float> attention(config_.heads() * head_dim);
    for (int64_t head = 0; head < config_.heads(); ++head) {
      std::vector<float> query(q.begin() + head * head_dim, q.begin() + (head + 1) * head_dim);
      Rotary(query, position_, config_.rope_theta());
      const int64_t g = head / group;
      std::vector<float> out;
      if (format == NumberFormat::kInt8) {
        std::vector<QuantizedVector> cached_keys, cached_values;
        for (size_t t = 0; t < keys_[l].size(); ++t) {
          cached_keys.push_back(keys_[l][t][g].q);
          cached_values.push_back(values_[l][t][g].q);
        }
        out = AttendInt8(query, cached_keys, cached_values);
      } else {
        std::vector<std::vector<uint16_t>> cached_keys, cached_values;
        for (size_t t = 0; t < keys_[l].size(); ++t) {
          cached_keys.push_back(keys_[l][t][g].half);
          cached_values.push_back(values_[l][t][g].half);
        }
        out = AttendFp16(query, cached_keys, cached_values);
      }
      std::copy(out.begin(), out.end(), attention.begin() + head * head_dim);
    }
    AddInPlace(x, MatVec(layer.o, attention, format));
    AddInPlace(x, Mlp(layer, RmsNorm(x, layer.mlp_norm, config_.norm_epsilon(), norm_order_)));
  }
  ++position_;
  return MatVec(weights_.lm_head, RmsNorm(x, weights_.final_norm, config_.norm_epsilon(), norm_order_), format);
}

void ReferenceDecoder::FillCache(int64_t tokens, uint64_t seed) {
  const int64_t head_dim = HeadDim(config_);
  kernels::SplitMix64 random(seed);
  auto draw = [&] {
    std::vector<float> x(head_dim);
    for (float& value : x) value = static_cast<float>(2.0 * Unit(random) - 1.0);
    return Store(x);
  };
  for (int64_t l = 0; l < config_.layers(); ++l) {
    for (int64_t t = 0; t < tokens; ++t) {
      std::vector<StoredVector> new_keys, new_values;
      for (int64_t g = 0; g < config_.kv_heads(); ++g) {
        new_keys.push_back(draw());
        new_values.push_back(draw());
      }
      keys_[l].push_back(std::move(new_keys));
      values_[l].push_back(std::move(new_values));
    }
  }
  position_ += tokens;
}

std::vector<int64_t> ReferenceDecoder::Generate(const std::vector<int64_t>& prompt, int count) {
  std::vector<float> logits;
  for (int64_t token : prompt) logits = Step(token);
  std::vector<int64_t> generated;
  for (int i = 0; i < count; ++i) {
    generated.push_back(Argmax(logits));
    if (i + 1 < count) logits = Step(generated.back());
  }
  return generated;
}

}  // namespace tsp::models
