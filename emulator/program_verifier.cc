#include "emulator/program_verifier.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/decoded_program.h"
#include "emulator/messages.h"
#include "isa/hazards.h"
#include "isa/status_macros.h"
#include "isa/timing.h"

namespace tsp::emulator {
namespace {

using isa::Opcode;

// One issue of an instruction: itself, or a repetition of a Repeat.
struct Issue {
  int64_t cycle = 0;
  int queue = 0;  // Index in DecodedProgram::queues.
  const DecodedInstruction* instruction = nullptr;
  int64_t offset = 0;       // The Repeat's stride times the repetition number.
  int64_t repetition = -1;  // -1: not a repetition.
};

// The first error found, by the cycle the emulator would report it in.
class FirstError {
 public:
  // `landing`: found where a result lands (before the cycle's issues).
  void Offer(int64_t cycle, bool landing, int queue, absl::Status status) {
    const std::tuple<int64_t, int, int> key(cycle, landing ? 0 : 1, queue);
    if (!status_.has_value() || key < key_) {
      key_ = key;
      status_ = std::move(status);
    }
  }
  // Whether an error at `cycle` could still come first.
  bool Open(int64_t cycle) const { return !status_.has_value() || cycle <= std::get<0>(key_); }
  absl::Status status() const { return status_.value_or(absl::OkStatus()); }

 private:
  std::tuple<int64_t, int, int> key_;
  std::optional<absl::Status> status_;
};

// Every lookup is into a vector sorted once (no hash maps): a large unit has
// millions of values and reads, and a sorted array is searched in cache.
class Verifier {
 public:
  Verifier(const isa::ChipModel& chip, const DecodedProgram& program, const std::string& label)
      : chip_(chip), program_(program), label_(label), streams_(2 * chip.streams_per_direction()) {}

  absl::Status Run() {
    ExpandIssues();
    PlaceResults();
    CheckReads();
    return first_.status();
  }

 private:
  // A value on one stream (`streams_` holds one list per direction and
  // stream): two values on a diagonal always meet (isa::StreamDiagonal).
  struct StreamValue {
    int64_t diagonal;
    int64_t landing;
    int origin;
    size_t issue;
  };
  // A write of a word: sorted by (slice, address, landing), which is issue
  // order too (every Write has the same latency).
  struct SramWrite {
    int mem;
    int64_t address;
    int64_t landing;
    size_t issue;
  };
  struct BankWrite {
    int mem;
    int bank;
    int64_t landing;
    size_t issue;
  };

  absl::Status Hazard(const Issue& issue, int64_t cycle, absl::string_view cause) const {
    return absl::FailedPreconditionError(absl::StrCat(
        Where(label_, chip_, program_, issue.queue, *issue.instruction, cycle, issue.repetition), ": ", cause));
  }
  Producer Made(size_t i) const {
    const Issue& issue = issues_[i];
    return {issue.queue, issue.instruction->index, issue.cycle};
  }
  int MemIndex(const Issue& issue) const { return chip_.slices()[program_.queues[issue.queue].slice].kind_index; }
  int Ring(isa::Direction direction, int stream) const {
    return (direction == isa::EAST ? 0 : chip_.streams_per_direction()) + stream;
  }

  // Every issue of every queue, checking the queue's order and occupancy as
  // it goes (a queue error ends its queue: what follows would not issue).
  void ExpandIssues() {
    for (size_t q = 0; q < program_.queues.size(); ++q) {
      const DecodedQueue& queue = program_.queues[q];
      const DecodedInstruction* last = nullptr;
      int64_t last_issue = 0, free_cycle = 0;
      for (const DecodedInstruction& instruction : queue.instructions) {
        if (last != nullptr) {
          const isa::Hazard rule = isa::QueueIssue(instruction.cycle, last_issue, free_cycle,
                                                   {static_cast<int>(q), last->index, last_issue});
          if (!rule.ok()) {
            first_.Offer(
                instruction.cycle, false, static_cast<int>(q),
                Hazard({instruction.cycle, static_cast<int>(q), &instruction}, instruction.cycle,
                       QueueRuleCause(rule, program_, queue, *last, last_issue, free_cycle, instruction.cycle)));
            break;
          }
        }
        last = &instruction;
        last_issue = instruction.cycle;
        free_cycle = isa::QueueFreeCycle(instruction.opcode, instruction.cycle, instruction.n, instruction.every);
        if (isa::GetOpcodeInfo(instruction.opcode).kind != isa::SLICE_ICU) {
          issues_.push_back({instruction.cycle, static_cast<int>(q), &instruction});
        } else if (instruction.opcode == Opcode::kRepeat) {
          const DecodedInstruction* repeated = &instruction - 1;  // DecodeProgram checks there is one.
          for (int64_t r = 0; r < instruction.n; ++r) {
            issues_.push_back({isa::RepetitionCycle(instruction.cycle, instruction.every, r), static_cast<int>(q),
                               repeated, instruction.stride * (r + 1), r});
          }
        }
      }
    }
  }

  // Where every result lands: stream values on their diagonals, SRAM words;
  // two values on one diagonal, or two writes landing in one bank in one
  // cycle, are errors where the later lands.
  void PlaceResults() {
    for (size_t i = 0; i < issues_.size(); ++i) {
      const Issue& issue = issues_[i];
      const DecodedInstruction& instruction = *issue.instruction;
      const int64_t landing = isa::ResultCycle(chip_, instruction.opcode, issue.cycle);
      if (instruction.opcode == Opcode::kWrite) {
        const int64_t address = instruction.address + issue.offset;
        if (address < 0 || address >= chip_.mem_addresses()) continue;  // Reported at its issue.
        const int mem = MemIndex(issue);
        sram_.push_back({mem, address, landing, i});
        banks_.push_back({mem, isa::MemBank(chip_, address), landing, i});
        continue;
      }
      const StreamGroup& group = instruction.dst;
      const int position = program_.queues[issue.queue].slice;
      for (int k = 0; k < group.width; ++k) {
        streams_[Ring(group.direction, group.first + k)].push_back(
            {isa::StreamDiagonal(group.direction, position, landing), landing, position, i});
      }
    }
    // Ties in landing order by queue, as the emulator lands them.
    auto landed_first = [&](int64_t x_landing, size_t x, int64_t y_landing, size_t y) {
      return std::tie(x_landing, issues_[x].queue, x) < std::tie(y_landing, issues_[y].queue, y);
    };
    for (size_t ring = 0; ring < streams_.size(); ++ring) {
      std::vector<StreamValue>& values = streams_[ring];
      std::sort(values.begin(), values.end(), [&](const StreamValue& x, const StreamValue& y) {
        if (x.diagonal != y.diagonal) return x.diagonal < y.diagonal;
        return landed_first(x.landing, x.issue, y.landing, y.issue);
      });
      const isa::Direction direction =
          ring < static_cast<size_t>(chip_.streams_per_direction()) ? isa::EAST : isa::WEST;
      const int stream = static_cast<int>(ring % chip_.streams_per_direction());
      for (size_t v = 1; v < values.size(); ++v) {
        if (values[v].diagonal != values[v - 1].diagonal) continue;
        // Same trajectory: they meet where the later-starting one enters.
        const StreamValue& other = values[v - 1];
        const StreamValue& later = values[v];
        const bool other_upstream =
            direction == isa::EAST ? other.origin <= later.origin : other.origin >= later.origin;
        const int meet = other_upstream ? later.origin : other.origin;
        const int64_t meet_cycle = other_upstream
                                       ? later.landing
                                       : isa::StreamArrivalCycle(direction, later.origin, later.landing, other.origin);
        const Issue& issue = issues_[later.issue];
        first_.Offer(later.landing, true, issue.queue,
                     Hazard(issue, later.landing,
                            StreamSlotCause(chip_, program_, direction, stream, Made(other.issue), meet, meet_cycle)));
      }
    }
    std::sort(sram_.begin(), sram_.end(), [&](const SramWrite& x, const SramWrite& y) {
      if (x.mem != y.mem || x.address != y.address) return std::tie(x.mem, x.address) < std::tie(y.mem, y.address);
      return landed_first(x.landing, x.issue, y.landing, y.issue);
    });
    std::sort(banks_.begin(), banks_.end(), [&](const BankWrite& x, const BankWrite& y) {
      if (x.mem != y.mem || x.bank != y.bank) return std::tie(x.mem, x.bank) < std::tie(y.mem, y.bank);
      return landed_first(x.landing, x.issue, y.landing, y.issue);
    });
    for (size_t w = 1; w < banks_.size(); ++w) {
      const BankWrite& other = banks_[w - 1];
      const BankWrite& later = banks_[w];
      if (std::tie(other.mem, other.bank, other.landing) != std::tie(later.mem, later.bank, later.landing)) continue;
      const Issue& issue = issues_[later.issue];
      first_.Offer(later.landing, true, issue.queue,
                   Hazard(issue, later.landing, BankWritesMeetCause(chip_, program_, later.bank, Made(other.issue))));
    }
  }

  // Every operand read at its issue, against the writes placed; the
  // earliest error wins, whatever order they are found in.
  void CheckReads() {
    for (const Issue& issue : issues_) {
      if (!first_.Open(issue.cycle)) continue;
      absl::Status status = CheckIssue(issue);
      if (!status.ok()) first_.Offer(issue.cycle, false, issue.queue, std::move(status));
    }
  }

  absl::Status CheckIssue(const Issue& issue) const {
    const DecodedInstruction& instruction = *issue.instruction;
    switch (instruction.opcode) {
      case Opcode::kRead:
        return CheckSramRead(issue);
      case Opcode::kWrite:
        RETURN_IF_ERROR(CheckAddress(issue, instruction.address + issue.offset));
        return ReadGroup(issue, "a", instruction.a);
      case Opcode::kGather:
        return ReadGroup(issue, "a (map)", instruction.a);
      case Opcode::kScatter:
        RETURN_IF_ERROR(ReadGroup(issue, "a (map)", instruction.a));
        return ReadGroup(issue, "b", instruction.b);
      case Opcode::kAccumulate:
      case Opcode::kInstallWeights:
      case Opcode::kReceive:
      case Opcode::kDeskew:
        return absl::OkStatus();
      default:
        RETURN_IF_ERROR(ReadGroup(issue, "a", instruction.a));
        RETURN_IF_ERROR(ReadGroup(issue, "b", instruction.b));
        return ReadGroup(issue, "c", instruction.c);
    }
  }

  absl::Status CheckAddress(const Issue& issue, int64_t address) const {
    if (address < 0 || address >= chip_.mem_addresses()) {
      return Hazard(issue, issue.cycle, AddressOutOfRangeCause(chip_, address));
    }
    return absl::OkStatus();
  }

  absl::Status CheckSramRead(const Issue& issue) const {
    const DecodedInstruction& instruction = *issue.instruction;
    const int64_t address = instruction.address + issue.offset;
    RETURN_IF_ERROR(CheckAddress(issue, address));
    const int mem = MemIndex(issue);
    const int bank = isa::MemBank(chip_, address);
    auto write = std::lower_bound(banks_.begin(), banks_.end(), std::make_tuple(mem, bank, issue.cycle),
                                  [](const BankWrite& w, const std::tuple<int, int, int64_t>& key) {
                                    return std::tie(w.mem, w.bank, w.landing) < key;
                                  });
    if (write != banks_.end() &&
        std::tie(write->mem, write->bank, write->landing) == std::make_tuple(mem, bank, issue.cycle)) {
      return Hazard(issue, issue.cycle, BankReadMeetsWriteCause(chip_, program_, bank, Made(write->issue)));
    }
    if (instruction.intent == nullptr) return absl::OkStatus();
    const IntentSpan memory = program_.queues[issue.queue].Intent(instruction, IntentList::kMemory);
    if (memory.size == 0) return absl::OkStatus();
    // The word's writes, in landing (and issue) order: the last landed by
    // now (landings come first in a cycle), and the last issued before this
    // read (a cycle's issues go by queue).
    const std::tuple<int, int64_t> word(mem, address);
    auto first = std::lower_bound(sram_.begin(), sram_.end(), word,
                                  [](const SramWrite& w, const auto& key) { return std::tie(w.mem, w.address) < key; });
    auto end = std::upper_bound(first, sram_.end(), word,
                                [](const auto& key, const SramWrite& w) { return key < std::tie(w.mem, w.address); });
    Producer landed, issued;
    int64_t issued_landing = 0;
    auto landed_end =
        std::upper_bound(first, end, issue.cycle, [](int64_t cycle, const SramWrite& w) { return cycle < w.landing; });
    if (landed_end != first) landed = Made((landed_end - 1)->issue);
    auto issued_end = std::partition_point(first, end, [&](const SramWrite& w) {
      const Issue& write = issues_[w.issue];
      return std::tie(write.cycle, write.queue) < std::tie(issue.cycle, issue.queue);
    });
    if (issued_end != first) {
      issued = Made((issued_end - 1)->issue);
      issued_landing = (issued_end - 1)->landing;
    }
    const std::string cause = MemoryIntentCause(chip_, program_, memory, instruction, issue.repetition, address,
                                                issue.cycle, landed, issued, issued_landing);
    if (cause.empty()) return absl::OkStatus();
    return Hazard(issue, issue.cycle, cause);
  }

  absl::Status ReadGroup(const Issue& issue, absl::string_view operand, const StreamGroup& group) const {
    if (group.width == 0) return absl::OkStatus();
    const DecodedInstruction& instruction = *issue.instruction;
    const int position = program_.queues[issue.queue].slice;
    IntentSpan sources;
    if (instruction.intent != nullptr) {
      sources = program_.queues[issue.queue].Intent(instruction, operand[0] == 'a'   ? IntentList::kA
                                                                 : operand[0] == 'b' ? IntentList::kB
                                                                                     : IntentList::kC);
    }
    const int64_t diagonal = isa::StreamDiagonal(group.direction, position, issue.cycle);
    for (int k = 0; k < group.width; ++k) {
      const std::vector<StreamValue>& values = streams_[Ring(group.direction, group.first + k)];
      auto value = std::lower_bound(values.begin(), values.end(), diagonal,
                                    [](const StreamValue& v, int64_t d) { return v.diagonal < d; });
      bool found = false;
      Producer producer;
      if (value != values.end() && value->diagonal == diagonal) {
        found = group.direction == isa::EAST ? value->origin <= position : value->origin >= position;
        producer = Made(value->issue);
      }
      if (!StreamOperandHolds(program_, sources, instruction, k, issue.cycle, found, producer)) {
        return Hazard(issue, issue.cycle,
                      StreamOperandCause(chip_, program_, sources, instruction, operand, group, k, position,
                                         issue.cycle, found, producer));
      }
    }
    return absl::OkStatus();
  }

  const isa::ChipModel& chip_;
  const DecodedProgram& program_;
  const std::string& label_;
  std::vector<Issue> issues_;
  FirstError first_;
  std::vector<std::vector<StreamValue>> streams_;  // [direction][stream], by diagonal.
  std::vector<SramWrite> sram_;
  std::vector<BankWrite> banks_;  // By (slice, bank, landing).
};

}  // namespace

absl::Status VerifyChipProgram(const isa::ChipModel& chip, const isa::Program& program, const std::string& chip_label) {
  ASSIGN_OR_RETURN(const DecodedProgram decoded, DecodeProgram(chip, program, chip_label));
  return VerifyDecodedProgram(chip, decoded, chip_label);
}

absl::Status VerifyDecodedProgram(const isa::ChipModel& chip, const DecodedProgram& program,
                                  const std::string& chip_label) {
  return Verifier(chip, program, chip_label).Run();
}

}  // namespace tsp::emulator
