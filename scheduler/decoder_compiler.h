#ifndef TSP_SCHEDULER_DECODER_COMPILER_H_
#define TSP_SCHEDULER_DECODER_COMPILER_H_

// Compiles one decode step of a Llama-family model (models/) into scheduled
// programs for the chips of a partition: every operator lowered to chip
// instructions (scheduler/lowering/, one file per operator), every instruction and link transfer
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
#include "scheduler/compiled_step.h"
#include "scheduler/decoder_partition.h"
#include "scheduler/lowering/kv_cache_images.h"
#include "scheduler/lowering/weight_allocation.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler {

class DecoderCompiler {
 public:
  static absl::StatusOr<DecoderCompiler> Create(const models::ModelConfig& config, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system, const pipeline::Topology& topology,
                                                const DecoderPartition& partition, const DecoderOptions& options);

  // The step that runs the token at `position` (with `position` tokens already
  // in the KV cache).
  absl::StatusOr<CompiledStep> CompileStep(int64_t position) const;
  // A decode micro-batch: user m's token at positions[m], for users 0 ..
  // positions.size() - 1 (at most DecoderOptions::batch), in one step: each
  // weight tile installed once for all of them, each user's attention over
  // its own cache; member m's token slots and logits are marked m.
  absl::StatusOr<CompiledStep> CompileBatchStep(const std::vector<int64_t>& positions) const;

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

  // Every chip's KV caches (chip -> images) holding tokens [0, tokens) as
  // `stored` gives them, where the steps read them: the SRAM a run that
  // starts at position `tokens` begins with (DecodeSession::StartAt).
  absl::StatusOr<std::map<int, std::vector<SramImage>>> KvCacheImages(int64_t tokens,
                                                                      const lowering::StoredKv& stored) const;

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
  std::shared_ptr<lowering::WeightImages> weight_images_;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_DECODER_COMPILER_H_
