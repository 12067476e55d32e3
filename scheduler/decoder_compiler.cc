#include "scheduler/decoder_compiler.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "scheduler/lowering/step_lowering.h"
#include "scheduler/tensor_parallel_width.h"

namespace tsp::scheduler {

absl::StatusOr<DecoderCompiler> DecoderCompiler::Create(const models::ModelConfig& config, const isa::ChipModel& chip,
                                                        const pipeline::SystemModel& system,
                                                        const pipeline::Topology& topology,
                                                        const DecoderPartition& partition,
                                                        const DecoderOptions& options) {
  RETURN_IF_ERROR(models::ValidateModelConfig(config));
  const int tp = partition.tensor_parallel;
  const int64_t head_dim = models::HeadDim(config);
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(config.name(), " on ", tp, "-way tensor parallelism: ", why));
  };
  RETURN_IF_ERROR(CheckWidth(config, tp));
  if (head_dim > chip.lanes() || head_dim % 2 != 0) {
    return bad(absl::StrCat("head size ", head_dim, " must be even and at most ", chip.lanes()));
  }
  if (config.experts() > chip.lanes()) {
    return bad(absl::StrCat(config.experts(), " experts are more than the ", chip.lanes(),
                            " lanes the router's logits fill (one expert a lane)"));
  }
  if (partition.stage_chips.size() != partition.stage_layers.size() || partition.stage_chips.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("a partition of ", partition.stage_chips.size(), " stages with ",
                                                   partition.stage_layers.size(),
                                                   " layer counts: give one layer count per stage, and a stage"));
  }
  int64_t layers = 0;
  for (size_t s = 0; s < partition.stage_chips.size(); ++s) {
    if (static_cast<int>(partition.stage_chips[s].size()) != tp) {
      return absl::InvalidArgumentError(
          absl::StrCat("stage ", s, " has ", partition.stage_chips[s].size(), " chips, not ", tp));
    }
    for (int chip_id : partition.stage_chips[s]) {
      if (chip_id < 0 || chip_id >= topology.chips()) {
        return absl::InvalidArgumentError(
            absl::StrCat("stage ", s, " uses chip ", chip_id, " of a ", topology.chips(), "-chip system"));
      }
    }
    layers += partition.stage_layers[s];
  }
  if (layers != config.layers()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the stages hold ", layers, " layers; ", config.name(), " has ", config.layers()));
  }
  if (options.weights != nullptr && options.weights->format != options.format) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the weights are ", models::NumberFormatName(options.weights->format), " and the step is asked in ",
        models::NumberFormatName(options.format), ": make the weights in the step's format"));
  }
  if (options.batch < 1 || options.batch > std::max<int64_t>(1, options.users)) {
    return absl::InvalidArgumentError(absl::StrCat("a micro-batch of ", options.batch, " users with KV caches for ",
                                                   options.users, ": give a batch from 1 to the users whose caches "
                                                   "the chips hold"));
  }
  DecoderCompiler compiler;
  compiler.config_ = config;
  compiler.chip_ = &chip;
  compiler.system_ = &system;
  compiler.topology_ = &topology;
  compiler.partition_ = partition;
  compiler.options_ = options;
  compiler.context_ = options.context_tokens > 0 ? options.context_tokens : config.context_tokens();
  compiler.weight_images_ = std::make_shared<lowering::WeightImages>();
  return compiler;
}

absl::StatusOr<CompiledStep> DecoderCompiler::CompileStep(int64_t position) const {
  lowering::StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                                  *weight_images_);
  return lowering.LowerStep(position);
}

absl::StatusOr<CompiledStep> DecoderCompiler::CompileBatchStep(const std::vector<int64_t>& positions) const {
  lowering::StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                                  *weight_images_);
  return lowering.LowerBatchStep(positions);
}

absl::StatusOr<std::vector<StageFootprint>> DecoderCompiler::Footprints() const {
  std::vector<StageFootprint> footprints;
  for (size_t s = 0; s < partition_.stage_chips.size(); ++s) {
    lowering::StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                                    *weight_images_);
    ASSIGN_OR_RETURN(StageFootprint f, lowering.Footprint(static_cast<int>(s)));
    footprints.push_back(f);
  }
  return footprints;
}

absl::StatusOr<CompiledStep> DecoderCompiler::CompileStageUnit(int stage, int64_t position) const {
  lowering::StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                                  *weight_images_);
  return lowering.LowerStageUnit(stage, position);
}

absl::StatusOr<std::map<int, std::vector<SramImage>>> DecoderCompiler::KvCacheImages(
    int64_t tokens, const lowering::StoredKv& stored) const {
  lowering::StepLowering lowering(config_, *chip_, *system_, *topology_, partition_, options_, context_,
                                  *weight_images_);
  return lowering.CacheImages(tokens, stored);
}

}  // namespace tsp::scheduler
