#include "emulator/messages.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "isa/assembler.h"

namespace tsp::emulator {

std::string Where(const std::string& chip_label, const isa::ChipModel& chip, const DecodedProgram& program, int queue,
                  const DecodedInstruction& instruction, int64_t cycle, int64_t repetition) {
  const DecodedQueue& decoded = program.queues[queue];
  std::string text =
      absl::StrCat(chip_label, ", queue ", chip.queues()[decoded.queue].name, ", cycle ", cycle, ", `",
                   isa::PrintInstruction(decoded.source->instructions(instruction.index), program.source), "`");
  if (repetition >= 0) absl::StrAppend(&text, " (repetition ", repetition, " of a Repeat)");
  return text;
}

std::string DescribeProducer(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& producer) {
  const DecodedQueue& queue = program.queues[producer.queue];
  return absl::StrCat("queue ", chip.queues()[queue.queue].name, "'s `",
                      isa::PrintInstruction(queue.source->instructions(producer.instruction), program.source),
                      "` (issued at cycle ", producer.issue_cycle, ")");
}

std::string DescribeIntended(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& intended) {
  const DecodedQueue& queue = program.queues[intended.queue];
  auto it = std::lower_bound(queue.instructions.begin(), queue.instructions.end(), intended.issue_cycle,
                             [](const DecodedInstruction& i, int64_t cycle) { return i.cycle < cycle; });
  if (it != queue.instructions.end() && it->cycle == intended.issue_cycle) {
    return DescribeProducer(chip, program, {intended.queue, it->index, intended.issue_cycle});
  }
  return absl::StrCat("queue ", chip.queues()[queue.queue].name, "'s issue at cycle ", intended.issue_cycle);
}

std::string DescribeFound(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& found) {
  return found.queue < 0 ? std::string("the initial contents (no write)") : DescribeProducer(chip, program, found);
}

std::string StreamName(isa::Direction direction, int stream) {
  return absl::StrCat(direction == isa::EAST ? "E" : "W", stream);
}

std::string NotIntendedCause(const isa::ChipModel& chip, const DecodedProgram& program, absl::string_view operand,
                             const Producer& found, const Producer* intended, absl::string_view hint) {
  return absl::StrCat(
      operand, " reads the value of ", DescribeFound(chip, program, found), ", not the intended ",
      intended == nullptr ? std::string("initial contents") : DescribeIntended(chip, program, *intended), hint);
}

std::string QueueRuleCause(const isa::Hazard& rule, const DecodedProgram& program, const DecodedQueue& queue,
                           const DecodedInstruction& previous, int64_t last_issue_cycle, int64_t free_cycle,
                           int64_t cycle) {
  const std::string previous_text = isa::PrintInstruction(queue.source->instructions(previous.index), program.source);
  if (rule.kind == isa::HazardKind::kQueueSameCycle) {
    return absl::StrCat("two issues from one queue in one cycle; `", previous_text, "` also issues at cycle ", cycle);
  }
  if (rule.kind == isa::HazardKind::kQueueOutOfOrder) {
    return absl::StrCat("the previous instruction issues at cycle ", last_issue_cycle,
                        "; a queue issues in program order, so cycles must increase");
  }
  return absl::StrCat("the queue is busy until cycle ", free_cycle, " with `", previous_text, "`; issue at cycle ",
                      free_cycle, " or later");
}

std::string NoStreamValueCause(const isa::ChipModel& chip, const DecodedProgram& program, absl::string_view operand,
                               isa::Direction direction, int stream, int position, int64_t cycle,
                               const Producer* intended) {
  return absl::StrCat("operand ", operand, ": stream ", StreamName(direction, stream), " holds no value at position ",
                      position, " (", chip.slices()[position].name, ") in cycle ", cycle,
                      intended == nullptr
                          ? std::string()
                          : absl::StrCat("; the intended value is ", DescribeIntended(chip, program, *intended)));
}

std::string StreamSlotCause(const isa::ChipModel& chip, const DecodedProgram& program, isa::Direction direction,
                            int stream, const Producer& other, int position, int64_t cycle) {
  return absl::StrCat("two values in one stream-register slot: its result on ", StreamName(direction, stream),
                      " meets the value from ", DescribeProducer(chip, program, other), " at position ", position, " (",
                      chip.slices()[position].name, ") in cycle ", cycle, "; use another stream or another cycle");
}

std::string AddressOutOfRangeCause(const isa::ChipModel& chip, int64_t address) {
  return absl::StrCat("SRAM address ", address, " is outside 0..", chip.mem_addresses() - 1);
}

std::string BankReadMeetsWriteCause(const isa::ChipModel& chip, const DecodedProgram& program, int bank,
                                    const Producer& write) {
  return absl::StrCat("reads bank ", bank, " in the cycle a write lands in it (",
                      DescribeProducer(chip, program, write),
                      "); a bank cannot be read and written in one cycle: move one by a cycle or use the other bank");
}

std::string BankWritesMeetCause(const isa::ChipModel& chip, const DecodedProgram& program, int bank,
                                const Producer& other) {
  return absl::StrCat("its write lands in bank ", bank, " in the same cycle as the write of ",
                      DescribeProducer(chip, program, other));
}

std::string StreamOperandCause(const isa::ChipModel& chip, const DecodedProgram& program, const IntentSpan& sources,
                               const DecodedInstruction& instruction, absl::string_view operand,
                               const StreamGroup& group, int k, int position, int64_t now, bool found,
                               const Producer& producer) {
  if (StreamOperandHolds(program, sources, instruction, k, now, found, producer)) return std::string();
  const int stream = group.first + k;
  Producer intended;
  if (sources.size != 0) intended = Intended(program, sources, sources.size == 1 ? 0 : k, now - instruction.cycle);
  if (!found) {
    return NoStreamValueCause(chip, program, operand, group.direction, stream, position, now,
                              sources.size == 0 ? nullptr : &intended);
  }
  if (sources.size != 0 && !(producer == intended)) {
    return NotIntendedCause(chip, program,
                            absl::StrCat("operand ", operand, " (stream ", StreamName(group.direction, stream), ")"),
                            producer, &intended);
  }
  return std::string();
}

std::string MemoryIntentCause(const isa::ChipModel& chip, const DecodedProgram& program, const IntentSpan& memory,
                              const DecodedInstruction& instruction, int64_t repetition, int64_t address, int64_t now,
                              const Producer& landed, const Producer& issued, int64_t issued_landing) {
  if (MemoryIntentHolds(program, memory, instruction, repetition, address, landed)) return std::string();
  const int entry = MemoryIntentEntry(memory, repetition);
  const std::string operand = absl::StrCat("address ", address);
  if (memory.data[entry].queue == -1) {
    const int64_t meant = MeantInitialAddress(memory, entry, instruction, address);
    if (meant != address) {
      return absl::StrCat("reads address ", address, "; the intent is the initial contents of address ", meant);
    }
    return NotIntendedCause(chip, program, operand, landed, nullptr);
  }
  const Producer intended = Intended(program, memory, entry, 0);
  std::string hint;
  if (issued == intended && issued_landing > now) {
    hint = absl::StrCat(", whose write lands at cycle ", issued_landing,
                        ": a read of an address must come after its write lands");
  }
  return NotIntendedCause(chip, program, operand, landed, &intended, hint);
}

}  // namespace tsp::emulator
