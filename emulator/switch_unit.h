#ifndef TSP_EMULATOR_SWITCH_UNIT_H_
#define TSP_EMULATOR_SWITCH_UNIT_H_

// The data movement of the SXM (isa/README.md, "SXM"), on byte-plane groups
// of `width` planes: whole elements move between lanes.

#include <cstdint>

#include "isa/opcode.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

// Shift (zero fill) or Rotate by `amount` lanes toward higher lane numbers
// (north); negative amounts go south.
void ShiftLanes(const uint8_t* in, int lanes, int width, int64_t amount, bool rotate,
                uint8_t* out);
// out[i] = in[map[i]], or zero where map[i] is -1.
void PermuteLanes(const uint8_t* in, int lanes, int width, const isa::LaneMap& map, uint8_t* out);
// Within each superlane: out[s*L + j] = in[s*L + map[j]], zero where -1.
void DistributeLanes(const uint8_t* in, int lanes, int lanes_per_superlane, int width,
                     const isa::LaneMap& map, uint8_t* out);
// 16 streams in, 16 out: within each superlane s, out stream k lane (s*16 + j)
// is in stream j lane (s*16 + k). Needs lanes_per_superlane == 16.
void Transpose16(const uint8_t* in, int lanes, uint8_t* out);

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_SWITCH_UNIT_H_
