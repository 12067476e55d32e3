#ifndef TSP_SCHEDULER_DECODER_PARTITION_H_
#define TSP_SCHEDULER_DECODER_PARTITION_H_

// What the decoder compiler is asked to compile: which chips run which layers
// and the options of the step (number format, weights, KV room, users).

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.pb.h"
#include "models/reference_decoder.h"
#include "models/reference_ops.h"

namespace tsp::scheduler {

// Which chips run what: stage s runs `stage_layers[s]` consecutive layers on
// the `tensor_parallel` chips `stage_chips[s]` (heads, KV heads, FFN columns
// and vocabulary rows split across them). Stage 0 also embeds the token; the
// last stage also runs the final norm, the LM head and the greedy argmax.
struct DecoderPartition {
  int tensor_parallel = 1;
  std::vector<std::vector<int>> stage_chips;
  std::vector<int> stage_layers;
};

// Stages of whole nodes' chips: `stages` stages of `tensor_parallel` chips,
// layers spread as evenly as possible (earlier stages take the remainder),
// stage s on chips [s * stride, s * stride + tensor_parallel).
absl::StatusOr<DecoderPartition> EvenPartition(const models::ModelConfig& config, int tensor_parallel, int stages,
                                               int stage_stride);

struct DecoderOptions {
  models::NumberFormat format = models::NumberFormat::kInt8;
  // The weights to place in SRAM; null for a timing-only compile (no data).
  const models::ModelWeights* weights = nullptr;
  // Tokens of KV cache each chip holds room for; 0: the model's context.
  int64_t context_tokens = 0;
  // Users whose KV caches each chip holds.
  int64_t users = 1;
  // Users whose tokens a step runs together, users 0 .. batch - 1 (a decode
  // micro-batch): each weight tile installed once for all, each user's
  // attention over its own cache. At most `users`.
  int64_t batch = 1;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_DECODER_PARTITION_H_
