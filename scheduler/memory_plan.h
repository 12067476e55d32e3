#ifndef TSP_SCHEDULER_MEMORY_PLAN_H_
#define TSP_SCHEDULER_MEMORY_PLAN_H_

// How many bytes of SRAM each chip of a partition needs, and whether they fit.
//
// A partition splits the decoder layers evenly (the first stages take one
// more when they do not divide) over `pipeline_stages` groups of
// `tensor_parallel` chips; within a group every weight matrix is split over
// the chips by output rows (Q, K, V, gate, up, LM head, experts) or by input
// columns (O, down), and the KV cache by KV heads (whole heads; a head is
// replicated when there are more chips than KV heads). The embedding table
// lives in the first stage, final norm and LM head in the last. A chip's
// shares of Q, K and V are one fused matrix, and so are gate and up.
//
// Layout granularity: the SRAM holds 320-byte vectors (isa/README.md). A
// chip's share of a matrix is stored as 320 x 320 tiles, one row per vector
// (int8: 320 vectors a tile; fp16: 640, two byte planes), so its rows and
// columns round up to multiples of 320; int8 matrices add one fp32 scale per
// output row, also in whole vectors. The KV cache holds, per token, the chip's
// K and V head vectors rounded up to whole vectors, plus (int8) one fp32 scale
// per head vector. Activations: the fp32 residual stream and the widest
// intermediate (Q, K and V together, or the MLP's gate and up) of every user
// in flight on the stage, in whole vectors.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "models/reference_ops.h"

namespace tsp::scheduler {

struct PartitionRequest {
  models::ModelConfig model;
  models::NumberFormat format = models::NumberFormat::kInt8;
  int64_t tensor_parallel = 1;
  int64_t pipeline_stages = 1;
  int64_t context_tokens = 0;  // KV cache length per user.
  int64_t users = 1;           // Concurrent users, each with its own KV cache.
};

struct StageMemory {
  int64_t first_layer = 0;
  int64_t layers = 0;
  int64_t weight_bytes = 0;      // Per chip.
  int64_t kv_cache_bytes = 0;    // Per chip, all users.
  int64_t activation_bytes = 0;  // Per chip.
  int64_t total_bytes() const { return weight_bytes + kv_cache_bytes + activation_bytes; }
};

struct MemoryPlan {
  std::vector<StageMemory> stages;
  int64_t chip_bytes = 0;  // SRAM of one chip.
  int64_t chips = 0;
  // The most any chip needs.
  int64_t peak_bytes() const;
};

// Plans the partition. An error names the first stage that does not fit, what
// it holds and by how many bytes it overflows; or the request that is not a
// partition (a tensor-parallel width that splits no head evenly, more stages
// than layers).
absl::StatusOr<MemoryPlan> PlanMemory(const PartitionRequest& request, const isa::ChipModel& chip);

// The fewest chips (tensor_parallel x pipeline_stages, with tensor_parallel a
// power of two up to `max_tensor_parallel`) whose plan fits; the request's
// own widths are ignored. Error when none up to `max_chips` fits.
absl::StatusOr<PartitionRequest> FewestChips(PartitionRequest request, const isa::ChipModel& chip,
                                             int64_t max_tensor_parallel, int64_t max_chips);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_MEMORY_PLAN_H_
