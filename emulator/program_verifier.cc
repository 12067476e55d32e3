#include "emulator/program_verifier.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/accumulators.h"
#include "emulator/decoded_program.h"
#include "emulator/messages.h"
#include "isa/hazards.h"
#include "isa/status_macros.h"
#include "isa/timing.h"

namespace tsp::emulator {
namespace {

using isa::Opcode;

// One issue of an instruction: itself, or a repetition of a Repeat.
// 32 bytes: a large unit has millions.
struct Issue {
  int64_t cycle = 0;
  int32_t queue = 0;  // Index in DecodedProgram::queues.
  int32_t repetition = -1;  // -1: not a repetition (DecodedInstruction::n is 32 bits).
  const DecodedInstruction* instruction = nullptr;
  int64_t offset = 0;  // The Repeat's stride times the repetition number.
};

// The first error found, by the cycle the emulator would report it in.
class FirstError {
 public:
  // `landing`: found where a result lands (before the cycle's issues);
  // `queue_rule`: a queue's next instruction refused, which the emulator
  // finds only once the queue's previous issue in that cycle has run.
  void Offer(int64_t cycle, bool landing, int queue, absl::Status status, bool queue_rule = false) {
    const std::tuple<int64_t, int, int, int> key(cycle, landing ? 0 : 1, queue, queue_rule ? 1 : 0);
    if (!status_.has_value() || key < key_) {
      key_ = key;
      status_ = std::move(status);
    }
  }
  // Whether an error at `cycle` could still come first.
  bool Open(int64_t cycle) const { return !status_.has_value() || cycle <= std::get<0>(key_); }
  absl::Status status() const { return status_.value_or(absl::OkStatus()); }
  int64_t cycle() const { return status_.has_value() ? std::get<0>(key_) : 0; }

 private:
  std::tuple<int64_t, int, int, int> key_;
  std::optional<absl::Status> status_;
};

}  // namespace

// Every lookup is into a vector sorted once (no hash maps): a large unit has
// millions of values and reads, and a sorted array is searched in cache.
class ChipVerifier::Impl {
 public:
  // About 13 GB of the verifier's lists; a chip of the 576-chip llama2_70b
  // step issues under a million. Also what StreamValue's 32-bit index holds.
  static constexpr size_t kMaxIssues = size_t{1} << 28;

  Impl(const isa::ChipModel& chip, const DecodedProgram& program, std::string label)
      : chip_(chip), program_(program), label_(std::move(label)), streams_(2 * chip.streams_per_direction()) {
    const size_t count = IssueCount();
    if (count > kMaxIssues) {  // Refused before anything is allocated for them.
      first_.Offer(0, true, 0,
                   absl::ResourceExhaustedError(absl::StrCat(
                       label_, ": the program issues ", count, " instructions (repetitions counted), more than the ",
                       kMaxIssues, " the verifier checks in memory; split it or check it by running it")));
      return;
    }
    issues_.reserve(count);
    ExpandIssues();
    PlaceResults();
  }

  const std::vector<OutboundVector>& Sent() const { return sent_; }

  const std::vector<int64_t>& EventCycles() {
    if (event_cycles_.empty() && !issues_.empty()) {
      event_cycles_ = icu_cycles_;
      for (const Issue& issue : issues_) {
        event_cycles_.push_back(issue.cycle);
        if (issue.instruction->opcode != Opcode::kDeskew) {
          event_cycles_.push_back(isa::ResultCycle(chip_, issue.instruction->opcode, issue.cycle));
        }
      }
      std::sort(event_cycles_.begin(), event_cycles_.end());
      event_cycles_.erase(std::unique(event_cycles_.begin(), event_cycles_.end()), event_cycles_.end());
    }
    return event_cycles_;
  }

  ChipVerdict Check(const std::vector<InboundVector>& inbound) {
    CheckSyncs();
    CheckMxm();
    const PortArrivals arrivals = Arrivals(inbound);
    CheckPorts(arrivals);
    CheckReads();
    ChipVerdict verdict;
    verdict.run = first_.status();
    verdict.cycle = first_.cycle();
    if (verdict.run.ok()) verdict.end = CheckEnd(arrivals);
    return verdict;
  }

 private:
  // A value on one stream (`streams_` holds one list per direction and
  // stream): two values on a diagonal always meet (isa::StreamDiagonal).
  // 16 bytes (its landing follows from its issue): every repetition of a
  // weight Read is one.
  struct StreamValue {
    int64_t diagonal;
    uint32_t issue;  // Index in issues_ (Impl checks they fit).
    int32_t origin;
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
  // The vectors arriving at each (C2C slice, port), oldest first.
  using PortArrivals = std::map<std::pair<int, int>, std::vector<const InboundVector*>>;
  // A queue parked by a Sync, and the issue that waits for its release.
  struct SyncWait {
    int64_t parked;
    int64_t cycle;
    int queue;
    const DecodedInstruction* instruction;
  };
  struct Notify {
    int64_t cycle;
    int queue;
    int64_t release;
  };

  absl::Status Hazard(const Issue& issue, int64_t cycle, absl::string_view cause) const {
    return absl::FailedPreconditionError(absl::StrCat(
        Where(label_, chip_, program_, issue.queue, *issue.instruction, cycle, issue.repetition), ": ", cause));
  }
  absl::Status Hazard(const Issue& issue, absl::string_view cause) const { return Hazard(issue, issue.cycle, cause); }
  Producer Made(size_t i) const {
    const Issue& issue = issues_[i];
    return {issue.queue, issue.instruction->index, issue.cycle};
  }
  int Slice(const Issue& issue) const { return program_.queues[issue.queue].slice; }
  int64_t Landing(size_t i) const { return isa::ResultCycle(chip_, issues_[i].instruction->opcode, issues_[i].cycle); }
  int MemIndex(const Issue& issue) const { return chip_.slices()[Slice(issue)].kind_index; }
  int Ring(isa::Direction direction, int stream) const {
    return (direction == isa::EAST ? 0 : chip_.streams_per_direction()) + stream;
  }
  int64_t Shift(const Issue& issue) const { return issue.cycle - issue.instruction->cycle; }
  // Issues in the order the emulator issues them: by cycle, then queue.
  std::vector<size_t> IssueOrder(const std::vector<size_t>& indices) const {
    std::vector<size_t> order = indices;
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return std::tie(issues_[x].cycle, issues_[x].queue) < std::tie(issues_[y].cycle, issues_[y].queue);
    });
    return order;
  }

  // Issues of non-ICU instructions, repetitions counted: issues_ is sized
  // once (grown by doubling, a large unit's list would be copied and its
  // fresh pages cleared twice over), and a program too large is refused.
  size_t IssueCount() const {
    size_t count = 0;
    for (const DecodedQueue& queue : program_.queues) {
      for (const DecodedInstruction& instruction : queue.instructions) {
        if (instruction.opcode == Opcode::kRepeat) {
          count += static_cast<size_t>(std::max<int32_t>(0, instruction.n));
        } else if (isa::GetOpcodeInfo(instruction.opcode).kind != isa::SLICE_ICU) {
          ++count;
        }
      }
    }
    return count;
  }

  // Every issue of every queue, checking the queue's order and occupancy and
  // its Syncs as it goes (a queue error ends its queue: what follows would
  // not issue).
  void ExpandIssues() {
    queue_issues_.resize(program_.queues.size());
    producer_hint_.assign(program_.queues.size(), 0);

    for (size_t q = 0; q < program_.queues.size(); ++q) {
      queue_issues_[q].first = issues_.size();
      const DecodedQueue& queue = program_.queues[q];
      const DecodedInstruction* last = nullptr;
      int64_t last_issue = 0, free_cycle = 0;
      int64_t last_run = 0;  // When the queue last issued (a Repeat's last repetition).
      std::optional<int64_t> parked;
      for (const DecodedInstruction& instruction : queue.instructions) {
        if (last != nullptr) {
          const isa::Hazard rule = isa::QueueIssue(instruction.cycle, last_issue, free_cycle,
                                                   {static_cast<int>(q), last->index, last_issue});
          if (!rule.ok()) {
            // The emulator comes to it once the queue's last issue has run.
            first_.Offer(
                std::max(instruction.cycle, last_run), false, static_cast<int>(q),
                Hazard({instruction.cycle, static_cast<int32_t>(q), -1, &instruction},
                       QueueRuleCause(rule, program_, queue, *last, last_issue, free_cycle, instruction.cycle)),
                /*queue_rule=*/true);
            break;
          }
        }
        if (parked.has_value()) {
          sync_waits_.push_back({*parked, instruction.cycle, static_cast<int>(q), &instruction});
          parked.reset();
        }
        last = &instruction;
        last_issue = instruction.cycle;
        last_run = instruction.opcode == Opcode::kRepeat
                       ? std::max(instruction.cycle,
                                  isa::RepetitionCycle(instruction.cycle, instruction.every, instruction.n - 1))
                       : instruction.cycle;
        free_cycle = isa::QueueFreeCycle(instruction.opcode, instruction.cycle, instruction.n, instruction.every);
        if (isa::GetOpcodeInfo(instruction.opcode).kind != isa::SLICE_ICU) {
          AddIssue({instruction.cycle, static_cast<int32_t>(q), -1, &instruction});
        } else if (instruction.opcode == Opcode::kRepeat) {
          const DecodedInstruction* repeated = &instruction - 1;  // DecodeProgram checks there is one.
          for (int64_t r = 0; r < instruction.n; ++r) {
            AddIssue({isa::RepetitionCycle(instruction.cycle, instruction.every, r), static_cast<int32_t>(q),
                      static_cast<int32_t>(r), repeated, instruction.stride * (r + 1)});
          }
        } else {
          icu_cycles_.push_back(instruction.cycle);
          if (instruction.opcode == Opcode::kSync) parked = instruction.cycle;
          if (instruction.opcode == Opcode::kNotify) {
            notifies_.push_back({instruction.cycle, static_cast<int>(q),
                                 isa::ResultCycle(chip_, Opcode::kNotify, instruction.cycle)});
          }
        }
      }
      queue_issues_[q].second = issues_.size();
    }
    std::sort(notifies_.begin(), notifies_.end(),
              [](const Notify& x, const Notify& y) { return std::tie(x.cycle, x.queue) < std::tie(y.cycle, y.queue); });
    // Sends, in the order their vectors depart (landing, then issue order).
    std::vector<size_t> sends = IssueOrder(sends_);
    std::stable_sort(sends.begin(), sends.end(), [&](size_t x, size_t y) {
      return isa::ResultCycle(chip_, Opcode::kSend, issues_[x].cycle) <
             isa::ResultCycle(chip_, Opcode::kSend, issues_[y].cycle);
    });
    for (size_t i : sends) {
      const Issue& issue = issues_[i];
      OutboundVector vector;
      vector.slice = chip_.slices()[Slice(issue)].name;
      vector.port = static_cast<int>(issue.instruction->port);
      vector.departure_cycle = isa::ResultCycle(chip_, Opcode::kSend, issue.cycle);
      vector.queue = chip_.queues()[program_.queues[issue.queue].queue].name;
      vector.send_cycle = issue.cycle;
      sent_.push_back(std::move(vector));
    }
  }

  void AddIssue(const Issue& issue) {
    switch (issue.instruction->opcode) {
      case Opcode::kLoadWeights:
      case Opcode::kInstallWeights:
      case Opcode::kMultiply:
      case Opcode::kAccumulate:
        mxm_.push_back(issues_.size());
        break;
      case Opcode::kSend:
        sends_.push_back(issues_.size());
        break;
      case Opcode::kReceive:
        receives_.push_back(issues_.size());
        break;
      case Opcode::kDeskew:
        deskews_.push_back(issues_.size());
        break;
      default:
        break;
    }
    issues_.push_back(issue);
  }

  // Where every result lands: stream values on their diagonals, SRAM words;
  // two values on one diagonal, or two writes landing in one bank in one
  // cycle, are errors where the later lands.
  void PlaceResults() {
    std::vector<size_t> ring_sizes(streams_.size(), 0);
    for (const Issue& issue : issues_) {
      const StreamGroup& group = issue.instruction->dst;
      if (issue.instruction->opcode == Opcode::kWrite) continue;
      for (int k = 0; k < group.width; ++k) ++ring_sizes[Ring(group.direction, group.first + k)];
    }
    for (size_t ring = 0; ring < streams_.size(); ++ring) streams_[ring].reserve(ring_sizes[ring]);
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
            {isa::StreamDiagonal(group.direction, position, landing), static_cast<uint32_t>(i), position});
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
        return landed_first(Landing(x.issue), x.issue, Landing(y.issue), y.issue);
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
        const int64_t later_landing = Landing(later.issue);
        const int64_t meet_cycle = other_upstream
                                       ? later_landing
                                       : isa::StreamArrivalCycle(direction, later.origin, later_landing, other.origin);
        const Issue& issue = issues_[later.issue];
        first_.Offer(later_landing, true, issue.queue,
                     Hazard(issue, later_landing,
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

  // A queue parked by a Sync issues its next instruction only once the first
  // Notify issued since (before that issue, in the emulator's order) is released.
  void CheckSyncs() {
    for (const SyncWait& wait : sync_waits_) {
      auto notify = std::lower_bound(notifies_.begin(), notifies_.end(), wait.parked,
                                     [](const Notify& n, int64_t cycle) { return n.cycle < cycle; });
      const bool issued = notify != notifies_.end() &&
                          std::tie(notify->cycle, notify->queue) < std::tie(wait.cycle, wait.queue);
      if (issued && notify->release <= wait.cycle) continue;
      first_.Offer(wait.cycle, false, wait.queue,
                   Hazard({wait.cycle, wait.queue, -1, wait.instruction},
                          ParkedCause(wait.parked, issued ? notify->release : INT64_MAX)));
    }
  }

  // ---- The MXM ---------------------------------------------------------------

  // What a plane holds, as its own events (LoadWeights, InstallWeights,
  // Multiply, Accumulate issuing and landing) leave it.
  struct Plane {
    std::deque<std::pair<int64_t, int64_t>> loads_in_flight;  // (issue, landing), oldest first.
    int64_t loads_landed = 0;  // Since the last install took the buffer.
    Producer last_load;
    bool buffer_loaded = false;
    isa::ElementType buffer_type = isa::ELEMENT_TYPE_UNSPECIFIED;
    isa::ElementType staged_type = isa::ELEMENT_TYPE_UNSPECIFIED;
    Producer staged_by;
    int64_t installed_cycle = INT64_MIN;  // INT64_MIN: nothing usable installed.
    isa::ElementType installed_type = isa::ELEMENT_TYPE_UNSPECIFIED;
    Producer installed_by;
    int lost_slice = -1;  // Whose install took a pair's fp16 weights away, and when.
    int64_t lost_cycle = 0;
    Accumulators accumulators;
  };

  // The MXM's events replayed in the emulator's order: in a cycle, results
  // land first (in issue order), then queues issue (in queue order).
  void CheckMxm() {
    struct Event {
      int64_t cycle;
      int phase;  // 0: lands, 1: issues.
      int64_t issued;
      int queue;
      size_t issue;
    };
    std::vector<Event> events;
    events.reserve(2 * mxm_.size());
    for (size_t i : mxm_) {
      const Issue& issue = issues_[i];
      events.push_back({issue.cycle, 1, issue.cycle, issue.queue, i});
      events.push_back({isa::ResultCycle(chip_, issue.instruction->opcode, issue.cycle), 0, issue.cycle, issue.queue, i});
    }
    std::sort(events.begin(), events.end(), [](const Event& x, const Event& y) {
      return std::tie(x.cycle, x.phase, x.issued, x.queue) < std::tie(y.cycle, y.phase, y.issued, y.queue);
    });
    planes_.assign(chip_.slices().size(), Plane());
    for (const Event& event : events) {
      if (!first_.Open(event.cycle)) return;
      const Issue& issue = issues_[event.issue];
      if (event.phase == 0) {
        Land(issue, event.issue, event.cycle);
        continue;
      }
      absl::Status status = IssueMxm(issue, event.issue);
      if (!status.ok()) {
        first_.Offer(issue.cycle, false, issue.queue, std::move(status));
        return;  // The run stops here: what follows would not happen.
      }
    }
  }

  absl::Status IssueMxm(const Issue& issue, size_t i) {
    const DecodedInstruction& instruction = *issue.instruction;
    const int slice = Slice(issue);
    Plane& plane = planes_[slice];
    const int64_t now = issue.cycle;
    switch (instruction.opcode) {
      case Opcode::kLoadWeights:
        if (!RowsFit(issue)) return absl::OkStatus();  // Reported with its reads (CheckIssue).
        plane.loads_in_flight.push_back({now, isa::ResultCycle(chip_, Opcode::kLoadWeights, now)});
        return absl::OkStatus();
      case Opcode::kInstallWeights: {
        int64_t missed_lands = INT64_MIN;
        for (const auto& [issued, lands] : plane.loads_in_flight) {
          if (issued < now) missed_lands = lands;
        }
        if (!isa::InstallWeights(now, missed_lands, {}).ok()) {
          return Hazard(issue, InstallBeforeLoadLandedCause(plane.loads_in_flight.front().first, missed_lands));
        }
        if (!plane.buffer_loaded) return Hazard(issue, EmptyWeightBufferCause());
        if (instruction.intent != nullptr && instruction.intent->has_loads()) {
          const isa::Source& loads = instruction.intent->loads();
          if (!TakesIntended(program_, loads, Shift(issue), plane.loads_landed, plane.last_load)) {
            const int64_t in_flight = static_cast<int64_t>(plane.loads_in_flight.size());
            return Hazard(issue, CountNotIntendedCause(
                                     chip_, program_, kInstallTakes, plane.loads_landed, plane.last_load, loads,
                                     Shift(issue),
                                     LoadsInFlightText(in_flight, in_flight == 0 ? 0 : plane.loads_in_flight.back().second)));
          }
        }
        plane.staged_type = plane.buffer_type;
        plane.staged_by = Made(i);
        plane.loads_landed = 0;
        return absl::OkStatus();
      }
      case Opcode::kMultiply: {
        const int64_t k = instruction.accumulator + issue.offset;
        if (!isa::Multiply(now, plane.installed_cycle == INT64_MIN ? INT64_MAX : plane.installed_cycle).ok()) {
          return Hazard(issue, MultiplyBeforeInstallCause(
                                   chip_, slice,
                                   plane.lost_slice < 0 ? std::string()
                                                        : WeightsReplacedText(chip_, plane.lost_slice, plane.lost_cycle)));
        }
        if (!MultiplyTypesMatch(instruction.type, plane.installed_type)) {
          return Hazard(issue, MultiplyTypeCause(instruction.type, plane.installed_type));
        }
        if (instruction.intent != nullptr && instruction.intent->has_weights()) {
          const Producer intended = Intended(program_, instruction.intent->weights(), Shift(issue));
          if (!(plane.installed_by == intended)) {
            return Hazard(issue, NotIntendedCause(chip_, program_, "its weights", plane.installed_by, &intended));
          }
        }
        if (!AccumulatorInRange(chip_, k)) return Hazard(issue, AccumulatorOutOfRangeCause(chip_, k));
        ++plane.accumulators[k].products_in_flight;
        return absl::OkStatus();
      }
      case Opcode::kAccumulate: {
        const int64_t k = instruction.accumulator + issue.offset;
        if (!AccumulatorInRange(chip_, k)) return Hazard(issue, AccumulatorOutOfRangeCause(chip_, k));
        Accumulator& accumulator = plane.accumulators[k];
        if (!isa::Accumulate(now, accumulator.products_accumulated == 0 ? INT64_MAX : accumulator.first_product_landed)
                 .ok()) {
          return Hazard(issue, AccumulateBeforeProductsCause(chip_, k, accumulator.products_in_flight));
        }
        if (instruction.intent != nullptr && instruction.intent->has_products()) {
          const isa::Source& products = instruction.intent->products();
          if (!TakesIntended(program_, products, Shift(issue), accumulator.products_accumulated,
                             accumulator.last_product)) {
            return Hazard(issue, CountNotIntendedCause(chip_, program_, kAccumulateReadsOut,
                                                       accumulator.products_accumulated, accumulator.last_product,
                                                       products, Shift(issue),
                                                       ProductsInFlightText(chip_, accumulator.products_in_flight)));
          }
        }
        accumulator.products_accumulated = 0;
        return absl::OkStatus();
      }
      default:
        return absl::OkStatus();
    }
  }

  void Land(const Issue& issue, size_t i, int64_t now) {
    const DecodedInstruction& instruction = *issue.instruction;
    const int slice = Slice(issue);
    Plane& plane = planes_[slice];
    switch (instruction.opcode) {
      case Opcode::kLoadWeights:
        if (!RowsFit(issue)) return;
        plane.loads_in_flight.pop_front();
        ++plane.loads_landed;
        plane.last_load = Made(i);
        plane.buffer_loaded = true;
        plane.buffer_type = instruction.type;
        return;
      case Opcode::kInstallWeights: {
        // fp16 weights span a pair of planes (the first holds the pair);
        // installing on either member replaces what the pair held.
        const int partner = chip_.slices()[slice].kind_index % 2 == 0 ? slice + 1 : slice - 1;
        Plane& other = planes_[partner];
        if (plane.staged_type == isa::FP16 || other.installed_type == isa::FP16) {
          other.installed_cycle = INT64_MIN;
          other.installed_type = isa::ELEMENT_TYPE_UNSPECIFIED;
          other.installed_by = Producer();
          other.lost_slice = slice;
          other.lost_cycle = now;
        }
        plane.installed_cycle = now;
        plane.installed_type = plane.staged_type;
        plane.installed_by = plane.staged_by;
        plane.lost_slice = -1;
        return;
      }
      case Opcode::kMultiply: {
        const int64_t k = instruction.accumulator + issue.offset;
        if (!AccumulatorInRange(chip_, k)) return;  // Rejected when it issued.
        Accumulator& accumulator = plane.accumulators[k];
        --accumulator.products_in_flight;
        if (accumulator.products_accumulated++ == 0) accumulator.first_product_landed = now;
        accumulator.last_product = Made(i);
        return;
      }
      default:
        return;
    }
  }

  bool RowsFit(const Issue& issue) const {
    const int64_t row = issue.instruction->row + issue.offset;
    return row >= 0 && row + issue.instruction->rows <= chip_.mxm_rows();
  }

  // ---- Ports -----------------------------------------------------------------

  // Whether a Deskew of `port` on `slice` issued before (cycle, queue).
  bool Deskewed(int slice, int64_t port, int64_t cycle, int queue) const {
    for (size_t d : deskews_) {
      const Issue& deskew = issues_[d];
      if (Slice(deskew) == slice && deskew.instruction->port == port &&
          std::tie(deskew.cycle, deskew.queue) < std::tie(cycle, queue)) {
        return true;
      }
    }
    return false;
  }

  // The arrivals at each (slice, port), in arrival order (delivery order for
  // equal cycles), as the emulator holds them.
  PortArrivals Arrivals(const std::vector<InboundVector>& inbound) const {
    PortArrivals arrivals;
    for (const InboundVector& vector : inbound) {
      std::optional<int> slice = chip_.FindSlice(vector.slice);
      if (!slice.has_value()) continue;  // The system routes only to C2C slices.
      arrivals[{*slice, vector.port}].push_back(&vector);
    }
    for (auto& [port, vectors] : arrivals) {
      std::stable_sort(vectors.begin(), vectors.end(), [](const InboundVector* x, const InboundVector* y) {
        return x->arrival_cycle < y->arrival_cycle;
      });
    }
    return arrivals;
  }

  // Each Receive takes the oldest vector its port holds, in issue order.
  void CheckPorts(const PortArrivals& arrivals) {
    std::map<std::pair<int, int>, size_t> taken;
    const int buffer = chip_.c2c_receive_buffer_vectors();
    for (size_t i : IssueOrder(receives_)) {
      const Issue& issue = issues_[i];
      if (!first_.Open(issue.cycle)) return;
      const DecodedInstruction& instruction = *issue.instruction;
      const int64_t now = issue.cycle;
      const std::pair<int, int> port(Slice(issue), static_cast<int>(instruction.port));
      absl::Status status;
      if (!Deskewed(port.first, instruction.port, now, issue.queue)) {
        status = Hazard(issue, NotDeskewedCause(chip_, port.first, instruction.port));
      } else {
        static const std::vector<const InboundVector*> kNone;
        auto found = arrivals.find(port);
        const std::vector<const InboundVector*>& vectors = found == arrivals.end() ? kNone : found->second;
        const size_t k = taken[port]++;
        // Held: what the system has delivered by now and no Receive took.
        auto held = [&](size_t j) { return j < vectors.size() && vectors[j]->delivered_after < now; };
        if (!held(k) || !isa::Receive(now, vectors[k]->arrival_cycle).ok()) {
          status = Hazard(issue, ReceiveBeforeArrivalCause(instruction.port,
                                                           held(k) ? vectors[k]->arrival_cycle : INT64_MAX));
        } else {
          const int64_t overflow = held(k + buffer) ? vectors[k + buffer]->arrival_cycle : INT64_MAX;
          const InboundVector& vector = *vectors[k];
          if (!isa::ReceiveBuffer(now, overflow).ok()) {
            status = Hazard(issue, ReceiveBufferOverflowCause(chip_, instruction.port, vector.arrival_cycle, overflow));
          } else if (instruction.intent != nullptr && instruction.intent->has_sent()) {
            const isa::Source& sent = instruction.intent->sent();
            const int64_t intended_cycle = sent.cycle() + Shift(issue);
            if (!ReceivesIntendedSend(vector.from_chip, vector.from_queue, vector.send_cycle, sent, intended_cycle)) {
              status = Hazard(issue, ReceivesOtherSendCause(vector.from_chip, vector.from_queue, vector.send_cycle,
                                                            sent, intended_cycle));
            }
          }
        }
      }
      if (!status.ok()) {
        first_.Offer(now, false, issue.queue, std::move(status));
        return;
      }
    }
  }

  // ---- Reads -----------------------------------------------------------------

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
      case Opcode::kLoadWeights:
        if (!RowsFit(issue)) {
          return Hazard(issue, WeightRowsOutOfRangeCause(chip_, instruction.row + issue.offset, instruction.rows));
        }
        return ReadGroup(issue, "a", instruction.a);
      case Opcode::kSend:
        if (!Deskewed(Slice(issue), instruction.port, issue.cycle, issue.queue)) {
          return Hazard(issue, NotDeskewedCause(chip_, Slice(issue), instruction.port));
        }
        return ReadGroup(issue, "a", instruction.a);
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
    {  // The common case first, in one search: the last write landed by now is the one meant.
      auto after = std::upper_bound(sram_.begin(), sram_.end(), std::make_tuple(mem, address, issue.cycle),
                                    [](const auto& key, const SramWrite& w) {
                                      return key < std::tie(w.mem, w.address, w.landing);
                                    });
      Producer landed;
      if (after != sram_.begin() && std::tie((after - 1)->mem, (after - 1)->address) == word) {
        landed = Made((after - 1)->issue);
      }
      if (MemoryIntentHolds(program_, memory, instruction, issue.repetition, address, landed)) {
        return absl::OkStatus();
      }
    }
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

  // Whether the value an operand's intent names is on stream `k` of `group`
  // at (`position`, the read's cycle, on `diagonal`): the check on every
  // operand, looked up by its producer (a queue's issues are in cycle order)
  // rather than among the stream's values. Exact because a diagonal holds one
  // value until two meet, which PlaceResults reports where they meet, no
  // later than any read that could tell them apart.
  bool IntendedValueThere(const Issue& read, const IntentSpan& sources, const StreamGroup& group, int k, int position,
                          int64_t diagonal) const {
    if (sources.size == 0) return false;
    const Producer intended = Intended(program_, sources, sources.size == 1 ? 0 : k, Shift(read));
    if (intended.queue < 0) return false;
    const auto [begin, end] = queue_issues_[intended.queue];
    // A queue's values are mostly read in the order it makes them: look next
    // to the last one found before searching.
    size_t& hint = producer_hint_[intended.queue];
    std::vector<Issue>::const_iterator made;
    if (hint + 1 > begin && hint + 1 < end && issues_[hint + 1].cycle == intended.issue_cycle) {
      made = issues_.begin() + ++hint;
    } else {
      made = std::lower_bound(issues_.begin() + begin, issues_.begin() + end, intended.issue_cycle,
                              [](const Issue& i, int64_t cycle) { return i.cycle < cycle; });
      if (made == issues_.begin() + end || made->cycle != intended.issue_cycle) return false;
      hint = made - issues_.begin();
    }
    const DecodedInstruction& instruction = *made->instruction;
    const StreamGroup& dst = instruction.dst;
    const int stream = group.first + k;
    if (instruction.opcode == Opcode::kWrite || dst.direction != group.direction || stream < dst.first ||
        stream >= dst.first + dst.width) {
      return false;
    }
    const int origin = program_.queues[made->queue].slice;
    const int64_t landing = isa::ResultCycle(chip_, instruction.opcode, made->cycle);
    return isa::StreamDiagonal(group.direction, origin, landing) == diagonal &&
           (group.direction == isa::EAST ? origin <= position : origin >= position);
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
      if (IntendedValueThere(issue, sources, group, k, position, diagonal)) continue;
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

  // ---- The end of the run --------------------------------------------------

  // In the emulator's order: arrivals never received, declared outputs,
  // then each plane's products and loads.
  absl::Status CheckEnd(const PortArrivals& arrivals) const {
    std::map<std::pair<int, int>, size_t> received;
    for (size_t i : receives_) ++received[{Slice(issues_[i]), static_cast<int>(issues_[i].instruction->port)}];
    for (const auto& [port, vectors] : arrivals) {
      auto count = received.find(port);
      const size_t taken = count == received.end() ? 0 : count->second;
      if (taken < vectors.size()) {
        const InboundVector& vector = *vectors[taken];
        return absl::FailedPreconditionError(
            UnreceivedArrivalError(label_, vector.slice, vector.port, vector.arrival_cycle));
      }
    }
    for (const DecodedOutput& output : program_.outputs) {
      const int mem = chip_.slices()[output.slice].kind_index;
      const std::tuple<int, int64_t> word(mem, output.address);
      auto end = std::upper_bound(sram_.begin(), sram_.end(), word,
                                  [](const auto& key, const SramWrite& w) { return key < std::tie(w.mem, w.address); });
      Producer landed;
      if (end != sram_.begin() && std::tie((end - 1)->mem, (end - 1)->address) == word) landed = Made((end - 1)->issue);
      const Producer intended = Intended(program_, *output.written_by, 0);
      if (!(landed == intended)) {
        return absl::FailedPreconditionError(
            OutputNotWrittenError(label_, chip_, program_, output, landed, intended));
      }
    }
    for (size_t slice = 0; slice < planes_.size(); ++slice) {
      const Plane& plane = planes_[slice];
      if (const int k = plane.accumulators.FirstHoldingProducts(); k >= 0) {
        const Accumulator& accumulator = plane.accumulators.at(k);
        return absl::FailedPreconditionError(ProductsNeverReadOutError(
            label_, chip_, program_, static_cast<int>(slice), k,
            accumulator.products_accumulated + accumulator.products_in_flight, accumulator.last_product));
      }
      if (plane.loads_landed > 0 || !plane.loads_in_flight.empty()) {
        return absl::FailedPreconditionError(LoadsNeverInstalledError(
            label_, chip_, program_, static_cast<int>(slice),
            plane.loads_landed + static_cast<int64_t>(plane.loads_in_flight.size()), plane.loads_landed,
            plane.last_load));
      }
    }
    return absl::OkStatus();
  }

  const isa::ChipModel& chip_;
  const DecodedProgram& program_;
  const std::string label_;
  std::vector<Issue> issues_;
  std::vector<std::pair<size_t, size_t>> queue_issues_;  // Each queue's issues_, in cycle order.
  mutable std::vector<size_t> producer_hint_;            // Per queue: its issue last found as a producer.
  std::vector<size_t> mxm_, sends_, receives_, deskews_;  // Indices in issues_, by kind.
  std::vector<int64_t> icu_cycles_;  // Issues of Nop, Sync and Notify.
  std::vector<SyncWait> sync_waits_;
  std::vector<Notify> notifies_;     // By (cycle, queue).
  std::vector<OutboundVector> sent_;
  std::vector<int64_t> event_cycles_;
  FirstError first_;
  std::vector<std::vector<StreamValue>> streams_;  // [direction][stream], by diagonal.
  std::vector<SramWrite> sram_;
  std::vector<BankWrite> banks_;  // By (slice, bank, landing).
  std::vector<Plane> planes_;     // By slice (MXM slices only), after CheckMxm.
};

ChipVerifier::ChipVerifier(const isa::ChipModel& chip, const DecodedProgram& program, std::string chip_label)
    : impl_(std::make_unique<Impl>(chip, program, std::move(chip_label))) {}
ChipVerifier::~ChipVerifier() = default;
const std::vector<OutboundVector>& ChipVerifier::Sent() const { return impl_->Sent(); }
const std::vector<int64_t>& ChipVerifier::EventCycles() const { return impl_->EventCycles(); }
ChipVerdict ChipVerifier::Check(const std::vector<InboundVector>& inbound) { return impl_->Check(inbound); }

absl::Status VerifyChipProgram(const isa::ChipModel& chip, const isa::Program& program, const std::string& chip_label,
                               const std::vector<InboundVector>& inbound) {
  ASSIGN_OR_RETURN(const DecodedProgram decoded, DecodeProgram(chip, program, chip_label));
  return VerifyDecodedProgram(chip, decoded, chip_label, inbound);
}

absl::Status VerifyDecodedProgram(const isa::ChipModel& chip, const DecodedProgram& program,
                                  const std::string& chip_label, const std::vector<InboundVector>& inbound) {
  return ChipVerifier(chip, program, chip_label).Check(inbound).status();
}

}  // namespace tsp::emulator
