#ifndef TSP_EMULATOR_STREAM_REGISTERS_H_
#define TSP_EMULATOR_STREAM_REGISTERS_H_

// The chip's stream registers: for each direction and stream, one slot per
// stream-register position. A value written at position p in cycle t moves one
// position per cycle in its direction until it falls off the edge; it is
// never consumed. Two values meet in one slot exactly when they share a
// diagonal (isa::StreamDiagonal), and at most as many diagonals as there are
// positions are on the chip at once, so each (direction, stream) needs a ring
// of slots indexed by diagonal, allocated when the stream is first written
// (memory grows with the streams a program uses). Reads come in
// non-decreasing cycle order; a write may land up to `lookahead` cycles after
// the latest cycle read or written so far (a batch of reads puts its values
// on the streams ahead of time), so the ring holds positions + lookahead
// diagonals: every value still reachable keeps its slot.

#include <cstdint>
#include <vector>

#include "emulator/producer.h"
#include "isa/program.pb.h"

namespace tsp::emulator {


class StreamRegisters {
 public:
  // `keep_values` false is timing-only: occupancy is tracked, bytes are not.
  StreamRegisters(int positions, int streams_per_direction, int lanes, bool keep_values,
                  int lookahead = 0);

  // How far ahead of the latest cycle so far a write may land: at least the
  // `lookahead` asked for, more where the ring's power-of-two size allows.
  int lookahead() const { return slots_per_ring_ - positions_; }

  struct WriteOutcome {
    bool collided = false;
    Producer other;          // The value already in the slot, when collided.
    int collision_position = 0;
    int64_t collision_cycle = 0;
  };
  // Puts `bytes` (lanes bytes; ignored in timing-only mode, may be null) on
  // the stream at `position` in `cycle`. On a collision nothing is written.
  WriteOutcome Write(isa::Direction direction, int stream, int position, int64_t cycle,
                     const uint8_t* bytes, const Producer& producer);

  struct ReadOutcome {
    bool found = false;
    const uint8_t* bytes = nullptr;  // Null in timing-only mode.
    Producer producer;
  };
  ReadOutcome Read(isa::Direction direction, int stream, int position, int64_t cycle) const;

 private:
  struct Slot {
    int64_t diagonal = INT64_MIN;
    int origin = 0;
    Producer producer;
  };
  struct Ring {
    std::vector<Slot> slots;       // [diagonal mod positions]
    std::vector<uint8_t> values;   // lanes bytes per slot, when keeping values.
  };
  int RingIndex(isa::Direction direction, int stream) const {
    return (direction == isa::EAST ? 0 : streams_) + stream;
  }
  int SlotIndex(int64_t diagonal) const {
    return static_cast<int>(static_cast<uint64_t>(diagonal) & (slots_per_ring_ - 1));
  }

  int positions_;
  int slots_per_ring_;  // A power of two of at least positions + lookahead.
  int streams_;
  int lanes_;
  bool keep_values_;
  std::vector<Ring> rings_;  // [direction][stream], empty until written.
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_STREAM_REGISTERS_H_
