#ifndef TSP_EMULATOR_LANE_ELEMENTS_H_
#define TSP_EMULATOR_LANE_ELEMENTS_H_

// Vectors in functional mode are byte-plane groups: `width` planes of `lanes`
// bytes, plane k holding byte k (least significant first) of every lane's
// element, which is how multi-byte elements travel on consecutive streams.

#include <cstdint>

namespace tsp::emulator {

inline uint32_t LoadRaw(const uint8_t* planes, int lanes, int width, int lane) {
  uint32_t raw = 0;
  for (int k = 0; k < width; ++k) raw |= static_cast<uint32_t>(planes[k * lanes + lane]) << (8 * k);
  return raw;
}

inline void StoreRaw(uint32_t raw, int lanes, int width, int lane, uint8_t* planes) {
  for (int k = 0; k < width; ++k) planes[k * lanes + lane] = static_cast<uint8_t>(raw >> (8 * k));
}

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_LANE_ELEMENTS_H_
