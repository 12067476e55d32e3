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

class ReferenceDecoder {
 public:
  ReferenceDecoder(const ModelConfig& config, NumberFormat format, uint64_t seed);

  // Runs `token` at the next position, appending its K and V to the cache;
  // returns the logits.
  std::vector<float> Step(int64_t token);
  // Runs the prompt, then `count` greedy steps; returns the generated tokens.
  std::vector<int64_t> Generate(const std::vector<int64_t>& prompt, int count);
  int64_t position() const { return position_; }
  const ModelWeights& weights() const { return weights_; }

 private:
  // The cache of one layer: per token, per KV head, K and V as stored.
  struct CachedVector {
    QuantizedVector q;           // int8.
    std::vector<uint16_t> half;  // fp16.
  };
  CachedVector Store(const std::vector<float>& x) const;
  std::vector<float> Mlp(const LayerWeights& layer, const std::vector<float>& h) const;

  ModelConfig config_;
  ModelWeights weights_;
  int64_t position_ = 0;
  // [layer][token][kv head]
  std::vector<std::vector<std::vector<CachedVector>>> keys_, values_;
};

}  // namespace tsp::models

#endif  // TSP_MODELS_REFERENCE_DECODER_H_
