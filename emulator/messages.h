#ifndef TSP_EMULATOR_MESSAGES_H_
#define TSP_EMULATOR_MESSAGES_H_

// The texts of the errors a program's checks report, shared by the emulator
// (which finds them by running the program) and the verifier (which finds
// them from the program alone), so that both say the same thing.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "emulator/decoded_program.h"
#include "emulator/producer.h"
#include "isa/chip_model.h"
#include "isa/element_type.h"
#include "isa/hazards.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

// "chip 0, queue MEM_W3, cycle 1204, `@1204 Read address=16 dst=E3`", with
// " (repetition 2 of a Repeat)" for a repetition.
std::string Where(const std::string& chip_label, const isa::ChipModel& chip, const DecodedProgram& program, int queue,
                  const DecodedInstruction& instruction, int64_t cycle, int64_t repetition);

// "queue VXM.0's `@12 Add.fp32 ...` (issued at cycle 12)".
std::string DescribeProducer(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& producer);

// The producer an intent names (its instruction found by issue cycle), or the
// queue and cycle when no instruction of the queue is listed there (a
// repetition).
std::string DescribeIntended(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& intended);

// A found producer, or "the initial contents (no write)" for none.
std::string DescribeFound(const isa::ChipModel& chip, const DecodedProgram& program, const Producer& found);

// "E3", "W17".
std::string StreamName(isa::Direction direction, int stream);

// The producer entry `i` of an intent list names, `shift` cycles on (a
// repetition's).
inline Producer Intended(const DecodedProgram& program, const IntentSpan& sources, int i, int64_t shift) {
  return {program.queue_of_program_queue[sources.data[i].queue], -1, sources.data[i].at + shift};
}

// "<operand> reads the value of <found>, not the intended <intended><hint>";
// `intended` null: the initial contents.
std::string NotIntendedCause(const isa::ChipModel& chip, const DecodedProgram& program, absl::string_view operand,
                             const Producer& found, const Producer* intended, absl::string_view hint = "");

// Why a queue cannot issue its instruction of `cycle` after `previous`
// (issued at `last_issue_cycle`, the queue busy until `free_cycle`).
std::string QueueRuleCause(const isa::Hazard& rule, const DecodedProgram& program, const DecodedQueue& queue,
                           const DecodedInstruction& previous, int64_t last_issue_cycle, int64_t free_cycle,
                           int64_t cycle);

// A stream operand finds no value; `intended` (may be null) is its intent.
std::string NoStreamValueCause(const isa::ChipModel& chip, const DecodedProgram& program, absl::string_view operand,
                               isa::Direction direction, int stream, int position, int64_t cycle,
                               const Producer* intended);

// A result meets `other`'s value in a stream-register slot.
std::string StreamSlotCause(const isa::ChipModel& chip, const DecodedProgram& program, isa::Direction direction,
                            int stream, const Producer& other, int position, int64_t cycle);

std::string AddressOutOfRangeCause(const isa::ChipModel& chip, int64_t address);

// A read of `bank` in the cycle `write`'s result lands there.
std::string BankReadMeetsWriteCause(const isa::ChipModel& chip, const DecodedProgram& program, int bank,
                                    const Producer& write);
// A write landing in `bank` in the cycle `other`'s does.
std::string BankWritesMeetCause(const isa::ChipModel& chip, const DecodedProgram& program, int bank,
                                const Producer& other);

// Stream `k` of operand `operand` (group `group`) of `instruction` (issued
// at `now`) found `found` (`producer`, when found) at `position`: what is
// wrong against the operand's intent `sources`, or "" when nothing is.
std::string StreamOperandCause(const isa::ChipModel& chip, const DecodedProgram& program, const IntentSpan& sources,
                               const DecodedInstruction& instruction, absl::string_view operand,
                               const StreamGroup& group, int k, int position, int64_t now, bool found,
                               const Producer& producer);

// Whether stream `k` of an operand, issued at `now`, found (`found`) the
// value its intent `sources` names: the check on every operand read, inline;
// StreamOperandCause says what is wrong when it fails.
inline bool StreamOperandHolds(const DecodedProgram& program, const IntentSpan& sources,
                               const DecodedInstruction& instruction, int k, int64_t now, bool found,
                               const Producer& producer) {
  if (!found) return false;
  return sources.size == 0 ||
         producer == Intended(program, sources, sources.size == 1 ? 0 : k, now - instruction.cycle);
}

// The entry of a Read's memory intent for `repetition`, and for an entry
// naming the initial contents (queue -1), the address it means.
inline int MemoryIntentEntry(const IntentSpan& memory, int64_t repetition) {
  return memory.size == 1 ? 0 : static_cast<int>(repetition + 1);
}
inline int64_t MeantInitialAddress(const IntentSpan& memory, int entry, const DecodedInstruction& instruction,
                                   int64_t address) {
  const int64_t at = memory.data[entry].at;
  return at < 0 ? address : at + (memory.size == 1 ? address - instruction.address : 0);
}

// Whether a Read (repetition `repetition`) of `address`, whose last landed
// write is `landed`, reads what its memory intent names: the check on every
// Read, inline; MemoryIntentCause says what is wrong when it fails.
inline bool MemoryIntentHolds(const DecodedProgram& program, const IntentSpan& memory,
                              const DecodedInstruction& instruction, int64_t repetition, int64_t address,
                              const Producer& landed) {
  if (memory.size == 0) return true;
  const int entry = MemoryIntentEntry(memory, repetition);
  if (memory.data[entry].queue == -1) {
    return landed.queue < 0 && MeantInitialAddress(memory, entry, instruction, address) == address;
  }
  return landed == Intended(program, memory, entry, 0);
}

// A Read (repetition `repetition`, issued at `now`) of `address` whose last
// landed write is `landed` (queue -1: none) and last issued one `issued`
// (landing at `issued_landing`): what is wrong against its memory intent
// `memory`, or "" when nothing is.
std::string MemoryIntentCause(const isa::ChipModel& chip, const DecodedProgram& program, const IntentSpan& memory,
                              const DecodedInstruction& instruction, int64_t repetition, int64_t address, int64_t now,
                              const Producer& landed, const Producer& issued, int64_t issued_landing);

// The producer an isa::Source names (an install's loads, a Multiply's
// weights, an Accumulate's products), `shift` cycles on (a repetition's).
inline Producer Intended(const DecodedProgram& program, const isa::Source& source, int64_t shift) {
  return {program.queue_of_program_queue[source.queue()], -1, source.cycle() + shift};
}

// ---- The MXM ---------------------------------------------------------------

std::string WeightRowsOutOfRangeCause(const isa::ChipModel& chip, int64_t row, int64_t rows);
// An install while a LoadWeights issued at `load_issue` lands at `load_landing`.
std::string InstallBeforeLoadLandedCause(int64_t load_issue, int64_t load_landing);
std::string EmptyWeightBufferCause();
// `lost_weights`: why installed weights went away, or "".
std::string MultiplyBeforeInstallCause(const isa::ChipModel& chip, int slice, absl::string_view lost_weights);
// Why an install on `slice` at `cycle` took a pair's fp16 weights away.
std::string WeightsReplacedText(const isa::ChipModel& chip, int slice, int64_t cycle);
// Whether a Multiply of `activations` may use installed `weights`.
inline bool MultiplyTypesMatch(isa::ElementType activations, isa::ElementType weights) {
  return activations == weights;
}
std::string MultiplyTypeCause(isa::ElementType activations, isa::ElementType weights);
std::string AccumulateBeforeProductsCause(const isa::ChipModel& chip, int64_t accumulator, int64_t products_in_flight);
// Whether a Multiply or an Accumulate names an accumulator the plane has.
inline bool AccumulatorInRange(const isa::ChipModel& chip, int64_t accumulator) {
  return accumulator >= 0 && accumulator < chip.mxm_accumulators();
}
std::string AccumulatorOutOfRangeCause(const isa::ChipModel& chip, int64_t accumulator);

// Whether an InstallWeights' loads or an Accumulate's products (`count`
// taken, the last `last`) are the ones its intent names (`shift` cycles on):
// the check, inline; CountNotIntendedCause says what is wrong when it fails.
inline bool TakesIntended(const DecodedProgram& program, const isa::Source& intent, int64_t shift, int64_t count,
                          const Producer& last) {
  return count == intent.count() && last == Intended(program, intent, shift);
}

// An InstallWeights' loads or an Accumulate's products: `count` taken, the
// last `last`, against the intent `intent` (its last, `shift` cycles on).
struct CountWords {
  absl::string_view verb;     // "takes"
  absl::string_view counted;  // "LoadWeights since the last install"
  absl::string_view last;     // "the last"
};
inline constexpr CountWords kInstallTakes{"takes", "LoadWeights since the last install", "the last"};
inline constexpr CountWords kAccumulateReadsOut{"reads out", "products", "the last from"};
std::string CountNotIntendedCause(const isa::ChipModel& chip, const DecodedProgram& program, const CountWords& words,
                                  int64_t count, const Producer& last, const isa::Source& intent, int64_t shift,
                                  absl::string_view in_flight);
// What is still in flight when an install or an Accumulate takes too few.
std::string LoadsInFlightText(int64_t loads_in_flight, int64_t last_landing);
std::string ProductsInFlightText(const isa::ChipModel& chip, int64_t products_in_flight);

// ---- Ports and links ---------------------------------------------------------

std::string NotDeskewedCause(const isa::ChipModel& chip, int slice, int64_t port);
// A Receive with no vector arrived; `next_arrival` INT64_MAX when none is due.
std::string ReceiveBeforeArrivalCause(int64_t port, int64_t next_arrival);
std::string ReceiveBufferOverflowCause(const isa::ChipModel& chip, int64_t port, int64_t arrival,
                                       int64_t overflow_arrival);
std::string ReceivesOtherSendCause(int from_chip, absl::string_view from_queue, int64_t send_cycle,
                                   const isa::Source& sent, int64_t intended_cycle);
// Whether a Receive took the vector its intent names (`sent`, shifted).
inline bool ReceivesIntendedSend(int from_chip, absl::string_view from_queue, int64_t send_cycle,
                                 const isa::Source& sent, int64_t intended_cycle) {
  return from_chip < 0 ||
         (from_chip == sent.chip() && from_queue == sent.remote_queue() && send_cycle == intended_cycle);
}
// "chip 3, C2C_W port 1 (chip port 5), cycle 120": where a departure fails.
std::string DepartureWhere(int chip, absl::string_view slice, int port, int chip_port, int64_t departure);
std::string NoLinkCause();
std::string LinkBusyCause(int link, int peer_chip, int64_t last_departure, int64_t link_free, int64_t serialization);
std::string NoReceiverCause(int peer_chip);
// A system's program for a chip it does not have.
std::string NoSuchChipCause(int chip, int chips);

// ---- Sync ------------------------------------------------------------------

// An issue on a queue parked at `parked_cycle`; `next_release` INT64_MAX when
// no Notify has issued since.
std::string ParkedCause(int64_t parked_cycle, int64_t next_release);

// ---- The end of a run --------------------------------------------------------

std::string UnreceivedArrivalError(const std::string& chip_label, absl::string_view slice, int port,
                                   int64_t arrival_cycle);
std::string OutputNotWrittenError(const std::string& chip_label, const isa::ChipModel& chip,
                                  const DecodedProgram& program, const DecodedOutput& output, const Producer& found,
                                  const Producer& intended);
std::string ProductsNeverReadOutError(const std::string& chip_label, const isa::ChipModel& chip,
                                      const DecodedProgram& program, int slice, int accumulator, int64_t products,
                                      const Producer& last);
// `landed`: loads landed (the last `last`), of `loads` in all.
std::string LoadsNeverInstalledError(const std::string& chip_label, const isa::ChipModel& chip,
                                     const DecodedProgram& program, int slice, int64_t loads, int64_t landed,
                                     const Producer& last);

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_MESSAGES_H_
