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

// ---- The MXM ---------------------------------------------------------------

std::string WeightRowsOutOfRangeCause(const isa::ChipModel& chip, int64_t row, int64_t rows) {
  return absl::StrCat("weight rows ", row, "..", row + rows - 1, " are outside the plane's 0..", chip.mxm_rows() - 1);
}

std::string InstallBeforeLoadLandedCause(int64_t load_issue, int64_t load_landing) {
  return absl::StrCat("installs the weight buffer before a LoadWeights issued at cycle ", load_issue,
                      " has landed; the install takes the buffer as it is when it issues, so issue it at cycle ",
                      load_landing, " or later");
}

std::string EmptyWeightBufferCause() { return "installs an empty weight buffer; LoadWeights must land first"; }

std::string MultiplyBeforeInstallCause(const isa::ChipModel& chip, int slice, absl::string_view lost_weights) {
  return absl::StrCat("multiplies before weights are installed on ", chip.slices()[slice].name,
                      lost_weights.empty() ? std::string() : absl::StrCat(" (", lost_weights, ")"));
}

std::string WeightsReplacedText(const isa::ChipModel& chip, int slice, int64_t cycle) {
  return absl::StrCat("weights replaced by InstallWeights on ", chip.slices()[slice].name, " at cycle ", cycle);
}

std::string MultiplyTypeCause(isa::ElementType activations, isa::ElementType weights) {
  return absl::StrCat("multiplies ", isa::ElementTypeName(activations), " activations with installed ",
                      isa::ElementTypeName(weights), " weights");
}

std::string AccumulateBeforeProductsCause(const isa::ChipModel& chip, int64_t accumulator, int64_t products_in_flight) {
  return absl::StrCat(
      "reads out accumulator ", accumulator, ", which no Multiply has reached since it was last read out",
      products_in_flight > 0
          ? absl::StrCat(" (", products_in_flight, " Multiply results still in flight; a Multiply's result lands ",
                         "d_func = ", chip.latency_cycles(isa::Opcode::kMultiply), " cycles after it issues)")
          : std::string());
}

std::string CountNotIntendedCause(const isa::ChipModel& chip, const DecodedProgram& program, const CountWords& words,
                                  int64_t count, const Producer& last, const isa::Source& intent, int64_t shift,
                                  absl::string_view in_flight) {
  return absl::StrCat(words.verb, " ", count, " ", words.counted, ", ", words.last, " ",
                      count == 0 ? std::string("none") : DescribeFound(chip, program, last), "; the intent is ",
                      intent.count(), ", ", words.last, " ",
                      DescribeIntended(chip, program, Intended(program, intent, shift)), in_flight);
}

std::string LoadsInFlightText(int64_t loads_in_flight, int64_t last_landing) {
  if (loads_in_flight == 0) return std::string();
  return absl::StrCat(" (", loads_in_flight, " still in flight, the last landing at cycle ", last_landing, ")");
}

std::string AccumulatorOutOfRangeCause(const isa::ChipModel& chip, int64_t accumulator) {
  return absl::StrCat("accumulator ", accumulator, " is outside the plane's 0..", chip.mxm_accumulators() - 1,
                      " (mxm.accumulator_vectors; a Repeat's stride steps it)");
}

std::string ProductsInFlightText(const isa::ChipModel& chip, int64_t products_in_flight) {
  if (products_in_flight == 0) return std::string();
  return absl::StrCat(" (", products_in_flight, " still in flight: a Multiply's result lands d_func = ",
                      chip.latency_cycles(isa::Opcode::kMultiply), " cycles after it issues)");
}

// ---- Ports and links ---------------------------------------------------------

std::string NotDeskewedCause(const isa::ChipModel& chip, int slice, int64_t port) {
  return absl::StrCat("uses port ", port, " of ", chip.slices()[slice].name,
                      " before a Deskew aligned it; a program starts with `Deskew port=", port,
                      "` on every port it uses");
}

std::string ReceiveBeforeArrivalCause(int64_t port, int64_t next_arrival) {
  return absl::StrCat("receives on port ", port, " before any vector has arrived there",
                      next_arrival != INT64_MAX
                          ? absl::StrCat(" (the next arrives at cycle ", next_arrival,
                                         "; links have no back pressure, so the Receive must be scheduled at or "
                                         "after it)")
                          : std::string(" (none is due)"));
}

std::string ReceiveBufferOverflowCause(const isa::ChipModel& chip, int64_t port, int64_t arrival,
                                       int64_t overflow_arrival) {
  return absl::StrCat("takes the vector that arrived on port ", port, " at cycle ", arrival, ", but the port holds ",
                      chip.c2c_receive_buffer_vectors(),
                      " vector(s) (c2c.receive_buffer_vectors) and another arrived at cycle ", overflow_arrival,
                      ", so it was lost; receive by cycle ", overflow_arrival - 1, " or space the sends further apart");
}

std::string ReceivesOtherSendCause(int from_chip, absl::string_view from_queue, int64_t send_cycle,
                                   const isa::Source& sent, int64_t intended_cycle) {
  return absl::StrCat("takes the vector chip ", from_chip, "'s queue ", from_queue, " sent at cycle ", send_cycle,
                      ", not the intended one chip ", sent.chip(), "'s queue ", sent.remote_queue(),
                      " sends at cycle ", intended_cycle);
}

std::string DepartureWhere(int chip, absl::string_view slice, int port, int chip_port, int64_t departure) {
  return absl::StrCat("chip ", chip, ", ", slice, " port ", port, " (chip port ", chip_port, "), cycle ", departure);
}

std::string NoLinkCause() { return "a Send departs on a port that no link connects"; }

std::string LinkBusyCause(int link, int peer_chip, int64_t last_departure, int64_t link_free, int64_t serialization) {
  return absl::StrCat("a Send departs on link ", link, " (to chip ", peer_chip, ") while the vector that departed at ",
                      "cycle ", last_departure, " is still being serialized until cycle ", link_free,
                      "; a link carries one vector per ", serialization, " cycles, so depart at cycle ", link_free,
                      " or later");
}

std::string NoReceiverCause(int peer_chip) {
  return absl::StrCat("a Send departs to chip ", peer_chip, ", which has no program to receive it");
}

std::string NoSuchChipCause(int chip, int chips) {
  return absl::StrCat("a program is given for chip ", chip, "; the system has chips 0..", chips - 1);
}

// ---- Sync ------------------------------------------------------------------

std::string ParkedCause(int64_t parked_cycle, int64_t next_release) {
  return absl::StrCat("the queue is parked by the Sync at cycle ", parked_cycle, " and no Notify has released it ",
                      next_release == INT64_MAX ? std::string("(none issued since)")
                                                : absl::StrCat("(the next release is at cycle ", next_release, ")"));
}

// ---- The end of a run --------------------------------------------------------

std::string UnreceivedArrivalError(const std::string& chip_label, absl::string_view slice, int port,
                                   int64_t arrival_cycle) {
  return absl::StrCat(chip_label, ", ", slice, " port ", port, ", cycle ", arrival_cycle,
                      ": a vector arrived and no Receive took it (there is no buffering beyond the link: every "
                      "arrival needs its Receive)");
}

std::string OutputNotWrittenError(const std::string& chip_label, const isa::ChipModel& chip,
                                  const DecodedProgram& program, const DecodedOutput& output, const Producer& found,
                                  const Producer& intended) {
  return absl::StrCat(chip_label, ", ", chip.slices()[output.slice].name, " address ", output.address,
                      ": the run ends with this output holding the value of ", DescribeFound(chip, program, found),
                      ", not the intended ", DescribeIntended(chip, program, intended));
}

std::string ProductsNeverReadOutError(const std::string& chip_label, const isa::ChipModel& chip,
                                      const DecodedProgram& program, int slice, int accumulator, int64_t products,
                                      const Producer& last) {
  return absl::StrCat(chip_label, ", ", chip.slices()[slice].name, ": the run ends with ", products,
                      " Multiply result(s) in accumulator ", accumulator, " never read out, the last from ",
                      DescribeFound(chip, program, last),
                      "; every product is accumulated and read out by an Accumulate");
}

std::string LoadsNeverInstalledError(const std::string& chip_label, const isa::ChipModel& chip,
                                     const DecodedProgram& program, int slice, int64_t loads, int64_t landed,
                                     const Producer& last) {
  return absl::StrCat(
      chip_label, ", ", chip.slices()[slice].name, ": the run ends with ", loads, " LoadWeights never installed",
      landed > 0 ? absl::StrCat(", the last from ", DescribeFound(chip, program, last)) : std::string(),
      "; weights loaded are installed by an InstallWeights");
}

}  // namespace tsp::emulator
