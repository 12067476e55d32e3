#ifndef TSP_SCHEDULER_PARTITIONER_H_
#define TSP_SCHEDULER_PARTITIONER_H_

// Chooses how a model is laid over chips: the tensor-parallel width of the
// stages and the layers of each stage, so that every chip's weights, the KV
// caches of the requested users and its constants fit its SRAM, by the
// compiler's own allocation (DecoderCompiler::Footprints). Or checks a fixed
// partition. When nothing fits it says which stage is short and by how many
// bytes, and the fewest chips that would fit.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "models/reference_ops.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"

namespace tsp::scheduler {

struct PartitionQuery {
  models::ModelConfig config;
  models::NumberFormat format = models::NumberFormat::kInt8;
  int64_t context_tokens = 0;  // 0: the model's context.
  int64_t users = 1;           // Users whose KV caches must fit.
  int chips = 0;               // Chips to use (from chip 0); 0: the whole system.
  int tensor_parallel = 0;     // 0: choose.
  int stages = 0;              // 0: as many as the chips allow.
};

struct PartitionChoice {
  DecoderPartition partition;
  std::vector<StageFootprint> footprints;
  int chips_used = 0;
  // Users whose KV caches fit beside the weights on every stage.
  int64_t max_users = 0;
};

absl::StatusOr<PartitionChoice> ChoosePartition(const PartitionQuery& request, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_PARTITIONER_H_
