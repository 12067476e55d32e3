#include "emulator/chip_emulator.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <queue>
#include <set>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "emulator/accumulators.h"
#include "emulator/matrix_plane.h"
#include "emulator/messages.h"
#include "emulator/program_verifier.h"
#include "emulator/sram.h"
#include "emulator/stream_registers.h"
#include "emulator/switch_unit.h"
#include "emulator/vector_unit.h"
#include "isa/assembler.h"
#include "isa/element_type.h"
#include "isa/hazards.h"
#include "isa/status_macros.h"
#include "isa/timing.h"

namespace tsp::emulator {

using isa::ChipModel;
using isa::Opcode;

namespace {

// What a result does when it lands.
enum class ResultKind { kStream, kSram, kScatter, kWeightRows, kInstall, kProduct, kSend };

struct PendingResult {
  int64_t cycle;
  int64_t sequence;  // Issue order: ties within a cycle land in issue order.
  ResultKind kind;
  int queue;         // Index into the runtime queues.
  const DecodedInstruction* instruction;
  int64_t repetition;
  int slice;
  StreamGroup group;            // kStream: destination.
  int64_t address = 0;          // kSram: address; kWeightRows: first row; kProduct: its accumulator.
  int buffer = -1;              // Functional data, index into the buffer pool.
  std::vector<int64_t> tile_addresses;  // kScatter.
};

// Heap entry of a pending result: small and trivially copyable, so the heap
// moves 24 bytes, not the result itself (which waits in a slab).
struct ResultKey {
  int64_t cycle;
  int64_t sequence;
  int slot;
  bool operator>(const ResultKey& other) const {
    return cycle != other.cycle ? cycle > other.cycle : sequence > other.sequence;
  }
};

// How far ahead of the current cycle a value may at least go on the streams
// early (a result's latency; a batch's Read latency plus repetitions; the
// rings' power-of-two size usually allows more); beyond it results land as
// events and Repeats run one repetition at a time. Small, so the rings stay
// small.
constexpr int kEarlyLookahead = 16;

bool PutsStreamValuesEarly(const RunOptions& options) {
  return !options.functional && !options.record_trace && options.early_stream_values;
}

struct QueueRuntime {
  const DecodedQueue* queue;
  size_t next = 0;                 // Next instruction to issue.
  int64_t free_cycle = 0;          // Earliest cycle the queue may issue again.
  const DecodedInstruction* last_issued = nullptr;
  int64_t last_issue_cycle = -1;
  const DecodedInstruction* repeat = nullptr;    // Active Repeat, if any.
  const DecodedInstruction* repeated = nullptr;  // The instruction it repeats.
  int64_t repetition = 0;                        // Next repetition to issue.
  int64_t repeat_stride = 0;
  bool parked = false;             // In a Sync, waiting for a Notify.
  int64_t parked_cycle = 0;
};

struct MxmPlaneState {
  MatrixPlane plane;
  bool buffer_loaded = false;
  isa::ElementType buffer_type = isa::ELEMENT_TYPE_UNSPECIFIED;
  // LoadWeights in flight as (issue cycle, landing cycle), oldest first (one
  // latency for all, so they land in issue order).
  std::deque<std::pair<int64_t, int64_t>> loads_in_flight;
  isa::ElementType staged_type = isa::ELEMENT_TYPE_UNSPECIFIED;
  int64_t installed_cycle = INT64_MIN;  // INT64_MIN: nothing usable installed.
  isa::ElementType installed_type = isa::ELEMENT_TYPE_UNSPECIFIED;
  std::string lost_weights;  // Why installed weights went away, for messages.
  Accumulators accumulators;
  // What made the MXM's values, for the intent checks and the end of run:
  // LoadWeights landed since the last install took the buffer, and the last
  // of them; the install staged and the one whose weights are in use (the
  // accumulators keep their products' own).
  int64_t loads_landed = 0;
  Producer last_load;
  Producer staged_by;
  Producer installed_by;
  explicit MxmPlaneState(int size) : plane(size) {}
};

}  // namespace

class ChipEmulator::Impl {
 public:
  Impl(const ChipModel& chip, const isa::Program& program, RunOptions options)
      : chip_(chip),
        program_(program),
        options_(std::move(options)),
        lanes_(chip.lanes()),
        early_streams_(PutsStreamValuesEarly(options_)),
        streams_(chip.positions(), chip.streams_per_direction(), chip.lanes(), options_.functional,
                 early_streams_ ? kEarlyLookahead : 0),
        sram_(static_cast<int>(chip.SlicesOfKind(isa::SLICE_MEM).size()), chip.mem_addresses(),
              chip.lanes(), chip.mem_banks(), options_.functional) {}

  absl::Status Load() {
    ASSIGN_OR_RETURN(decoded_, DecodeProgram(chip_, program_, options_.chip_label));
    if (options_.verify) {
      RETURN_IF_ERROR(VerifyDecodedProgram(chip_, decoded_, options_.chip_label, options_.inbound));
    }
    for (const DecodedMemoryImage& image : decoded_.memory) {
      const int mem_index = chip_.slices()[image.slice].kind_index;
      for (int64_t v = 0; v * lanes_ < static_cast<int64_t>(image.data->size()); ++v) {
        sram_.WriteVector(mem_index, image.address + v,
                          reinterpret_cast<const uint8_t*>(image.data->data()) + v * lanes_);
      }
    }
    for (const isa::SliceInfo& slice : chip_.slices()) {
      if (slice.kind == isa::SLICE_MXM) planes_.emplace(slice.position, MxmPlaneState(lanes_));
    }
    for (const InboundVector& vector : options_.inbound) RETURN_IF_ERROR(AddInbound(vector));
    runtimes_.reserve(decoded_.queues.size());
    for (const DecodedQueue& queue : decoded_.queues) runtimes_.push_back(QueueRuntime{&queue});
    result_.busy_cycles.assign(chip_.slices().size(), 0);
    busy_through_.assign(chip_.slices().size(), -1);
    return absl::OkStatus();
  }

  // Queues schedule their first issue lazily, on the first Advance.
  void Start() {
    if (started_) return;
    started_ = true;
    for (size_t q = 0; q < runtimes_.size(); ++q) ScheduleQueue(static_cast<int>(q), 0);
  }

  std::optional<int64_t> NextEventCycle() {
    Start();
    int64_t next = INT64_MAX;
    if (!issues_.empty()) next = issues_.top().first;
    if (!results_.empty()) next = std::min(next, results_.top().cycle);
    if (next == INT64_MAX) return std::nullopt;
    return next;
  }

  absl::Status AdvanceTo(int64_t horizon) {
    Start();
    while (true) {
      std::optional<int64_t> next = NextEventCycle();
      if (!next.has_value() || *next > horizon) break;
      const int64_t now = *next;
      if (now > options_.cycle_limit) {
        return absl::ResourceExhaustedError(absl::StrCat(
            options_.chip_label, ": the program runs past the cycle limit ",
            options_.cycle_limit, " (RunOptions::cycle_limit)"));
      }
      result_.last_event_cycle = now;
      while (!results_.empty() && results_.top().cycle == now) {
        const int slot = results_.top().slot;
        results_.pop();
        RETURN_IF_ERROR(Land(result_slab_[slot]));
        ReleaseBuffer(result_slab_[slot].buffer);
        free_result_slots_.push_back(slot);
      }
      while (!issues_.empty() && issues_.top().first == now) {
        const int q = issues_.top().second;
        issues_.pop();
        RETURN_IF_ERROR(IssueNext(q, now));
        ScheduleQueue(q, now);
      }
    }
    advanced_to_ = std::max(advanced_to_, horizon);
    return absl::OkStatus();
  }

  absl::Status AddInbound(const InboundVector& vector) {
    std::optional<int> slice = chip_.FindSlice(vector.slice);
    if (!slice.has_value() || chip_.slices()[*slice].kind != isa::SLICE_C2C || vector.port < 0 ||
        vector.port >= chip_.c2c_ports_per_slice()) {
      return absl::InvalidArgumentError(absl::StrCat(options_.chip_label, ": inbound vector for ",
                                                     vector.slice, " port ", vector.port,
                                                     ": no such C2C slice and port"));
    }
    if (options_.functional && static_cast<int>(vector.data.size()) != lanes_) {
      return absl::InvalidArgumentError(absl::StrCat(
          options_.chip_label, ": inbound vector for ", vector.slice, " port ", vector.port,
          " at cycle ", vector.arrival_cycle, " has ", vector.data.size(), " bytes, not ", lanes_));
    }
    if (started_ && vector.arrival_cycle <= advanced_to_) {
      return absl::InternalError(absl::StrCat(options_.chip_label, ": a vector arriving at cycle ",
                                              vector.arrival_cycle,
                                              " was delivered after the chip ran to cycle ",
                                              advanced_to_));
    }
    std::deque<InboundVector>& arrivals = inbound_[{*slice, vector.port}];
    // Keep arrival order; equal cycles keep delivery order.
    auto position = std::upper_bound(arrivals.begin(), arrivals.end(), vector.arrival_cycle,
                                     [](int64_t cycle, const InboundVector& v) {
                                       return cycle < v.arrival_cycle;
                                     });
    arrivals.insert(position, vector);
    return absl::OkStatus();
  }

  std::vector<OutboundVector> TakeSent() {
    std::vector<OutboundVector> sent = std::move(result_.sent);
    result_.sent.clear();
    return sent;
  }

  absl::StatusOr<RunResult> Finish() {
    for (const auto& [key, arrivals] : inbound_) {
      if (!arrivals.empty()) {
        const InboundVector& vector = arrivals.front();
        return absl::FailedPreconditionError(
            UnreceivedArrivalError(options_.chip_label, vector.slice, vector.port, vector.arrival_cycle));
      }
    }
    for (const DecodedOutput& output : decoded_.outputs) {
      const Sram::Writers& writers = sram_.WritersOf(chip_.slices()[output.slice].kind_index, output.address);
      const Producer intended = Intended(*output.written_by, 0);
      if (!(writers.landed == intended)) {
        return absl::FailedPreconditionError(
            OutputNotWrittenError(options_.chip_label, chip_, decoded_, output, writers.landed, intended));
      }
    }
    for (const auto& [position, state] : planes_) {
      if (const int k = state.accumulators.FirstHoldingProducts(); k >= 0) {
        const Accumulator& accumulator = state.accumulators.at(k);
        return absl::FailedPreconditionError(ProductsNeverReadOutError(
            options_.chip_label, chip_, decoded_, position, k,
            accumulator.products_accumulated + accumulator.products_in_flight, accumulator.last_product));
      }
      if (state.loads_landed > 0 || !state.loads_in_flight.empty()) {
        return absl::FailedPreconditionError(LoadsNeverInstalledError(
            options_.chip_label, chip_, decoded_, position,
            state.loads_landed + static_cast<int64_t>(state.loads_in_flight.size()), state.loads_landed,
            state.last_load));
      }
    }
    result_.last_event_cycle = std::max(result_.last_event_cycle, early_last_cycle_);
    if (result_.last_event_cycle >= 0) {
      result_.completion_cycle = isa::LastSuperlaneCycle(chip_, result_.last_event_cycle) + 1;
    }
    return std::move(result_);
  }

  absl::StatusOr<RunResult> Run() {
    RETURN_IF_ERROR(AdvanceTo(INT64_MAX));
    return Finish();
  }

  bool early_stream_values() const { return early_streams_; }
  const RunOptions& options() const { return options_; }
  const ChipModel& chip() const { return chip_; }
  const isa::Program& program() const { return program_; }
  const DecodedProgram& decoded() const { return decoded_; }

  absl::StatusOr<std::string> ReadMemory(absl::string_view slice_name, int64_t address,
                                         int64_t vectors) const {
    std::optional<int> slice = chip_.FindSlice(slice_name);
    if (!slice.has_value() || chip_.slices()[*slice].kind != isa::SLICE_MEM) {
      return absl::InvalidArgumentError(absl::StrCat("no MEM slice '", slice_name, "'"));
    }
    if (!options_.functional) {
      return absl::FailedPreconditionError("memory has no values in timing-only mode");
    }
    if (address < 0 || vectors < 0 || address + vectors > chip_.mem_addresses()) {
      return absl::OutOfRangeError(absl::StrCat("addresses ", address, "..",
                                                address + vectors - 1, " are outside 0..",
                                                chip_.mem_addresses() - 1));
    }
    std::string bytes;
    for (int64_t v = 0; v < vectors; ++v) {
      const uint8_t* vector = sram_.Vector(chip_.slices()[*slice].kind_index, address + v);
      bytes.append(reinterpret_cast<const char*>(vector), lanes_);
    }
    return bytes;
  }

  std::string FormatTrace(const std::vector<TraceEvent>& trace) const {
    std::string text;
    for (const TraceEvent& event : trace) {
      const DecodedQueue& queue = decoded_.queues[event.queue];
      absl::StrAppend(&text, event.cycle, " ", chip_.queues()[queue.queue].name, " ",
                      event.kind == TraceKind::kIssue ? "issue " : "result ", "`",
                      isa::PrintInstruction(queue.source->instructions(event.instruction), &program_), "`");
      if (event.repetition >= 0) absl::StrAppend(&text, " repetition ", event.repetition);
      text.push_back('\n');
    }
    return text;
  }

 private:
  // ---- Errors --------------------------------------------------------------

  std::string Where(int q, const DecodedInstruction& instruction, int64_t cycle, int64_t repetition) const {
    return emulator::Where(options_.chip_label, chip_, decoded_, q, instruction, cycle, repetition);
  }

  absl::Status Hazard(int q, const DecodedInstruction& instruction, int64_t cycle,
                      int64_t repetition, absl::string_view cause) const {
    return absl::FailedPreconditionError(
        absl::StrCat(Where(q, instruction, cycle, repetition), ": ", cause));
  }

  std::string DescribeProducer(const Producer& producer) const {
    return emulator::DescribeProducer(chip_, decoded_, producer);
  }

  // ---- Intent ----------------------------------------------------------------

  // The producer a source names, `shift` cycles on (a repetition's).
  Producer Intended(const isa::Source& source, int64_t shift) const {
    return emulator::Intended(decoded_, source, shift);
  }
  // Entry i of a list (a write or stream producer, not the initial contents).
  Producer Intended(const IntentSpan& sources, int i, int64_t shift) const {
    return emulator::Intended(decoded_, sources, i, shift);
  }
  std::string DescribeIntended(const Producer& intended) const {
    return emulator::DescribeIntended(chip_, decoded_, intended);
  }
  std::string DescribeFound(const Producer& found) const { return emulator::DescribeFound(chip_, decoded_, found); }

  // An operand that reads another value than its intent names.
  absl::Status NotIntended(int q, const DecodedInstruction& instruction, int64_t now, int64_t repetition,
                           absl::string_view operand, const Producer& found, const Producer* intended,
                           absl::string_view hint = "") const {
    return Hazard(q, instruction, now, repetition, NotIntendedCause(chip_, decoded_, operand, found, intended, hint));
  }

  // An operand that takes other loads or products than its intent names.
  absl::Status CountNotIntended(int q, const DecodedInstruction& instruction, int64_t now, int64_t repetition,
                                const CountWords& words, int64_t count, const Producer& last, const isa::Source& intent,
                                absl::string_view in_flight) const {
    return Hazard(q, instruction, now, repetition,
                  CountNotIntendedCause(chip_, decoded_, words, count, last, intent, now - instruction.cycle,
                                        in_flight));
  }

  // ---- Buffers -------------------------------------------------------------

  int AcquireBuffer(size_t bytes) {
    if (!options_.functional) return -1;
    int index;
    if (free_buffers_.empty()) {
      index = static_cast<int>(buffers_.size());
      buffers_.emplace_back();
    } else {
      index = free_buffers_.back();
      free_buffers_.pop_back();
    }
    buffers_[index].assign(bytes, 0);
    return index;
  }
  void ReleaseBuffer(int index) {
    if (index >= 0) free_buffers_.push_back(index);
  }
  uint8_t* BufferData(int index) { return index < 0 ? nullptr : buffers_[index].data(); }

  // ---- Issue ---------------------------------------------------------------

  // Puts queue q's next issue on the event heap. `now` is the current cycle;
  // an instruction listed for an earlier cycle is issued (and rejected) now.
  void ScheduleQueue(int q, int64_t now) {
    QueueRuntime& runtime = runtimes_[q];
    int64_t cycle;
    if (runtime.repeat != nullptr) {
      cycle = isa::RepetitionCycle(runtime.repeat->cycle, runtime.repeat->every,
                                   runtime.repetition);
    } else if (runtime.next < runtime.queue->instructions.size()) {
      const DecodedInstruction* next = &runtime.queue->instructions[runtime.next];
      cycle = next->cycle;
      // Its follower too: a Read looks at it when it issues.
      if (runtime.next + 1 < runtime.queue->instructions.size()) __builtin_prefetch(next + 1);
    } else {
      return;
    }
    issues_.push({std::max(cycle, now), q});
  }

  absl::Status IssueNext(int q, int64_t now) {
    QueueRuntime& runtime = runtimes_[q];
    if (runtime.repeat != nullptr) {
      const int64_t repetition = runtime.repetition++;
      if (runtime.repetition == runtime.repeat->n) runtime.repeat = nullptr;
      const int64_t offset = runtime.repeat_stride * (repetition + 1);
      return Execute(q, *runtime.repeated, now, offset, repetition);
    }
    const DecodedInstruction& instruction = runtime.queue->instructions[runtime.next++];
    const isa::Hazard queue_rule =
        runtime.last_issued == nullptr
            ? isa::Clear()
            : isa::QueueIssue(instruction.cycle, runtime.last_issue_cycle, runtime.free_cycle,
                              {q, runtime.last_issued->index, runtime.last_issue_cycle});
    if (!queue_rule.ok()) {
      const std::string cause = QueueRuleCause(queue_rule, decoded_, *runtime.queue, *runtime.last_issued,
                                               runtime.last_issue_cycle, runtime.free_cycle, instruction.cycle);
      return Hazard(q, instruction, instruction.cycle, -1, cause);
    }
    if (runtime.parked) {
      auto notify = std::lower_bound(
          notifies_.begin(), notifies_.end(), runtime.parked_cycle,
          [](const std::pair<int64_t, int64_t>& n, int64_t cycle) { return n.first < cycle; });
      if (notify == notifies_.end() || notify->second > now) {
        return Hazard(q, instruction, now, -1,
                      ParkedCause(runtime.parked_cycle, notify == notifies_.end() ? INT64_MAX : notify->second));
      }
      runtime.parked = false;
    }
    runtime.last_issued = &instruction;
    runtime.last_issue_cycle = now;
    runtime.free_cycle = isa::QueueFreeCycle(instruction.opcode, now, instruction.n,
                                             instruction.every);
    if (early_streams_ && instruction.opcode == Opcode::kRead &&
        runtime.next < runtime.queue->instructions.size()) {
      // A Read with its Repeat right behind it: one batch for both.
      const DecodedInstruction& repeat = runtime.queue->instructions[runtime.next];
      if (repeat.opcode == Opcode::kRepeat && repeat.cycle == now + 1) {
        ASSIGN_OR_RETURN(const bool batched,
                         BatchReads(q, instruction, repeat, now, instruction.address, repeat.n + 1));
        if (batched) {  // The queue as it is once the Repeat has issued.
          ++runtime.next;
          runtime.last_issued = &repeat;
          runtime.last_issue_cycle = repeat.cycle;
          runtime.free_cycle = isa::QueueFreeCycle(Opcode::kRepeat, repeat.cycle, repeat.n, repeat.every);
          return absl::OkStatus();
        }
      }
    }
    // Everything but the ICU's own instructions executes on the queue's slice.
    if (isa::GetOpcodeInfo(instruction.opcode).kind != isa::SLICE_ICU) {
      return Execute(q, instruction, now, 0, -1);
    }
    if (instruction.opcode == Opcode::kRepeat) {
      // Issues the queue's previous instruction again (the decoder checks it
      // is not an ICU one); each repetition is traced as that instruction.
      const DecodedInstruction* repeated = &instruction - 1;
      if (early_streams_ && repeated->opcode == Opcode::kRead) {
        ASSIGN_OR_RETURN(const bool batched, BatchReads(q, *repeated, instruction, now,
                                                        repeated->address + instruction.stride,
                                                        instruction.n));
        if (batched) return absl::OkStatus();
      }
      runtime.repeat = &instruction;
      runtime.repeated = repeated;
      runtime.repetition = 1;
      runtime.repeat_stride = instruction.stride;
      if (instruction.n == 1) runtime.repeat = nullptr;
      return Execute(q, *repeated, now, instruction.stride, 0);
    }
    Trace(now, TraceKind::kIssue, q, instruction, -1);
    if (instruction.opcode == Opcode::kSync) {
      runtime.parked = true;
      runtime.parked_cycle = now;
    } else if (instruction.opcode == Opcode::kNotify) {
      notifies_.push_back({now, isa::ResultCycle(chip_, Opcode::kNotify, now)});
    }
    return absl::OkStatus();  // Nop: the queue just waits (free_cycle above).
  }

  // Counts the cycles first..last (first is the current cycle) in which the
  // slice issues work, each once. Cycles counted ahead of time come only from
  // batches, which start at the current cycle, so those still ahead always
  // run from now to busy_through_.
  void CountBusy(int slice, int64_t first, int64_t last) {
    int64_t& through = busy_through_[slice];
    if (last <= through) return;
    result_.busy_cycles[slice] += last - std::max(through, first - 1);
    through = last;
  }

  // `count` reads of a Read's Repeat, one a cycle from `now` (the Repeat's
  // repetitions, or the Read and its repetitions), from `first_address` on,
  // done at once in timing-only mode: each one's bank read and stream value
  // are recorded now. This is exact because a stream value can only be read
  // at or after the cycle it lands (values move away from where they land)
  // and the ring keeps every reachable diagonal (StreamRegisters'
  // lookahead); the bank's reads through the last one are checked by each
  // write when it lands.
  // Returns false, doing nothing, where that does not hold (a bank boundary,
  // an address outside the SRAM, a write landing in the bank now, a batch
  // past the lookahead or the cycle limit): the caller then runs the
  // repetitions one by one.
  absl::StatusOr<bool> BatchReads(int q, const DecodedInstruction& read, const DecodedInstruction& repeat,
                                  int64_t now, int64_t first_address, int64_t count) {
    const int64_t n = count;
    const int64_t latency = chip_.latency_cycles(Opcode::kRead);
    const int64_t last_landing = now + (n - 1) + latency;
    if (repeat.every != 1 || n < 1 || (n - 1) + latency > streams_.lookahead() ||
        last_landing > options_.cycle_limit) {
      return false;
    }
    const int64_t last_address = first_address + repeat.stride * (n - 1);
    const int64_t addresses = chip_.mem_addresses();
    if (std::min(first_address, last_address) < 0 || std::max(first_address, last_address) >= addresses) {
      return false;
    }
    const int bank = isa::MemBank(chip_, first_address);
    const int slice = runtimes_[q].queue->slice;
    const int mem_index = chip_.slices()[slice].kind_index;
    if (isa::MemBank(chip_, last_address) != bank || sram_.last_write(mem_index, bank).cycle == now) {
      return false;
    }
    for (int64_t k = 0; k < n; ++k) {
      // Values of later writes land after now + k only through this bank,
      // which the batch holds (a write landing in it is an error).
      RETURN_IF_ERROR(CheckMemoryIntent(q, read, now + k, k - (n - repeat.n), mem_index,
                                        first_address + repeat.stride * k));
    }
    int64_t& reads_through = sram_.reads_through(mem_index, bank);
    reads_through = std::max(reads_through, now + n - 1);
    CountBusy(slice, now, now + n - 1);
    result_.instructions_issued += n;
    early_last_cycle_ = std::max(early_last_cycle_, last_landing);
    for (int64_t k = 0; k < n; ++k) {
      PendingResult result;
      result.cycle = now + k + latency;
      result.kind = ResultKind::kStream;
      result.queue = q;
      result.instruction = &read;
      result.repetition = k - (n - repeat.n);  // The Read itself is -1.
      result.slice = slice;
      result.group = read.dst;
      RETURN_IF_ERROR(Land(result));
    }
    return true;
  }

  void Trace(int64_t cycle, TraceKind kind, int q, const DecodedInstruction& instruction,
             int64_t repetition) {
    ++(kind == TraceKind::kIssue ? result_.instructions_issued : ignored_);
    if (options_.record_trace) {
      result_.trace.push_back({cycle, kind, q, instruction.index, repetition});
    }
  }

  // The intent sources of stream operand a, b or c of queue q's instruction
  // (size 0: none given).
  IntentSpan Sources(int q, const DecodedInstruction& instruction, char operand) const {
    if (instruction.intent == nullptr) return {};
    return runtimes_[q].queue->Intent(instruction, operand == 'a'   ? IntentList::kA
                                                   : operand == 'b' ? IntentList::kB
                                                                    : IntentList::kC);
  }

  // Reads a stream group at the slice of queue q into `out` (functional),
  // checking each stream's value against the operand's intent `sources`.
  absl::Status ReadGroup(int q, const DecodedInstruction& instruction, int64_t now,
                         int64_t repetition, absl::string_view operand, const StreamGroup& group,
                         uint8_t* out) {
    const int position = runtimes_[q].queue->slice;
    const IntentSpan sources = Sources(q, instruction, operand[0]);
    for (int k = 0; k < group.width; ++k) {
      StreamRegisters::ReadOutcome read =
          streams_.Read(group.direction, group.first + k, position, now);
      if (!StreamOperandHolds(decoded_, sources, instruction, k, now, read.found, read.producer)) {
        return Hazard(q, instruction, now, repetition,
                      StreamOperandCause(chip_, decoded_, sources, instruction, operand, group, k, position, now,
                                         read.found, read.producer));
      }
      if (out != nullptr && read.bytes != nullptr) {
        std::memcpy(out + static_cast<size_t>(k) * lanes_, read.bytes, lanes_);
      }
    }
    return absl::OkStatus();
  }

  // A Read of `address` at `now` against its intent: the word's last landed
  // write must be the one named (or none, for `initial`).
  absl::Status CheckMemoryIntent(int q, const DecodedInstruction& instruction, int64_t now, int64_t repetition,
                                 int mem_index, int64_t address) const {
    if (instruction.intent == nullptr) return absl::OkStatus();
    const IntentSpan memory = runtimes_[q].queue->Intent(instruction, IntentList::kMemory);
    if (memory.size == 0) return absl::OkStatus();
    const Sram::Writers& writers = sram_.WritersOf(mem_index, address);
    if (MemoryIntentHolds(decoded_, memory, instruction, repetition, address, writers.landed)) {
      return absl::OkStatus();
    }
    return Hazard(q, instruction, now, repetition,
                  MemoryIntentCause(chip_, decoded_, memory, instruction, repetition, address, now, writers.landed,
                                    writers.issued, writers.issued_landing));
  }

  absl::Status CheckAddress(int q, const DecodedInstruction& instruction, int64_t now,
                            int64_t repetition, int64_t address) const {
    if (address < 0 || address >= chip_.mem_addresses()) {
      return Hazard(q, instruction, now, repetition, AddressOutOfRangeCause(chip_, address));
    }
    return absl::OkStatus();
  }

  // Records a bank read at `now`, rejecting one that meets a write.
  absl::Status ReadBank(int q, const DecodedInstruction& instruction, int64_t now,
                        int64_t repetition, int mem_index, int bank) {
    Sram::Access& write = sram_.last_write(mem_index, bank);
    if (!isa::BankRead(now, write.cycle == now, {write.queue, write.instruction, write.issue_cycle}).ok()) {
      return Hazard(
          q, instruction, now, repetition,
          BankReadMeetsWriteCause(chip_, decoded_, bank, {write.queue, write.instruction, write.issue_cycle}));
    }
    sram_.last_read(mem_index, bank) = {now, q, instruction.index, now};
    return absl::OkStatus();
  }

  // A port carries data only after a Deskew has aligned it to the chip's time
  // base (ISCA22: a program synchronises once at start).
  absl::Status CheckDeskewed(int q, const DecodedInstruction& instruction, int64_t now,
                             int64_t repetition, int slice) const {
    if (deskewed_.count({slice, static_cast<int>(instruction.port)}) == 0) {
      return Hazard(q, instruction, now, repetition, NotDeskewedCause(chip_, slice, instruction.port));
    }
    return absl::OkStatus();
  }

  absl::Status PushResult(PendingResult result) {
    if (early_streams_ && result.kind == ResultKind::kStream &&
        chip_.latency_cycles(result.instruction->opcode) <= streams_.lookahead() &&
        result.cycle <= options_.cycle_limit) {
      // On the streams now (PutsStreamValuesEarly): no event.
      early_last_cycle_ = std::max(early_last_cycle_, result.cycle);
      return Land(result);
    }
    result.sequence = next_sequence_++;
    int slot;
    if (free_result_slots_.empty()) {
      slot = static_cast<int>(result_slab_.size());
      result_slab_.push_back(std::move(result));
    } else {
      slot = free_result_slots_.back();
      free_result_slots_.pop_back();
      result_slab_[slot] = std::move(result);
    }
    const PendingResult& stored = result_slab_[slot];
    results_.push({stored.cycle, stored.sequence, slot});
    return absl::OkStatus();
  }

  PendingResult MakeResult(ResultKind kind, int q, const DecodedInstruction& instruction,
                           int64_t now, int64_t repetition) const {
    PendingResult result;
    result.cycle = isa::ResultCycle(chip_, instruction.opcode, now);
    result.kind = kind;
    result.queue = q;
    result.instruction = &instruction;
    result.repetition = repetition;
    result.slice = runtimes_[q].queue->slice;
    return result;
  }

  // Executes one (repetition of an) instruction at `now`; `offset` is the
  // Repeat's stride times the repetition number, added to address or row.
  absl::Status Execute(int q, const DecodedInstruction& instruction, int64_t now, int64_t offset,
                       int64_t repetition) {
    Trace(now, TraceKind::kIssue, q, instruction, repetition);
    const int slice = runtimes_[q].queue->slice;
    CountBusy(slice, now, now);
    const int mem_index = chip_.slices()[slice].kind_index;
    const bool functional = options_.functional;
    switch (instruction.opcode) {
      case Opcode::kRead: {
        const int64_t address = instruction.address + offset;
        RETURN_IF_ERROR(CheckAddress(q, instruction, now, repetition, address));
        RETURN_IF_ERROR(
            ReadBank(q, instruction, now, repetition, mem_index, isa::MemBank(chip_, address)));
        RETURN_IF_ERROR(CheckMemoryIntent(q, instruction, now, repetition, mem_index, address));
        PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
        result.group = instruction.dst;
        result.buffer = AcquireBuffer(lanes_);
        if (functional) std::memcpy(BufferData(result.buffer), sram_.Vector(mem_index, address), lanes_);
        return PushResult(std::move(result));
      }
      case Opcode::kWrite: {
        const int64_t address = instruction.address + offset;
        RETURN_IF_ERROR(CheckAddress(q, instruction, now, repetition, address));
        PendingResult result = MakeResult(ResultKind::kSram, q, instruction, now, repetition);
        result.address = address;
        Sram::Writers& writers = sram_.MutableWritersOf(mem_index, address);
        writers.issued = {q, instruction.index, now};
        writers.issued_landing = result.cycle;
        result.buffer = AcquireBuffer(lanes_);
        RETURN_IF_ERROR(
            ReadGroup(q, instruction, now, repetition, "a", instruction.a, BufferData(result.buffer)));
        return PushResult(std::move(result));
      }
      case Opcode::kGather:
      case Opcode::kScatter: {
        std::vector<uint8_t> map(static_cast<size_t>(2) * lanes_);
        RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "a (map)", instruction.a,
                                  map.data()));
        if (!functional) {
          // Addresses come from data; without values they are unknown, so the
          // per-tile range and bank checks need functional mode.
          PendingResult result = MakeResult(
              instruction.opcode == Opcode::kGather ? ResultKind::kStream : ResultKind::kScatter,
              q, instruction, now, repetition);
          result.group = instruction.dst;
          if (instruction.opcode == Opcode::kScatter) {
            RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "b", instruction.b, nullptr));
          }
          return PushResult(std::move(result));
        }
        const int tile_lanes = chip_.lanes_per_superlane();
        std::vector<int64_t> addresses(chip_.superlanes());
        for (int tile = 0; tile < chip_.superlanes(); ++tile) {
          const int lane = tile * tile_lanes;
          addresses[tile] = static_cast<int16_t>(map[lane] | (map[lanes_ + lane] << 8));
          RETURN_IF_ERROR(CheckAddress(q, instruction, now, repetition, addresses[tile]));
        }
        if (instruction.opcode == Opcode::kGather) {
          std::vector<bool> bank_read(chip_.mem_banks(), false);
          PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
          result.group = instruction.dst;
          result.buffer = AcquireBuffer(lanes_);
          for (int tile = 0; tile < chip_.superlanes(); ++tile) {
            const int bank = isa::MemBank(chip_, addresses[tile]);
            if (!bank_read[bank]) {
              RETURN_IF_ERROR(ReadBank(q, instruction, now, repetition, mem_index, bank));
              bank_read[bank] = true;
            }
            std::memcpy(BufferData(result.buffer) + tile * tile_lanes,
                        sram_.Vector(mem_index, addresses[tile]) + tile * tile_lanes, tile_lanes);
          }
          RETURN_IF_ERROR(PushResult(std::move(result)));
        } else {
          PendingResult result = MakeResult(ResultKind::kScatter, q, instruction, now, repetition);
          result.buffer = AcquireBuffer(lanes_);
          RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "b", instruction.b,
                                    BufferData(result.buffer)));
          result.tile_addresses = std::move(addresses);
          RETURN_IF_ERROR(PushResult(std::move(result)));
        }
        return absl::OkStatus();
      }
      case Opcode::kAdd:
      case Opcode::kSub:
      case Opcode::kMul:
      case Opcode::kMax:
      case Opcode::kMin:
      case Opcode::kCmpLt:
      case Opcode::kCmpEq:
      case Opcode::kSelect:
      case Opcode::kShl:
      case Opcode::kShr:
      case Opcode::kNeg:
      case Opcode::kAbs:
      case Opcode::kRelu:
      case Opcode::kConvert:
      case Opcode::kExp:
      case Opcode::kTanh:
      case Opcode::kRsqrt:
      case Opcode::kRecip: {
        // Operands a, b, c side by side; no copies in timing-only mode.
        const size_t group_bytes = static_cast<size_t>(instruction.a.width) * lanes_;
        if (functional) scratch_.assign(3 * group_bytes, 0);
        auto operand = [&](int k) { return functional ? &scratch_[k * group_bytes] : nullptr; };
        RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "a", instruction.a, operand(0)));
        RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "b", instruction.b, operand(1)));
        RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "c", instruction.c, operand(2)));
        PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
        result.group = instruction.dst;
        result.buffer = AcquireBuffer(static_cast<size_t>(instruction.dst.width) * lanes_);
        if (functional) {
          ExecuteVectorOp(instruction.opcode, instruction.type, instruction.to_type,
                          instruction.amount, &scratch_[0],
                          instruction.b.width > 0 ? &scratch_[group_bytes] : nullptr,
                          instruction.c.width > 0 ? &scratch_[2 * group_bytes] : nullptr, lanes_,
                          BufferData(result.buffer));
        }
        return PushResult(std::move(result));
      }
      case Opcode::kLoadWeights: {
        const int64_t row = instruction.row + offset;
        if (row < 0 || row + instruction.rows > chip_.mxm_rows()) {
          return Hazard(q, instruction, now, repetition, WeightRowsOutOfRangeCause(chip_, row, instruction.rows));
        }
        PendingResult result = MakeResult(ResultKind::kWeightRows, q, instruction, now, repetition);
        result.address = row;
        planes_.at(slice).loads_in_flight.push_back({now, result.cycle});
        result.buffer = AcquireBuffer(static_cast<size_t>(instruction.a.width) * lanes_);
        RETURN_IF_ERROR(
            ReadGroup(q, instruction, now, repetition, "a", instruction.a, BufferData(result.buffer)));
        return PushResult(std::move(result));
      }
      case Opcode::kInstallWeights: {
        MxmPlaneState& state = planes_.at(slice);
        // A load issued in this very cycle fills the buffer for the next
        // install; one issued earlier that has not landed would be missed.
        // Loads in flight land after now (landings come before issues in a cycle).
        int64_t missed_lands = INT64_MIN;
        for (const auto& [issued, lands] : state.loads_in_flight) {
          if (issued < now) missed_lands = lands;
        }
        if (!isa::InstallWeights(now, missed_lands, {}).ok()) {
          return Hazard(q, instruction, now, repetition,
                        InstallBeforeLoadLandedCause(state.loads_in_flight.front().first, missed_lands));
        }
        if (!state.buffer_loaded) {
          return Hazard(q, instruction, now, repetition, EmptyWeightBufferCause());
        }
        if (instruction.intent != nullptr && instruction.intent->has_loads()) {
          const isa::Source& loads = instruction.intent->loads();
          if (!TakesIntended(decoded_, loads, now - instruction.cycle, state.loads_landed, state.last_load)) {
            return CountNotIntended(
                q, instruction, now, repetition, kInstallTakes, state.loads_landed, state.last_load, loads,
                LoadsInFlightText(static_cast<int64_t>(state.loads_in_flight.size()),
                                  state.loads_in_flight.empty() ? 0 : state.loads_in_flight.back().second));
          }
        }
        // The buffer is taken now; the weights become usable when the result lands.
        if (options_.functional) state.plane.StageInstall();
        state.staged_type = state.buffer_type;
        state.staged_by = {q, instruction.index, now};
        state.loads_landed = 0;
        return PushResult(MakeResult(ResultKind::kInstall, q, instruction, now, repetition));
      }
      case Opcode::kMultiply: {
        MxmPlaneState& state = planes_.at(slice);
        if (!isa::Multiply(now, state.installed_cycle == INT64_MIN ? INT64_MAX : state.installed_cycle).ok()) {
          return Hazard(q, instruction, now, repetition,
                        MultiplyBeforeInstallCause(chip_, slice, state.lost_weights));
        }
        if (!MultiplyTypesMatch(instruction.type, state.installed_type)) {
          return Hazard(q, instruction, now, repetition, MultiplyTypeCause(instruction.type, state.installed_type));
        }
        if (instruction.intent != nullptr && instruction.intent->has_weights()) {
          const Producer intended = Intended(instruction.intent->weights(), now - instruction.cycle);
          if (!(state.installed_by == intended)) {
            return NotIntended(q, instruction, now, repetition, "its weights", state.installed_by, &intended);
          }
        }
        const int64_t k = instruction.accumulator + offset;
        if (!AccumulatorInRange(chip_, k)) {
          return Hazard(q, instruction, now, repetition, AccumulatorOutOfRangeCause(chip_, k));
        }
        PendingResult result = MakeResult(ResultKind::kProduct, q, instruction, now, repetition);
        result.address = k;
        result.buffer = AcquireBuffer(static_cast<size_t>(4) * lanes_);
        if (functional) {
          activation_.assign(static_cast<size_t>(instruction.a.width) * lanes_, 0);
          RETURN_IF_ERROR(
              ReadGroup(q, instruction, now, repetition, "a", instruction.a, activation_.data()));
          state.plane.Multiply(instruction.type, activation_.data(), BufferData(result.buffer));
        } else {
          RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "a", instruction.a, nullptr));
        }
        ++state.accumulators[k].products_in_flight;
        return PushResult(std::move(result));
      }
      case Opcode::kAccumulate: {
        MxmPlaneState& state = planes_.at(slice);
        const int64_t k = instruction.accumulator + offset;
        if (!AccumulatorInRange(chip_, k)) {
          return Hazard(q, instruction, now, repetition, AccumulatorOutOfRangeCause(chip_, k));
        }
        Accumulator& accumulator = state.accumulators[k];
        if (!isa::Accumulate(now, accumulator.products_accumulated == 0 ? INT64_MAX : accumulator.first_product_landed)
                 .ok()) {
          return Hazard(q, instruction, now, repetition,
                        AccumulateBeforeProductsCause(chip_, k, accumulator.products_in_flight));
        }
        if (instruction.intent != nullptr && instruction.intent->has_products()) {
          const isa::Source& products = instruction.intent->products();
          if (!TakesIntended(decoded_, products, now - instruction.cycle, accumulator.products_accumulated,
                             accumulator.last_product)) {
            return CountNotIntended(q, instruction, now, repetition, kAccumulateReadsOut,
                                    accumulator.products_accumulated, accumulator.last_product, products,
                                    ProductsInFlightText(chip_, accumulator.products_in_flight));
          }
        }
        accumulator.products_accumulated = 0;
        PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
        result.group = instruction.dst;
        result.buffer = AcquireBuffer(static_cast<size_t>(4) * lanes_);
        if (functional) state.plane.ReadOutAndClear(static_cast<int>(k), BufferData(result.buffer));
        return PushResult(std::move(result));
      }
      case Opcode::kShift:
      case Opcode::kRotate:
      case Opcode::kPermute:
      case Opcode::kDistribute:
      case Opcode::kTranspose: {
        if (functional) scratch_.assign(static_cast<size_t>(instruction.a.width) * lanes_, 0);
        RETURN_IF_ERROR(ReadGroup(q, instruction, now, repetition, "a", instruction.a,
                                  functional ? scratch_.data() : nullptr));
        PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
        result.group = instruction.dst;
        result.buffer = AcquireBuffer(static_cast<size_t>(instruction.dst.width) * lanes_);
        if (functional) {
          uint8_t* out = BufferData(result.buffer);
          const int width = instruction.a.width;
          const isa::LaneMap* map =
              instruction.opcode == Opcode::kPermute || instruction.opcode == Opcode::kDistribute
                  ? &program_.lane_maps(static_cast<int>(instruction.map))
                  : nullptr;
          if (instruction.opcode == Opcode::kPermute) {
            PermuteLanes(scratch_.data(), lanes_, width, *map, out);
          } else if (instruction.opcode == Opcode::kDistribute) {
            DistributeLanes(scratch_.data(), lanes_, chip_.lanes_per_superlane(), width, *map, out);
          } else if (instruction.opcode == Opcode::kTranspose) {
            Transpose16(scratch_.data(), lanes_, out);
          } else {  // Shift or Rotate.
            ShiftLanes(scratch_.data(), lanes_, width, instruction.amount,
                       instruction.opcode == Opcode::kRotate, out);
          }
        }
        return PushResult(std::move(result));
      }
      case Opcode::kSend: {
        RETURN_IF_ERROR(CheckDeskewed(q, instruction, now, repetition, slice));
        PendingResult result = MakeResult(ResultKind::kSend, q, instruction, now, repetition);
        result.buffer = AcquireBuffer(lanes_);
        RETURN_IF_ERROR(
            ReadGroup(q, instruction, now, repetition, "a", instruction.a, BufferData(result.buffer)));
        return PushResult(std::move(result));
      }
      case Opcode::kReceive: {
        RETURN_IF_ERROR(CheckDeskewed(q, instruction, now, repetition, slice));
        auto it = inbound_.find({slice, static_cast<int>(instruction.port)});
        if (it == inbound_.end() || it->second.empty() ||
            !isa::Receive(now, it->second.front().arrival_cycle).ok()) {
          return Hazard(q, instruction, now, repetition,
                        ReceiveBeforeArrivalCause(instruction.port, it != inbound_.end() && !it->second.empty()
                                                                        ? it->second.front().arrival_cycle
                                                                        : INT64_MAX));
        }
        const std::deque<InboundVector>& held = it->second;
        const int buffer = chip_.c2c_receive_buffer_vectors();
        const int64_t overflow = static_cast<int64_t>(held.size()) > buffer ? held[buffer].arrival_cycle : INT64_MAX;
        if (!isa::ReceiveBuffer(now, overflow).ok()) {
          return Hazard(q, instruction, now, repetition,
                        ReceiveBufferOverflowCause(chip_, instruction.port, held.front().arrival_cycle, overflow));
        }
        const InboundVector& vector = held.front();
        if (instruction.intent != nullptr && instruction.intent->has_sent()) {
          const isa::Source& sent = instruction.intent->sent();
          const int64_t intended_cycle = sent.cycle() + (now - instruction.cycle);
          if (!ReceivesIntendedSend(vector.from_chip, vector.from_queue, vector.send_cycle, sent, intended_cycle)) {
            return Hazard(q, instruction, now, repetition,
                          ReceivesOtherSendCause(vector.from_chip, vector.from_queue, vector.send_cycle, sent,
                                                 intended_cycle));
          }
        }
        PendingResult result = MakeResult(ResultKind::kStream, q, instruction, now, repetition);
        result.group = instruction.dst;
        result.buffer = AcquireBuffer(lanes_);
        if (functional) {
          std::memcpy(BufferData(result.buffer), vector.data.data(), lanes_);
        }
        it->second.pop_front();
        return PushResult(std::move(result));
      }
      case Opcode::kDeskew:
        deskewed_.insert({slice, static_cast<int>(instruction.port)});
        return absl::OkStatus();
      case Opcode::kNop:
      case Opcode::kRepeat:
      case Opcode::kSync:
      case Opcode::kNotify:
        break;
    }
    return absl::InternalError("ICU instruction reached Execute");
  }

  // ---- Results -------------------------------------------------------------

  absl::Status Land(const PendingResult& pending) {
    const DecodedInstruction& instruction = *pending.instruction;
    const int q = pending.queue;
    const int64_t now = pending.cycle;
    Trace(now, TraceKind::kResult, q, instruction, pending.repetition);
    const int mem_index = chip_.slices()[pending.slice].kind_index;
    switch (pending.kind) {
      case ResultKind::kStream: {
        const Producer producer{q, instruction.index, now - chip_.latency_cycles(instruction.opcode)};
        const uint8_t* data = BufferData(pending.buffer);
        for (int k = 0; k < pending.group.width; ++k) {
          const int stream = pending.group.first + k;
          StreamRegisters::WriteOutcome outcome = streams_.Write(
              pending.group.direction, stream, pending.slice, now,
              data == nullptr ? nullptr : data + static_cast<size_t>(k) * lanes_, producer);
          if (!isa::StreamSlot(now, outcome.collided, {outcome.other.queue, outcome.other.instruction,
                                                       outcome.other.issue_cycle})
                   .ok()) {
            return Hazard(q, instruction, now, pending.repetition,
                          StreamSlotCause(chip_, decoded_, pending.group.direction, stream, outcome.other,
                                          outcome.collision_position, outcome.collision_cycle));
          }
        }
        return absl::OkStatus();
      }
      case ResultKind::kSram:
      case ResultKind::kScatter: {
        // A write lands once per bank it touches (no heap work: writes are frequent).
        const absl::Span<const int64_t> addresses =
            pending.kind == ResultKind::kSram ? absl::Span<const int64_t>(&pending.address, 1)
                                              : absl::Span<const int64_t>(pending.tile_addresses);
        if (addresses.empty()) return absl::OkStatus();  // Timing-only Scatter.
        absl::InlinedVector<bool, 8> bank_written(chip_.mem_banks(), false);
        for (int64_t address : addresses) {
          const int bank = isa::MemBank(chip_, address);
          if (bank_written[bank]) continue;
          bank_written[bank] = true;
          const Sram::Access& read = sram_.last_read(mem_index, bank);
          if (sram_.reads_through(mem_index, bank) >= now) {
            return Hazard(q, instruction, now, pending.repetition,
                          absl::StrCat("its write lands in bank ", bank, " in a cycle a batch of "
                                       "repeated reads reads it"));
          }
          Sram::Access& write = sram_.last_write(mem_index, bank);
          const isa::Hazard bank_rule =
              isa::BankWrite(now, read.cycle == now, {read.queue, read.instruction, read.issue_cycle},
                             write.cycle == now, {write.queue, write.instruction, write.issue_cycle});
          if (bank_rule.kind == isa::HazardKind::kBankWriteMeetsRead) {
            return Hazard(q, instruction, now, pending.repetition,
                          absl::StrCat("its write lands in bank ", bank, " in the cycle ",
                                       DescribeProducer({read.queue, read.instruction, read.issue_cycle}),
                                       " reads it; a bank cannot be read and written in one "
                                       "cycle: move one by a cycle or use the other bank"));
          }
          if (bank_rule.kind == isa::HazardKind::kBankWritesMeet) {
            return Hazard(
                q, instruction, now, pending.repetition,
                BankWritesMeetCause(chip_, decoded_, bank, {write.queue, write.instruction, write.issue_cycle}));
          }
          write = {now, q, instruction.index, now - chip_.latency_cycles(instruction.opcode)};
        }
        for (int64_t address : addresses) {
          sram_.MutableWritersOf(mem_index, address).landed = {q, instruction.index,
                                                               now - chip_.latency_cycles(instruction.opcode)};
        }
        if (pending.buffer >= 0) {
          const uint8_t* data = BufferData(pending.buffer);
          if (pending.kind == ResultKind::kSram) {
            sram_.WriteVector(mem_index, pending.address, data);
          } else {
            const int tile_lanes = chip_.lanes_per_superlane();
            for (int tile = 0; tile < chip_.superlanes(); ++tile) {
              scratch_.assign(sram_.Vector(mem_index, pending.tile_addresses[tile]),
                              sram_.Vector(mem_index, pending.tile_addresses[tile]) + lanes_);
              std::memcpy(&scratch_[tile * tile_lanes], data + tile * tile_lanes, tile_lanes);
              sram_.WriteVector(mem_index, pending.tile_addresses[tile], scratch_.data());
            }
          }
        }
        return absl::OkStatus();
      }
      case ResultKind::kWeightRows: {
        MxmPlaneState& state = planes_.at(pending.slice);
        state.loads_in_flight.pop_front();
        ++state.loads_landed;
        state.last_load = {q, instruction.index, now - chip_.latency_cycles(instruction.opcode)};
        state.buffer_loaded = true;
        state.buffer_type = instruction.type;
        if (pending.buffer >= 0) {
          state.plane.LoadRows(instruction.type, pending.address, instruction.rows,
                               BufferData(pending.buffer));
        }
        return absl::OkStatus();
      }
      case ResultKind::kInstall: {
        MxmPlaneState& state = planes_.at(pending.slice);
        // fp16 weights span a pair of planes (the first holds the pair);
        // installing on either member replaces what the pair held.
        const int partner = chip_.slices()[pending.slice].kind_index % 2 == 0 ? pending.slice + 1
                                                                              : pending.slice - 1;
        MxmPlaneState& partner_state = planes_.at(partner);
        if (state.staged_type == isa::FP16 || partner_state.installed_type == isa::FP16) {
          partner_state.installed_cycle = INT64_MIN;
          partner_state.installed_type = isa::ELEMENT_TYPE_UNSPECIFIED;
          partner_state.installed_by = Producer();
          partner_state.lost_weights = WeightsReplacedText(chip_, pending.slice, now);
        }
        if (options_.functional) state.plane.CommitInstall();
        state.installed_cycle = now;
        state.installed_type = state.staged_type;
        state.installed_by = state.staged_by;
        state.lost_weights.clear();
        return absl::OkStatus();
      }
      case ResultKind::kProduct: {
        MxmPlaneState& state = planes_.at(pending.slice);
        Accumulator& accumulator = state.accumulators[pending.address];
        --accumulator.products_in_flight;
        if (accumulator.products_accumulated++ == 0) accumulator.first_product_landed = now;
        accumulator.last_product = {q, instruction.index, now - chip_.latency_cycles(instruction.opcode)};
        if (pending.buffer >= 0) {
          state.plane.Accumulate(static_cast<int>(pending.address), instruction.type, BufferData(pending.buffer));
        }
        return absl::OkStatus();
      }
      case ResultKind::kSend: {
        OutboundVector vector;
        vector.slice = chip_.slices()[pending.slice].name;
        vector.port = static_cast<int>(instruction.port);
        vector.departure_cycle = now;
        vector.queue = chip_.queues()[runtimes_[q].queue->queue].name;
        vector.send_cycle = now - chip_.latency_cycles(instruction.opcode);
        if (pending.buffer >= 0) {
          vector.data.assign(reinterpret_cast<const char*>(BufferData(pending.buffer)), lanes_);
        }
        result_.sent.push_back(std::move(vector));
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  const ChipModel& chip_;
  const isa::Program& program_;
  RunOptions options_;
  int lanes_;
  bool early_streams_;  // PutsStreamValuesEarly: results and batches go on the streams at issue.
  DecodedProgram decoded_;
  StreamRegisters streams_;
  Sram sram_;
  std::map<int, MxmPlaneState> planes_;  // By slice position.
  std::map<std::pair<int, int>, std::deque<InboundVector>> inbound_;  // (slice, port).
  std::set<std::pair<int, int>> deskewed_;                              // (slice, port).
  bool started_ = false;
  int64_t advanced_to_ = -1;
  std::vector<QueueRuntime> runtimes_;
  std::priority_queue<std::pair<int64_t, int>, std::vector<std::pair<int64_t, int>>,
                      std::greater<>>
      issues_;  // (cycle, runtime queue index): ties issue in queue order.
  std::priority_queue<ResultKey, std::vector<ResultKey>, std::greater<>> results_;
  std::vector<PendingResult> result_slab_;
  std::vector<int> free_result_slots_;
  int64_t next_sequence_ = 0;
  std::vector<std::pair<int64_t, int64_t>> notifies_;  // (issue, release), in issue order.
  std::vector<std::vector<uint8_t>> buffers_;
  std::vector<int> free_buffers_;
  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> activation_;
  std::vector<int64_t> busy_through_;  // Per slice: the last cycle counted busy.
  int64_t early_last_cycle_ = -1;     // The last landing put on the streams early.
  int64_t ignored_ = 0;
  RunResult result_;
};

ChipEmulator::~ChipEmulator() = default;

std::optional<int64_t> ChipEmulator::NextEventCycle() { return impl_->NextEventCycle(); }
absl::Status ChipEmulator::AdvanceTo(int64_t horizon) { return impl_->AdvanceTo(horizon); }
absl::Status ChipEmulator::AddInbound(const InboundVector& vector) {
  return impl_->AddInbound(vector);
}
std::vector<OutboundVector> ChipEmulator::TakeSent() { return impl_->TakeSent(); }
absl::StatusOr<RunResult> ChipEmulator::Finish() { return impl_->Finish(); }
const DecodedProgram& ChipEmulator::decoded_program() const { return impl_->decoded(); }
bool ChipEmulator::puts_stream_values_early() const { return impl_->early_stream_values(); }

absl::StatusOr<std::unique_ptr<ChipEmulator>> ChipEmulator::Create(const ChipModel& chip,
                                                                   const isa::Program& program,
                                                                   RunOptions options) {
  std::unique_ptr<ChipEmulator> emulator(new ChipEmulator());
  emulator->impl_ = std::make_unique<Impl>(chip, program, std::move(options));
  RETURN_IF_ERROR(emulator->impl_->Load());
  return emulator;
}

absl::StatusOr<RunResult> ChipEmulator::Run() {
  absl::StatusOr<RunResult> result = impl_->Run();
  if (result.ok() || !puts_stream_values_early()) return result;
  // Report the error as the run event by event does.
  RunOptions exact = impl_->options();
  exact.early_stream_values = false;
  exact.verify = false;  // Verified when created.
  impl_ = std::make_unique<Impl>(impl_->chip(), impl_->program(), std::move(exact));
  RETURN_IF_ERROR(impl_->Load());
  return impl_->Run();
}

absl::StatusOr<std::string> ChipEmulator::ReadMemory(absl::string_view slice, int64_t address,
                                                     int64_t vectors) const {
  return impl_->ReadMemory(slice, address, vectors);
}

std::string ChipEmulator::FormatTrace(const std::vector<TraceEvent>& trace) const {
  return impl_->FormatTrace(trace);
}

}  // namespace tsp::emulator
