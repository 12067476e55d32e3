#ifndef TSP_ISA_HAZARDS_H_
#define TSP_ISA_HAZARDS_H_

// The chip's legality rules, one function each, in one place. A rule looks
// at what holds a resource at the cycle asked (the emulator knows it from
// what has run, the scheduler from its reservation tables) and says whether
// the access may happen there and, if not, why (the kind), from which cycle
// it could (as far as this rule sees) and what holds the resource. The
// emulator (executing a program) and the scheduler (reserving for one) both
// ask these; neither restates a rule. Latencies and stream geometry are
// isa/timing.h's; what the rules are and where the figures come from is
// isa/README.md ("Timing rules").

#include <cstdint>

#include "absl/strings/string_view.h"

namespace tsp::isa {

enum class HazardKind {
  kNone,
  // A queue issues one instruction a cycle, in program order; Nop n and
  // Repeat hold it for longer (QueueFreeCycle).
  kQueueSameCycle,
  kQueueOutOfOrder,
  kQueueBusy,
  // An SRAM bank does one access a cycle between reads and write landings.
  kBankReadMeetsWrite,
  kBankWriteMeetsRead,
  kBankWritesMeet,
  // A stream-register slot (stream, diagonal) holds one value a cycle.
  kStreamSlotTaken,
  // The MXM: an install takes the weight buffer as it is when it issues, so
  // every LoadWeights issued before it must have landed; an Accumulate reads
  // out products, so one must have landed since the last Accumulate.
  kInstallBeforeLoadLanded,
  // A Multiply uses installed weights: the install must have landed.
  kMultiplyBeforeInstall,
  kAccumulateBeforeProducts,
  // A link serializes one vector at a time per direction.
  kLinkBusy,
  // A Receive takes a vector that has arrived (links have no back pressure).
  kReceiveBeforeArrival,
  // A port holds c2c.receive_buffer_vectors arrived vectors: the Receive of
  // the oldest must come before the arrival that would be one too many.
  kReceiveBufferOverflow,
};

// What holds a resource: the instruction (queue and index in it, -1 when the
// holder knows none, as a reservation table) and the cycle it holds from.
struct Holder {
  int queue = -1;
  int instruction = -1;
  int64_t cycle = -1;
};

struct Hazard {
  HazardKind kind = HazardKind::kNone;
  int64_t clears_at = 0;  // The first cycle this rule would allow.
  Holder holder;
  bool ok() const { return kind == HazardKind::kNone; }
};

// The rule's name, for messages and traces ("bank read meets write").
absl::string_view HazardKindName(HazardKind kind);

// No rule broken.
inline Hazard Clear() { return Hazard{}; }

// --- queues ---------------------------------------------------------------
// An issue at `cycle` on a queue whose previous instruction (`previous`)
// issued at `last_issue` and holds the queue until `free_cycle`.
inline Hazard QueueIssue(int64_t cycle, int64_t last_issue, int64_t free_cycle, const Holder& previous) {
  if (cycle >= free_cycle) return Clear();
  const HazardKind kind = cycle == last_issue  ? HazardKind::kQueueSameCycle
                          : cycle < last_issue ? HazardKind::kQueueOutOfOrder
                                               : HazardKind::kQueueBusy;
  return Hazard{kind, free_cycle, previous};
}
// The same for a reservation table: the queue's cycle `cycle` is held or not.
inline Hazard QueueCycle(int64_t cycle, bool held) {
  return held ? Hazard{HazardKind::kQueueBusy, cycle + 1, {-1, -1, cycle}} : Clear();
}

// --- SRAM banks -----------------------------------------------------------
// A read of a bank at `cycle`; `landing_write` the write landing in the bank
// in that cycle, if `write_lands` (reads of one bank never meet: one queue
// per slice issues them).
inline Hazard BankRead(int64_t cycle, bool write_lands, const Holder& landing_write) {
  return write_lands ? Hazard{HazardKind::kBankReadMeetsWrite, cycle + 1, landing_write} : Clear();
}
// A write landing in a bank at `landing`, with the read and the other write
// of that bank in that cycle, where there are.
inline Hazard BankWrite(int64_t landing, bool read_there, const Holder& read, bool write_there, const Holder& write) {
  if (read_there) return Hazard{HazardKind::kBankWriteMeetsRead, landing + 1, read};
  if (write_there) return Hazard{HazardKind::kBankWritesMeet, landing + 1, write};
  return Clear();
}

// --- stream registers -----------------------------------------------------
// A value entering a stream-register slot at `cycle`, held by `occupant` if `taken`.
inline Hazard StreamSlot(int64_t cycle, bool taken, const Holder& occupant) {
  return taken ? Hazard{HazardKind::kStreamSlotTaken, cycle + 1, occupant} : Clear();
}

// --- the MXM --------------------------------------------------------------
// An install at `cycle`; `load_landing` the landing cycle of the latest
// LoadWeights issued before `cycle` (INT64_MIN when none is in flight).
inline Hazard InstallWeights(int64_t cycle, int64_t load_landing, const Holder& load) {
  return load_landing > cycle ? Hazard{HazardKind::kInstallBeforeLoadLanded, load_landing, load} : Clear();
}
// The first cycle an install may issue after a LoadWeights landing at `load_landing`.
inline int64_t EarliestInstall(int64_t load_landing) { return load_landing; }
// A Multiply at `cycle` on weights installed (landed) at `installed`
// (INT64_MAX when nothing usable is installed).
inline Hazard Multiply(int64_t cycle, int64_t installed) {
  return installed > cycle ? Hazard{HazardKind::kMultiplyBeforeInstall, installed, {}} : Clear();
}
// The first cycle a Multiply may issue on weights whose install lands at `install_landing`.
inline int64_t EarliestMultiply(int64_t install_landing) { return install_landing; }
// An Accumulate at `cycle`; `product_landing` when the first Multiply result
// since the last Accumulate lands (INT64_MAX when none is on its way).
inline Hazard Accumulate(int64_t cycle, int64_t product_landing) {
  return product_landing > cycle ? Hazard{HazardKind::kAccumulateBeforeProducts, product_landing, {}} : Clear();
}

// --- links ------------------------------------------------------------------
// A link (one direction) that last carried a vector departing at
// `last_departure` is free again `serialization` cycles later.
inline int64_t LinkFreeCycle(int64_t last_departure, int64_t serialization) { return last_departure + serialization; }
// A vector departing at `departure` arrives at the far port after it is
// serialized and has flown the link.
inline int64_t LinkArrivalCycle(int64_t departure, int64_t serialization, int64_t latency) {
  return departure + serialization + latency;
}
// A departure at `departure` on a link free from `link_free`.
inline Hazard LinkDeparture(int64_t departure, int64_t link_free, const Holder& last) {
  return departure < link_free ? Hazard{HazardKind::kLinkBusy, link_free, last} : Clear();
}
// A Receive at `cycle` of the vector arriving at `arrival`.
inline Hazard Receive(int64_t cycle, int64_t arrival) {
  return arrival > cycle ? Hazard{HazardKind::kReceiveBeforeArrival, arrival, {}} : Clear();
}

// The first cycle a vector may arrive at a port whose buffer is full until
// the Receive at `receive` takes the oldest vector it holds.
inline int64_t EarliestArrivalAtFullPort(int64_t receive) { return receive + 1; }
// A Receive at `cycle` of the oldest vector a port holds, when the vector
// that would overflow the port's buffer (the buffer-th after it) arrives at
// `overflow_arrival` (INT64_MAX when none is due).
inline Hazard ReceiveBuffer(int64_t cycle, int64_t overflow_arrival) {
  return overflow_arrival <= cycle ? Hazard{HazardKind::kReceiveBufferOverflow, overflow_arrival, {}} : Clear();
}

}  // namespace tsp::isa

#endif  // TSP_ISA_HAZARDS_H_
