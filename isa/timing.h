#ifndef TSP_ISA_TIMING_H_
#define TSP_ISA_TIMING_H_

// The timing of the chip, in one place: latencies, where a value on a stream
// is when, banks and queue occupancy. The legality rules built on them are
// isa/hazards.h's; the emulator checks programs and the scheduler plans with
// both. All times are cycles at
// superlane 0; superlane k does the same k * superlane_skew_cycles later.

#include <cstdint>

#include "isa/chip_model.h"
#include "isa/opcode.h"
#include "isa/program.pb.h"

namespace tsp::isa {

// Cycle at which an instruction issued at `issue_cycle` delivers its result
// (onto its destination streams, into SRAM, into the MXM): issue + d_func.
inline int64_t ResultCycle(const ChipModel& chip, Opcode opcode, int64_t issue_cycle) {
  return issue_cycle + chip.latency_cycles(opcode);
}

// A value placed on a stream at position `from` in cycle `cycle` is at
// position `to` in the returned cycle: one stream-register position per cycle
// in the stream's direction. Returns -1 when `to` is upstream of `from`,
// where the value never goes.
inline int64_t StreamArrivalCycle(Direction direction, int from, int64_t cycle, int to) {
  const int distance = direction == EAST ? to - from : from - to;
  return distance < 0 ? -1 : cycle + distance;
}

// The stream register slot a value occupies is fixed by its "diagonal": the
// position minus the cycle for eastward streams, plus the cycle for westward
// ones. Two values on one stream collide exactly when their diagonals match.
inline int64_t StreamDiagonal(Direction direction, int position, int64_t cycle) {
  return direction == EAST ? position - cycle : position + cycle;
}

// Bank of an SRAM address: the address space splits into equal halves (ASSUMED
// in isa/README.md; the papers only say two banks per slice).
inline int MemBank(const ChipModel& chip, int64_t address) {
  return static_cast<int>(address / chip.mem_addresses_per_bank());
}

// First cycle at which the queue may issue again after issuing `instruction`
// at `issue_cycle`: Nop n occupies n cycles, Repeat n,d occupies the queue
// until its last repetition has issued, anything else one cycle.
int64_t QueueFreeCycle(Opcode opcode, int64_t issue_cycle, int64_t n, int64_t every);

// Issue cycle of repetition `k` (0-based) of a Repeat issued at `repeat_cycle`.
inline int64_t RepetitionCycle(int64_t repeat_cycle, int64_t every, int64_t k) {
  return repeat_cycle + k * every;
}

// The last cycle in which any superlane still acts on an event of superlane 0
// at `cycle`.
inline int64_t LastSuperlaneCycle(const ChipModel& chip, int64_t cycle) {
  return cycle + (chip.superlanes() - 1) * chip.superlane_skew_cycles();
}

}  // namespace tsp::isa

#endif  // TSP_ISA_TIMING_H_
