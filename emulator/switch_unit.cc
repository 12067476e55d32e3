#include "emulator/switch_unit.h"

#include "emulator/lane_elements.h"

namespace tsp::emulator {

void ShiftLanes(const uint8_t* in, int lanes, int width, int64_t amount, bool rotate,
                uint8_t* out) {
  for (int lane = 0; lane < lanes; ++lane) {
    int64_t source = lane - amount;
    uint32_t raw = 0;
    if (rotate) {
      source %= lanes;
      if (source < 0) source += lanes;
      raw = LoadRaw(in, lanes, width, static_cast<int>(source));
    } else if (source >= 0 && source < lanes) {
      raw = LoadRaw(in, lanes, width, static_cast<int>(source));
    }
    StoreRaw(raw, lanes, width, lane, out);
  }
}

void PermuteLanes(const uint8_t* in, int lanes, int width, const isa::LaneMap& map, uint8_t* out) {
  for (int lane = 0; lane < lanes; ++lane) {
    const int source = map.source_lane(lane);
    StoreRaw(source < 0 ? 0 : LoadRaw(in, lanes, width, source), lanes, width, lane, out);
  }
}

void DistributeLanes(const uint8_t* in, int lanes, int lanes_per_superlane, int width,
                     const isa::LaneMap& map, uint8_t* out) {
  for (int lane = 0; lane < lanes; ++lane) {
    const int base = lane - lane % lanes_per_superlane;
    const int source = map.source_lane(lane % lanes_per_superlane);
    StoreRaw(source < 0 ? 0 : LoadRaw(in, lanes, width, base + source), lanes, width, lane, out);
  }
}

void Transpose16(const uint8_t* in, int lanes, uint8_t* out) {
  for (int base = 0; base < lanes; base += 16) {
    for (int k = 0; k < 16; ++k) {
      for (int j = 0; j < 16; ++j) out[k * lanes + base + j] = in[j * lanes + base + k];
    }
  }
}

}  // namespace tsp::emulator
