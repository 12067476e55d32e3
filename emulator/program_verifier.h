#ifndef TSP_EMULATOR_PROGRAM_VERIFIER_H_
#define TSP_EMULATOR_PROGRAM_VERIFIER_H_

// Checks a chip's program from the program alone, without running it: every
// issue, every result's place and every operand's value are fixed by the
// cycles the program names and the spec's latencies (isa/timing.h), so the
// rules can be checked by looking each read up among the writes, and each
// unit's state (an MXM plane, a port) by replaying its own events in order,
// instead of stepping through the chip's cycles. It uses no table of the
// scheduler that wrote the program, asks the rules of isa/hazards.h, and
// reports what the emulator would, in the same words (emulator/messages.h).
// Anchor: XLS's PipelineSchedule::Verify.
//
// Checked: what DecodeProgram checks; a queue's issue order and occupancy;
// Sync and Notify; two values in one stream-register slot; every stream
// operand's value (that there is one, and that it is the one its intent
// names); SRAM addresses; a bank read in the cycle a write lands in it, and
// two writes landing in one bank in one cycle; every Read's word against its
// memory intent; the MXM (weight rows, an install before its loads land or
// of an empty buffer, a Multiply before its install or of another type, an
// Accumulate before its products, and the loads, weights and products each
// intent names); ports (Deskew before use, a Receive before its vector
// arrives or after the port's buffer overflowed, the Send it takes); and the
// end of a run (arrivals never received, declared outputs not holding their
// intended value, products never read out, loads never installed). Not
// checked: Gather and Scatter addresses (they come from data, as in a
// timing-only run). Links between chips: pipeline/system_verifier.h.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "emulator/decoded_program.h"
#include "emulator/link_vectors.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

// What the verifier finds in a chip's program.
struct ChipVerdict {
  // The first rule broken while it runs (the earliest by cycle, a result
  // landing before an issue in the same cycle, then by queue), as a
  // FailedPrecondition error naming the chip, queue, cycle and instruction,
  // as the emulator's; `cycle` is when the emulator meets it.
  absl::Status run;
  int64_t cycle = 0;
  // With `run` OK: the end-of-run checks' first error.
  absl::Status end;
  absl::Status status() const { return !run.ok() ? run : end; }
};

// A chip's program, checked in two steps so that a system can route the
// vectors one chip sends before checking the chips that receive them.
class ChipVerifier {
 public:
  // `chip` and `program` must outlive the verifier.
  ChipVerifier(const isa::ChipModel& chip, const DecodedProgram& program, std::string chip_label);
  ~ChipVerifier();

  // The vectors its Sends put on links, in departure order (data empty).
  const std::vector<OutboundVector>& Sent() const;
  // Every cycle in which an instruction issues or a result lands, sorted and
  // distinct: when the emulator has work (for a system's windows).
  const std::vector<int64_t>& EventCycles() const;

  // Every check, with `inbound` arriving at its ports. Call once.
  ChipVerdict Check(const std::vector<InboundVector>& inbound);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// OK, or the first rule the program breaks (ChipVerdict::status), with
// `inbound` arriving as in RunOptions::inbound.
absl::Status VerifyChipProgram(const isa::ChipModel& chip, const isa::Program& program,
                               const std::string& chip_label = "chip 0",
                               const std::vector<InboundVector>& inbound = {});

// The same for a program already decoded (the emulator's, so that a program
// verified and then run is decoded once).
absl::Status VerifyDecodedProgram(const isa::ChipModel& chip, const DecodedProgram& program,
                                  const std::string& chip_label = "chip 0",
                                  const std::vector<InboundVector>& inbound = {});

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_PROGRAM_VERIFIER_H_
