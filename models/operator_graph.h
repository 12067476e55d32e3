#ifndef TSP_MODELS_OPERATOR_GRAPH_H_
#define TSP_MODELS_OPERATOR_GRAPH_H_

// The operators of one decode step (one new token after `kv_length` cached
// ones) or of one prefill chunk (P tokens after `kv_length` cached ones), in
// execution order, with the sizes a partitioner and scheduler need: weights
// resident and read, multiply-accumulates, KV cache read and written.
// Element counts, not bytes: the number format decides bytes per element.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.pb.h"

namespace tsp::models {

enum class OpKind {
  kEmbedding,    // Row lookup: tokens x hidden from vocab x hidden.
  kRmsNorm,      // Over hidden, with a weight vector.
  kMatMul,       // tokens x in -> tokens x out with an out x in weight.
  kRotary,       // Rotary embedding of Q and K at the tokens' positions.
  kAttention,    // Grouped-query attention over the KV cache (scores, softmax, values).
  kResidualAdd,
  kSwiGlu,       // silu(gate) * up, elementwise over ffn.
  kRouter,       // Top-k of the experts' router logits, softmax of the chosen.
  kArgmax,       // Greedy sampling over the vocabulary.
};

const char* OpKindName(OpKind kind);

// The weight tensor an operator reads, if any (per layer for the layers' ones).
enum class WeightKind {
  kNone,
  kEmbedding,
  kAttentionNorm,
  kQ,
  kK,
  kV,
  kO,
  kMlpNorm,
  kRouter,
  kGate,
  kUp,
  kDown,
  kFinalNorm,
  kLmHead,
};

struct Operator {
  OpKind kind;
  std::string name;          // "layer 3 q_proj", "lm_head", ...
  int layer = -1;            // -1 outside the decoder layers.
  int64_t tokens = 0;        // Rows processed.
  int64_t in_features = 0;   // MatMul: weight columns; others: vector length.
  int64_t out_features = 0;  // MatMul: weight rows.
  int64_t weight_elements_resident = 0;  // Must be in SRAM (all experts).
  int64_t weight_elements_read = 0;      // Read for these tokens (chosen experts).
  int64_t macs = 0;
  int64_t kv_elements_read = 0;
  int64_t kv_elements_written = 0;
  int64_t experts = 0;  // MatMul of a mixture: experts this weight stands for.
  WeightKind weight = WeightKind::kNone;
  // The operators whose results this one reads (indices into
  // OperatorGraph::ops, earlier ones), in operand order: the residual stream
  // first where it is an operand. The embedding reads the token alone.
  std::vector<int> inputs;
};

struct OperatorGraph {
  std::vector<Operator> ops;
  int64_t tokens = 0;
  int64_t kv_length = 0;  // Cached tokens before these.
  int64_t WeightElementsResident() const;
  int64_t WeightElementsRead() const;
  int64_t Macs() const;
  int64_t KvElementsRead() const;
};

// Requires a valid config (ValidateModelConfig). Errors when prompt_tokens <
// 1 or kv_length < 0, or when the counts would not fit in 64 bits.
absl::StatusOr<OperatorGraph> BuildDecodeGraph(const ModelConfig& config, int64_t kv_length);
absl::StatusOr<OperatorGraph> BuildPrefillGraph(const ModelConfig& config, int64_t prompt_tokens,
                                                int64_t kv_length = 0);

// All parameters: embedding, layers (attention, MLP or experts and router,
// norms), final norm, LM head.
int64_t ParameterCount(const ModelConfig& config);

// KV cache elements per token over all layers (K and V).
int64_t KvElementsPerToken(const ModelConfig& config);

}  // namespace tsp::models

#endif  // TSP_MODELS_OPERATOR_GRAPH_H_
