#include "emulator/stream_registers.h"

#include <cstring>

#include "absl/numeric/bits.h"

#include "isa/timing.h"

namespace tsp::emulator {

StreamRegisters::StreamRegisters(int positions, int streams_per_direction, int lanes,
                                 bool keep_values, int lookahead)
    : positions_(positions),
      slots_per_ring_(static_cast<int>(absl::bit_ceil(static_cast<uint32_t>(positions + lookahead)))),
      streams_(streams_per_direction),
      lanes_(lanes),
      keep_values_(keep_values),
      rings_(static_cast<size_t>(2) * streams_per_direction) {}

StreamRegisters::WriteOutcome StreamRegisters::Write(isa::Direction direction, int stream,
                                                     int position, int64_t cycle,
                                                     const uint8_t* bytes,
                                                     const Producer& producer) {
  const int64_t diagonal = isa::StreamDiagonal(direction, position, cycle);
  Ring& ring = rings_[RingIndex(direction, stream)];
  if (ring.slots.empty()) {
    ring.slots.resize(slots_per_ring_);
    if (keep_values_) ring.values.resize(static_cast<size_t>(slots_per_ring_) * lanes_);
  }
  const int index = SlotIndex(diagonal);
  Slot& slot = ring.slots[index];
  WriteOutcome outcome;
  if (slot.diagonal == diagonal) {
    // Same trajectory: both values run to the edge, so they meet where the
    // later-starting one enters.
    outcome.collided = true;
    outcome.other = slot.producer;
    const bool other_upstream =
        direction == isa::EAST ? slot.origin <= position : slot.origin >= position;
    outcome.collision_position = other_upstream ? position : slot.origin;
    outcome.collision_cycle =
        other_upstream ? cycle : isa::StreamArrivalCycle(direction, position, cycle, slot.origin);
    return outcome;
  }
  slot.diagonal = diagonal;
  slot.origin = position;
  slot.producer = producer;
  if (keep_values_ && bytes != nullptr) {
    std::memcpy(&ring.values[static_cast<size_t>(index) * lanes_], bytes, lanes_);
  }
  return outcome;
}

StreamRegisters::ReadOutcome StreamRegisters::Read(isa::Direction direction, int stream,
                                                   int position, int64_t cycle) const {
  ReadOutcome outcome;
  const Ring& ring = rings_[RingIndex(direction, stream)];
  if (ring.slots.empty()) return outcome;
  const int64_t diagonal = isa::StreamDiagonal(direction, position, cycle);
  const int index = SlotIndex(diagonal);
  const Slot& slot = ring.slots[index];
  const bool entered =
      direction == isa::EAST ? slot.origin <= position : slot.origin >= position;
  if (slot.diagonal != diagonal || !entered) return outcome;
  outcome.found = true;
  outcome.producer = slot.producer;
  if (keep_values_) outcome.bytes = &ring.values[static_cast<size_t>(index) * lanes_];
  return outcome;
}

}  // namespace tsp::emulator
