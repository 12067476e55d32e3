#ifndef TSP_SCHEDULER_DECODER_COMPILER_H_
#define TSP_SCHEDULER_DECODER_COMPILER_H_

// Compiles one decode step of a Llama-family model (models/) into scheduled
// programs for the chips of a partition: every operator lowered to chip
// instructions (scheduler/README.md), every instruction and link transfer
// given its cycle by the SystemScheduler, and the step's predicted last event
// cycle returned beside the programs. The step runs the token in each stage's
// token slot; the last stage writes the greedy next token into the first
// stage's token slot, so step programs run back to back on the SRAM they
// leave behind (the KV cache and the token slot are that state).

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "isa/program.pb.h"
#include "models/model_config.pb.h"
#include "models/reference_decoder.h"
#include "models/reference_ops.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/vector_ops.h"

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
absl::StatusOr<DecoderPartition> EvenPartition(const models::ModelConfig& config, int tensor_parallel,
                                               int stages, int stage_stride);

struct DecoderOptions {
  models::NumberFormat format = models::NumberFormat::kInt8;
  // The weights to place in SRAM; null for a timing-only compile (no data).
  const models::ModelWeights* weights = nullptr;
  // Tokens of KV cache each chip holds room for; 0: the model's context.
  int64_t context_tokens = 0;
  // Users whose KV caches each chip holds (a step runs user 0's token).
  int64_t users = 1;
};

// SRAM one chip of a stage needs, from the compiler's own allocation.
struct StageFootprint {
  int stage = 0;
  int layers = 0;
  // Matrices and KV caches, in the streamed-matrix slices: addresses used on
  // each side, and bytes as twice the fuller side (the sides are equal).
  int64_t weight_addresses[2] = {0, 0};
  int64_t weight_bytes = 0;
  // The weight slices and, when matrices spread, the activation slices above
  // the addresses kept for activations (VectorOps::activation_reserve()).
  int64_t weight_capacity = 0;
  // Whether matrices spread over the activation slices (they exceed the
  // weight slices), and the bytes of tiles that found no room even so.
  bool spread = false;
  int64_t weight_unplaced_bytes = 0;
  int64_t activation_bytes = 0;  // Vectors (constants, activations), in the other slices.
  int64_t activation_capacity = 0;
  int64_t bytes_short() const {
    return std::max({int64_t{0}, weight_bytes - weight_capacity, weight_unplaced_bytes}) +
           std::max<int64_t>(0, activation_bytes - activation_capacity);
  }
};

// Vectors of SRAM that a step leaves for the next one.
struct MemoryRegion {
  int chip = 0;
  int slice = 0;
  int64_t address = 0;
  int64_t vectors = 0;
};

struct LogitsShard {
  int chip = 0;
  int64_t first_token = 0;  // Vocabulary index of lane 0 of vectors[0].
  int64_t tokens = 0;
  std::vector<Vec> vectors;  // fp32, 320 tokens each.
};

struct CompiledStep {
  isa::ChipPrograms programs;
  int64_t predicted_last_cycle = 0;
  int64_t instructions = 0;  // Scheduled instructions (a Repeat counts once).
  std::vector<MemoryRegion> persistent;    // KV caches and token slots.
  std::vector<std::pair<int, Vec>> token_slots;  // (chip, fp32 slot) of stage 0.
  std::vector<LogitsShard> logits;
  // Per layer (in model order): the cycle by which its last result landed.
  // The first entry's predecessor is `embedding_end_cycle`.
  int64_t embedding_end_cycle = 0;
  std::vector<int64_t> layer_end_cycles;
  // Stage units: the last cycle of the unit's own stage's chips (the
  // previous stage's chips send, the first stage's may receive the token).
  int64_t stage_last_cycle = 0;
};

class DecoderCompiler {
 public:
  static absl::StatusOr<DecoderCompiler> Create(const models::ModelConfig& config,
                                                const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology,
                                                const DecoderPartition& partition,
                                                const DecoderOptions& options);

  // The step that runs the token at `position` (with `position` tokens already
  // in the KV cache).
  absl::StatusOr<CompiledStep> CompileStep(int64_t position) const;

  // One stage's share of the step at `position`, as its own system program:
  // the previous stage's chips send their residual (there from cycle 0), the
  // stage runs its layers (the last stage also the LM head, the argmax and
  // the token's return to the first stage). The step is these units in
  // sequence: a stage starts only once the previous one is done (a barrier
  // the whole-step schedule keeps too), so the step's cycles are the sum of
  // the units' and each unit is checked by emulating it alone.
  absl::StatusOr<CompiledStep> CompileStageUnit(int stage, int64_t position) const;

  // What each stage's chips keep in SRAM (the largest of its ranks):
  // weights, KV caches and constants; a step's activations come on top and
  // are checked when it is compiled.
  absl::StatusOr<std::vector<StageFootprint>> Footprints() const;

  const DecoderPartition& partition() const { return partition_; }
  int64_t context_tokens() const { return context_; }

 private:
  DecoderCompiler() = default;

  models::ModelConfig config_;
  const isa::ChipModel* chip_ = nullptr;
  const pipeline::SystemModel* system_ = nullptr;
  const pipeline::Topology* topology_ = nullptr;
  DecoderPartition partition_;
  DecoderOptions options_;
  int64_t context_ = 0;
  // Weight images per chip, laid out once and reused by every step (their
  // addresses do not depend on the position).
  std::shared_ptr<std::map<int, std::vector<isa::MemoryImage>>> weight_images_;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_DECODER_COMPILER_H_
