#include "scheduler/decoder_partition.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tsp::scheduler {

absl::StatusOr<DecoderPartition> EvenPartition(const models::ModelConfig& config, int tensor_parallel, int stages,
                                               int stage_stride) {
  if (tensor_parallel < 1 || stages < 1 || stages > config.layers()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a partition of ", stages, " stages of ", tensor_parallel, " chips for ", config.name(), "'s ", config.layers(),
        " layers: give at least one chip per stage and 1 to ", config.layers(), " stages"));
  }
  if (stage_stride < tensor_parallel) {
    return absl::InvalidArgumentError(absl::StrCat("stages of ", tensor_parallel, " chips placed every ", stage_stride,
                                                   " chips would share chips: give a stride of at least ",
                                                   tensor_parallel));
  }
  DecoderPartition p;
  p.tensor_parallel = tensor_parallel;
  for (int s = 0; s < stages; ++s) {
    std::vector<int> chips;
    for (int r = 0; r < tensor_parallel; ++r) chips.push_back(s * stage_stride + r);
    p.stage_chips.push_back(chips);
    p.stage_layers.push_back(static_cast<int>(config.layers() / stages + (s < config.layers() % stages ? 1 : 0)));
  }
  return p;
}

}  // namespace tsp::scheduler
