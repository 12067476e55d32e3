#ifndef TSP_EMULATOR_PROGRAM_VERIFIER_H_
#define TSP_EMULATOR_PROGRAM_VERIFIER_H_

// Checks a chip's program from the program alone, without running it: every
// issue, every result's place and every operand's value are fixed by the
// cycles the program names and the spec's latencies (isa/timing.h), so the
// rules can be checked by looking each read up among the writes instead of
// stepping through cycles. It uses no table of the scheduler that wrote the
// program, and reports what the emulator would, in the same words
// (emulator/messages.h). Anchor: XLS's PipelineSchedule::Verify.
//
// Checked: what DecodeProgram checks; a queue's issue order and occupancy;
// two values in one stream-register slot; every stream operand's value (that
// there is one, and that it is the one its intent names); SRAM addresses; a
// bank read in the cycle a write lands in it, and two writes landing in one
// bank in one cycle; every Read's word against its memory intent.
// Not yet: the MXM (loads, installs, products), links (Send, Receive,
// Deskew), Sync and Notify, Gather and Scatter addresses (they come from
// data, as in a timing-only run), and the end-of-run checks.

#include <string>

#include "absl/status/status.h"
#include "emulator/decoded_program.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

// OK, or the first rule the program breaks (the earliest by cycle, a result
// landing before an issue in the same cycle), as a FailedPrecondition error
// naming `chip_label`, the queue, cycle and instruction, as the emulator's.
absl::Status VerifyChipProgram(const isa::ChipModel& chip, const isa::Program& program,
                               const std::string& chip_label = "chip 0");

// The same for a program already decoded (the emulator's, so that a program
// verified and then run is decoded once).
absl::Status VerifyDecodedProgram(const isa::ChipModel& chip, const DecodedProgram& program,
                                  const std::string& chip_label = "chip 0");

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_PROGRAM_VERIFIER_H_
