#ifndef TSP_SCHEDULER_LOWERING_KV_CACHE_IMAGES_H_
#define TSP_SCHEDULER_LOWERING_KV_CACHE_IMAGES_H_

// A chip's KV caches as SRAM images holding given tokens' keys and values,
// laid out as the attention lowering writes and reads them (attention.h): a
// step can then start deep in the context from caches filled elsewhere (the
// reference decoder's), without running every step before it.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "models/reference_decoder.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler::lowering {

// The stored key (`value` false) or value of `token` for the model's KV head
// `kv_head` in model layer `layer`, in the step's number format.
using StoredKv = std::function<const models::StoredVector&(bool value, int layer, int64_t token, int64_t kv_head)>;

// What `reference` has cached (it must outlive the result).
inline StoredKv CachedBy(const models::ReferenceDecoder& reference) {
  return [&reference](bool value, int layer, int64_t token, int64_t kv_head) -> const models::StoredVector& {
    return value ? reference.CachedValue(layer, token, static_cast<int>(kv_head))
                 : reference.CachedKey(layer, token, static_cast<int>(kv_head));
  };
}

// Images of every cache of `c` (allocated by AllocateResidents) with tokens
// [0, tokens) from `stored` and the rest zero, as a cache is before its
// token is appended.
absl::StatusOr<std::vector<SramImage>> KvCacheImages(LoweringContext& ctx, const ChipResidents& c, int64_t tokens,
                                                     const StoredKv& stored);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_KV_CACHE_IMAGES_H_
