#ifndef TSP_MODELS_REFERENCE_DECODER_H_
#define TSP_MODELS_REFERENCE_DECODER_H_

// An independent, plain C++ Llama-family decoder with the storage formats and
// quantization rules of models/README.md, over deterministic synthetic
// weights: what compiled programs are checked against.

#include <cstdint>
#include <vector>

#include "models/model_config.pb.h"
#include "models/reference_ops.h"

namespace tsp::models {

struct LayerWeights {
  std::vector<float> attention_norm;
  std::vector<float> mlp_norm;
  Matrix q, k, v, o;
  Matrix router;                         // Mixtures only: experts x hidden.
  std::vector<Matrix> gate, up, down;    // One each when dense, one per expert otherwise.
};

struct ModelWeights {
  NumberFormat format;
  Matrix embedding;  // vocab x hidden.
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;
  Matrix lm_head;    // vocab x hidden.
};

// The same seed gives the same weights on every machine (SplitMix64 per
// tensor). Both formats come from the same int8 draw (fp16 = int8 dequantized).
ModelWeights SyntheticWeights(const ModelConfig& config, NumberFormat format, uint64_t seed);

// One K or V vector of one token and KV head as the cache stores it
// (models/README.md): int8 with its scale, or fp16 bits.
struct StoredVector {
  QuantizedVector q;           // int8.
  std::vector<uint16_t> half;  // fp16.
};

class ReferenceDecoder {
 public:
  // `norm_order`: how RMSNorm adds its squares. Reversed, the decoder is the
  // same model and differs only by fp32 rounding: how far its logits move
  // is what rounding explains (scheduler/logits_tolerance.h).
  ReferenceDecoder(const ModelConfig& config, NumberFormat format, uint64_t seed,
                   SumOrder norm_order = SumOrder::kForward);

  // Runs `token` at the next position, appending its K and V to the cache;
  // returns the logits.
  std::vector<float> Step(int64_t token);
  // Runs the prompt, then `count` greedy steps; returns the generated tokens.
  std::vector<int64_t> Generate(const std::vector<int64_t>& prompt, int count);
  // Appends `tokens` tokens of synthetic keys and values (uniform in
  // [-1, 1], stored as Step stores them) to the cache and moves past them:
  // for checking a step deep in the context without running every step
  // before it.
  void FillCache(int64_t tokens, uint64_t seed);
  int64_t position() const { return position_; }
  const ModelWeights& weights() const { return weights_; }
  // The stored key or value of `token` (< position()) and KV head in `layer`.
  const StoredVector& CachedKey(int layer, int64_t token, int kv_head) const { return keys_[layer][token][kv_head]; }
  const StoredVector& CachedValue(int layer, int64_t token, int kv_head) const {
    return values_[layer][token][kv_head];
  }

 private:
  StoredVector Store(const std::vector<float>& x) const;
  std::vector<float> Mlp(const LayerWeights& layer, const std::vector<float>& h) const;

  ModelConfig config_;
  SumOrder norm_order_;
  ModelWeights weights_;
  int64_t position_ = 0;
  // The cache: [layer][token][kv head], K and V as stored.
  std::vector<std::vector<std::vector<StoredVector>>> keys_, values_;
};

}  // namespace tsp::models

#endif  // TSP_MODELS_REFERENCE_DECODER_H_
