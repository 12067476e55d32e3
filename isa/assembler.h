#ifndef TSP_ISA_ASSEMBLER_H_
#define TSP_ISA_ASSEMBLER_H_

// The text form of programs (".tsp" files), documented in isa/README.md:
//
//   chip tsp_v1
//   lane_map 0: 1 2 3 ... -1
//   memory MEM_W0 16: 00ff...        (hex, one line per MemoryImage)
//   queue MEM_W0
//     @0 Read address=16 dst=E3
//     @1 Repeat n=255 every=1 stride=1
//   queue VXM.0
//     @12 Add.fp32 a=E0 b=W4 dst=E8 a<-MEM_W0@4 b<-MEM_E2@5
//
// Parsing checks each instruction against its opcode's operand signature
// (isa/opcode.h); what depends on a chip (queue names, stream and address
// ranges) is checked when the program is loaded for a chip. PrintProgram's
// output parses back to the same Program, and printing that again gives the
// same text.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "isa/program.pb.h"

namespace tsp::isa {

absl::StatusOr<Program> ParseProgram(absl::string_view text);

// One instruction line, "@12 Add.fp32 a=E0 b=W4 dst=E8 a<-MEM_W0@6"; its
// intent's sources name queues from `queue_names` (the program's queues in
// order) or by index ("%3@6").
absl::StatusOr<Instruction> ParseInstruction(absl::string_view line,
                                             absl::Span<const std::string> queue_names = {});

std::string PrintProgram(const Program& program);
// With `program` (the instruction's own), intent sources name their queues;
// without, they give the queue's index.
std::string PrintInstruction(const Instruction& instruction, const Program* program = nullptr);

// The text form of a system's programs: an optional first line
// "predicted_last_event_cycle <cycle>", then each chip's program after a line
// "program <chip id>" (chips in increasing order when printed).
absl::StatusOr<SystemProgram> ParseSystemProgram(absl::string_view text);
std::string PrintSystemProgram(const SystemProgram& system);
// Whether `text` is a system's (its first line that is not blank or a comment
// is "program ..." or "predicted_last_event_cycle ...").
bool IsSystemProgramText(absl::string_view text);

// "E3" / "W12".
std::string PrintStreamRef(const StreamRef& stream);

// Checks an instruction against its opcode's operand signature and types.
absl::Status CheckSignature(const Instruction& instruction);

}  // namespace tsp::isa

#endif  // TSP_ISA_ASSEMBLER_H_
