#ifndef TSP_SCHEDULER_PARTITIONER_H_
#define TSP_SCHEDULER_PARTITIONER_H_

// Chooses how a model is laid over chips: the tensor-parallel width of the
// stages and the layers of each stage, so that every chip's weights, the KV
// caches of the requested users and its constants fit its SRAM, by the
// compiler's own allocation (DecoderCompiler::Footprints). Or checks a fixed
// partition. When nothing fits it says which stage is short and by how many
// bytes, and the fewest chips that would fit. This is the one SRAM
// accounting: `tsp fit`, `run`, `plan` and the compiler all answer from it.
//
// Bytes per stage kind (first, middle, last, or the only stage) are measured
// by allocating stages of one and two layers for one and two users; a stage
// of L layers and U users then needs base + L x per_layer + L x (U - 1) x
// per_user_layer bytes of its streamed-matrix slices, and the chosen
// partition is allocated in full to confirm it.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "models/reference_ops.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/tensor_parallel_width.h"

namespace tsp::scheduler {

struct PartitionQuery {
  models::ModelConfig config;
  models::NumberFormat format = models::NumberFormat::kInt8;
  int64_t context_tokens = 0;  // 0: the model's context.
  int64_t users = 1;           // Users whose KV caches must fit.
  // Chips to use, exactly (tensor_parallel x stages, from chip 0); 0: at most
  // the whole system, as many stages as the layers allow.
  int chips = 0;
  int tensor_parallel = 0;     // 0: choose.
  int stages = 0;              // 0: as many as the chips allow.
};

// What fills the SRAM of one chip of a stage (its fullest rank), and why as
// many users fit there. Bytes per chip.
struct StageCapacity {
  int stage = 0;
  int first_layer = 0;
  int layers = 0;
  // Weight tiles and their scales (the embedding on the first stage, the LM
  // head on the last), in the streamed-matrix slices.
  int64_t matrix_bytes = 0;
  // One user's K and V caches for the stage's layers (this chip's KV heads).
  int64_t kv_bytes_per_user = 0;
  // The streamed-matrix slices' room: the weight slices and, once those are
  // full, the activation slices above the addresses kept for vectors.
  int64_t capacity_bytes = 0;
  // 1 + (capacity - matrices - one user's caches) / kv_bytes_per_user.
  int64_t users = 0;
  int64_t free_bytes() const { return capacity_bytes - matrix_bytes - kv_bytes_per_user; }
};

struct PartitionChoice {
  DecoderPartition partition;
  std::vector<StageFootprint> footprints;  // As allocated for the query's users.
  std::vector<StageCapacity> stages;
  int chips_used = 0;
  // Users whose KV caches fit beside the weights on every stage: the fewest
  // of the stages' users.
  int64_t max_users = 0;
};

// The partition of the query on the system (chip 0 onward). Errors:
// InvalidArgument when the query is not a partition of this model and
// system (a width that does not split it, more stages than layers, more
// chips than the system has, a chip count no width x stages makes);
// ResourceExhausted when it does not fit, with the preferred width's
// shortfall in bytes and the fewest chips that fit.
absl::StatusOr<PartitionChoice> ChoosePartition(const PartitionQuery& query, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology);

// The fewest chips that hold the query's model and users (the query's width
// kept when given; its chips and stages ignored), up to `max_chips`.
struct FewestChips {
  int tensor_parallel = 0;
  int stages = 0;
  int chips() const { return tensor_parallel * stages; }
  // Confirmed by allocating the partition in full: only when the topology
  // has that many chips (otherwise from the measured costs alone).
  bool confirmed = false;
  PartitionChoice choice;  // When confirmed.
};
// NotFound when no partition up to `max_chips` fits.
absl::StatusOr<FewestChips> FindFewestChips(const PartitionQuery& query, const isa::ChipModel& chip,
                                            const pipeline::SystemModel& system,
                                            const pipeline::Topology& topology, int max_chips);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_PARTITIONER_H_
