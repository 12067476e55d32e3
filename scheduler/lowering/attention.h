#ifndef TSP_SCHEDULER_LOWERING_ATTENTION_H_
#define TSP_SCHEDULER_LOWERING_ATTENTION_H_

// Grouped-query attention of one token on one chip, with the KV update: each
// local KV head's key (rotated) and value appended to its cache at the
// token's position, then each local head's query (rotated) attends over the
// cache: scores on the MXM against the keys, a masked softmax, the values'
// weighted sum on the MXM against the transposed value cache. int8 caches
// keep a scale per token beside the keys and values.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// Lanes [offset, offset + head_dim) of the packed vectors, moved to lanes
// [0, head_dim) of one vector, other lanes zero.
absl::StatusOr<Vec> ExtractHead(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& packed, int64_t offset);
// Heads (each in lanes [0, head_dim)) packed back to back into `vectors`
// vectors.
absl::StatusOr<std::vector<Vec>> PackHeads(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& heads,
                                           int64_t vectors);
// Writes the token at `position`'s key (row `position`) and value (lane
// `position` of each transposed row) into the cache, quantized in int8.
absl::Status AppendToCache(LoweringContext& ctx, ChipResidents& c, KvCache& cache, const Vec& key, const Vec& value,
                           int64_t position);
// softmax(query . keys / sqrt(d)) values over the cache's first `tokens`
// tokens.
absl::StatusOr<Vec> AttendHead(LoweringContext& ctx, ChipResidents& c, KvCache& cache, const Vec& query,
                               int64_t tokens);
// The step's attention on one chip: q, k and v its heads' projections
// (packed), the token at `position`, `caches` the user's of the layer (one
// per local KV head); returns the heads' outputs packed.
absl::StatusOr<std::vector<Vec>> AttendHeads(LoweringContext& ctx, ChipResidents& c, std::vector<KvCache>& caches,
                                             const std::vector<Vec>& q, const std::vector<Vec>& k,
                                             const std::vector<Vec>& v, int64_t position);

// The graph's rotary and attention operators (lowered together: each head is
// rotated as attention reads it) on every rank.
absl::Status LowerAttention(StageState& state, int rotary);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_ATTENTION_H_
