#include "scheduler/lowering/kv_cache_images.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {
namespace {

// The elements' raw bits (int8 as its byte, fp16 as its bits), checked
// against the head's size.
absl::StatusOr<std::vector<uint16_t>> ElementBits(const models::StoredVector& v, bool int8, int64_t head_dim,
                                                  bool value, int layer, int64_t token, int64_t kv_head) {
  std::vector<uint16_t> bits;
  if (int8) {
    for (int8_t q : v.q.q) bits.push_back(static_cast<uint8_t>(q));
  } else {
    bits = v.half;
  }
  if (static_cast<int64_t>(bits.size()) != head_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the stored ", value ? "value" : "key", " of token ", token, ", KV head ", kv_head, " in layer ", layer,
        " has ", bits.size(), " ", int8 ? "int8" : "fp16", " elements; the cache holds ", head_dim,
        " a token: give vectors stored in the step's number format"));
  }
  return bits;
}

// fp32 scales of the tokens of each 320-token tile, token t at lane
// t % lanes of vector t / lanes, as four byte-plane images a vector.
void AddScaleImages(const std::vector<Vec>& vectors, const std::vector<float>& scales, int lanes,
                    std::vector<SramImage>& images) {
  for (size_t k = 0; k < vectors.size(); ++k) {
    std::string planes[4];
    for (std::string& plane : planes) plane.assign(lanes, '\0');
    for (int lane = 0; lane < lanes; ++lane) {
      const size_t t = k * lanes + lane;
      if (t >= scales.size()) break;
      uint32_t bits;
      std::memcpy(&bits, &scales[t], sizeof(bits));
      for (int p = 0; p < 4; ++p) planes[p][lane] = static_cast<char>(bits >> (8 * p));
    }
    for (int p = 0; p < 4; ++p) images.push_back({vectors[k].slices[p], vectors[k].address, std::move(planes[p])});
  }
}

}  // namespace

absl::StatusOr<std::vector<SramImage>> KvCacheImages(LoweringContext& ctx, const ChipResidents& c, int64_t tokens,
                                                     const StoredKv& stored) {
  if (tokens < 0 || tokens > ctx.context_tokens()) {
    return absl::OutOfRangeError(absl::StrCat("caches of ", ctx.context_tokens(), " tokens cannot hold ", tokens,
                                              ": give 0 to ", ctx.context_tokens(), " tokens"));
  }
  VectorOps& o = ctx.Ops(c);
  const int64_t head_dim = ctx.head_dim();
  const int first_layer = ctx.FirstLayer(c.stage);
  std::vector<SramImage> images;
  for (size_t l = 0; l < c.layers.size(); ++l) {
    const int layer = first_layer + static_cast<int>(l);
    // User 0's (a session runs one user).
    for (size_t j = 0; j < c.layers[l].caches[0].size(); ++j) {
      const KvCache& cache = c.layers[l].caches[0][j];
      const int64_t kv_head = ctx.FirstKvHead(c.rank) + static_cast<int64_t>(j);
      // [token][dimension] bits of the keys and values, and their scales.
      std::vector<std::vector<uint16_t>> keys, values;
      std::vector<float> key_scales, value_scales;
      for (int64_t t = 0; t < tokens; ++t) {
        for (const bool value : {false, true}) {
          const models::StoredVector& v = stored(value, layer, t, kv_head);
          ASSIGN_OR_RETURN(std::vector<uint16_t> bits,
                           ElementBits(v, ctx.int8(), head_dim, value, layer, t, kv_head));
          (value ? values : keys).push_back(std::move(bits));
          (value ? value_scales : key_scales).push_back(v.q.scale);
        }
      }
      // Keys by token rows; values transposed (rows are dimensions).
      for (SramImage& image : o.MatrixImages(cache.keys, [&](int64_t row, int64_t column) -> uint16_t {
             return row < tokens && column < head_dim ? keys[row][column] : 0;
           })) {
        images.push_back(std::move(image));
      }
      for (SramImage& image : o.MatrixImages(cache.values, [&](int64_t row, int64_t column) -> uint16_t {
             return column < tokens && row < head_dim ? values[column][row] : 0;
           })) {
        images.push_back(std::move(image));
      }
      if (ctx.int8()) {
        AddScaleImages(cache.key_scales, key_scales, ctx.lanes(), images);
        AddScaleImages(cache.value_scales, value_scales, ctx.lanes(), images);
      }
    }
  }
  return images;
}

}  // namespace tsp::scheduler::lowering
