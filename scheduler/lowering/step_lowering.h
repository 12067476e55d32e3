#ifndef TSP_SCHEDULER_LOWERING_STEP_LOWERING_H_
#define TSP_SCHEDULER_LOWERING_STEP_LOWERING_H_

// The decode step lowered from the model's operator graph
// (models::BuildDecodeGraph), stage by stage and operator by operator: each
// operator goes to the lowering pass the pass list (step_lowering.cc) gives
// it, and between passes the step checks what the pass left (every rank's
// result, of the vector count the model's shape says). Between stages, the
// previous stage's residual moves to the next stage's chips at a barrier.

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "models/operator_graph.h"
#include "scheduler/compiled_step.h"
#include "scheduler/decoder_partition.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/kv_cache_images.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"
#include "scheduler/lowering/weight_allocation.h"

namespace tsp::scheduler::lowering {

// Whether the pass list lowers `graph`: every operator a pass reaches is
// claimed by exactly one pass, and every pass's run of operators stays in
// one layer (so in one stage); the error names the operator.
absl::Status CheckPassesCover(const models::OperatorGraph& graph);

class StepLowering {
 public:
  // Requires a partition DecoderCompiler::Create accepted. Use one object
  // per step or unit compiled (it schedules into a fresh system scheduler).
  StepLowering(const models::ModelConfig& config, const isa::ChipModel& chip, const pipeline::SystemModel& system,
               const pipeline::Topology& topology, const DecoderPartition& partition, const DecoderOptions& options,
               int64_t context_tokens, WeightImages& weight_images)
      : ctx_(config, chip, system, topology, partition, options, context_tokens), weight_images_(weight_images) {}

  // The whole step that runs the token at `position` through every stage.
  absl::StatusOr<CompiledStep> LowerStep(int64_t position);
  // Stage `stage`'s unit of that step (DecoderCompiler::CompileStageUnit).
  absl::StatusOr<CompiledStep> LowerStageUnit(int stage, int64_t position);
  // The same for a micro-batch: user m's token at positions[m] (at most
  // DecoderOptions::batch users), each weight tile installed once for all.
  absl::StatusOr<CompiledStep> LowerBatchStep(const std::vector<int64_t>& positions);
  absl::StatusOr<CompiledStep> LowerBatchStageUnit(int stage, const std::vector<int64_t>& positions);
  // What the stage's chips keep in SRAM (DecoderCompiler::Footprints).
  absl::StatusOr<StageFootprint> Footprint(int stage);
  // Every chip's KV caches holding tokens [0, tokens) (DecoderCompiler::KvCacheImages).
  absl::StatusOr<std::map<int, std::vector<SramImage>>> CacheImages(int64_t tokens, const StoredKv& stored);

 private:
  // The members' tokens: user m's at positions[m].
  absl::Status SetMembers(const std::vector<int64_t>& positions);
  // Stages [first_stage, last_stage] for members_; `whole_step` allocates every stage.
  absl::StatusOr<CompiledStep> Lower(int first_stage, int last_stage, bool whole_step);
  // Lays out the residents of every chip of the stages `needed` says (the
  // others get only their chip, rank and stage).
  absl::Status AllocateStages(const std::vector<bool>& needed);

  LoweringContext ctx_;
  WeightImages& weight_images_;
  std::vector<std::vector<ChipResidents>> stages_;
  std::vector<Member> members_;
};

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_STEP_LOWERING_H_
