#include "scheduler/chip_scheduler.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "isa/fetch_ahead.h"
#include "isa/hazards.h"
#include "isa/opcode.h"
#include "isa/timing.h"

namespace tsp::scheduler {
namespace {

// How far past its lower bound an operation is searched before giving up: a
// schedule never needs to wait this long for a free slot, so hitting it means
// the operation can never fit (for example two operands in one slice).
constexpr int64_t kSearchWindow = 200'000;

}  // namespace

bool Claim::UseQueue(int queue, int64_t cycle) {
  if (cycle < chip_.earliest_) return false;
  CycleSet& cycles = chip_.queue_cycles_[queue];
  const bool held = !cycles.insert(cycle);
  if (!isa::QueueCycle(cycle, held).ok()) return false;
  taken_.emplace_back(&cycles, cycle);
  return true;
}

void Claim::SkipQueueBusyRun(int queue, int64_t cycle) {
  const CycleSet& cycles = chip_.queue_cycles_[queue];
  if (!cycles.contains(cycle)) return;
  int64_t end = cycles.FirstClearFrom(cycle);
  // This claim's own cycles are free for the next candidate.
  for (const auto& [set, i] : taken_) {
    if (set == &cycles && i >= cycle && i < end) end = i;
  }
  if (end > cycle) FailBelow(anchor_ + (end - cycle));
}

bool Claim::Read(int slice, int64_t address, int64_t cycle) {
  if (cycle < chip_.ReadableAt(slice, address)) return false;
  for (const auto& [s, a, landing] : writes_) {
    if (s == slice && a == address && landing >= cycle) return false;
  }
  if (!UseQueue(chip_.Queue(slice), cycle)) return false;
  if (!isa::BankRead(cycle, chip_.BankSet(chip_.bank_writes_, slice, address).contains(cycle), {}).ok()) {
    return false;
  }
  // Reads of one bank never meet (one queue per slice), so the set only
  // marks the cycle against writes.
  CycleSet& reads = chip_.BankSet(chip_.bank_reads_, slice, address);
  if (!reads.contains(cycle)) Take(reads, cycle);
  reads_.emplace_back(slice, address, cycle);
  return true;
}

bool Claim::Write(int slice, int64_t address, int64_t cycle) {
  const int64_t landing = cycle + chip_.write_latency_;
  if (landing < chip_.WritableAt(slice, address)) return false;
  for (const auto& [s, a, read] : reads_) {
    if (s == slice && a == address && read >= landing) return false;
  }
  if (!UseQueue(chip_.Queue(slice), cycle)) return false;
  CycleSet& bank_writes = chip_.BankSet(chip_.bank_writes_, slice, address);
  if (!isa::BankWrite(landing, chip_.BankSet(chip_.bank_reads_, slice, address).contains(landing), {},
                      bank_writes.contains(landing), {})
           .ok()) {
    return false;
  }
  Take(bank_writes, landing);
  writes_.emplace_back(slice, address, landing);
  Note(landing);
  return true;
}

namespace {
// Eastward diagonals (position - cycle) fall with time; negated, both
// directions' keys grow from near zero.
int64_t DiagonalKey(isa::Direction direction, int position, int64_t cycle) {
  const int64_t diagonal = isa::StreamDiagonal(direction, position, cycle);
  return direction == isa::EAST ? -diagonal : diagonal;
}
}  // namespace

int Claim::Streams(isa::Direction direction, int width, int position, int64_t cycle) {
  const int64_t key = DiagonalKey(direction, position, cycle);
  StreamTable& table = chip_.Streams(direction);
  const int first = table.FirstFree(key, width);
  if (!isa::StreamSlot(cycle, first < 0, {}).ok()) return -1;  // No group of `width` free slots.
  table.Set(key, first, width);
  stream_takes_.push_back({&table, key, first, width});
  return first;
}

bool Claim::FixedStreams(isa::Direction direction, int first, int width, int position, int64_t cycle) {
  const int64_t key = DiagonalKey(direction, position, cycle);
  StreamTable& table = chip_.Streams(direction);
  if (!isa::StreamSlot(cycle, !table.Free(key, first, width), {}).ok()) return false;
  table.Set(key, first, width);
  stream_takes_.push_back({&table, key, first, width});
  return true;
}

namespace {
// Calls `visit(word, mask)` for the words holding bits [first, first + width).
template <typename Visit>
void ForEachWord(int first, int width, Visit visit) {
  while (width > 0) {
    const int bit = first & 63;
    const int n = std::min(width, 64 - bit);
    visit(first >> 6, (n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1) << bit);
    first += n;
    width -= n;
  }
}
}  // namespace

bool StreamTable::Free(int64_t key, int first, int width) const {
  const uint64_t* words = Words(key);
  if (words == nullptr) return true;
  bool free = true;
  ForEachWord(first, width, [&](int w, uint64_t mask) { free &= (words[w] & mask) == 0; });
  return free;
}

int StreamTable::FirstFree(int64_t key, int width) const {
  if (width > streams_) return -1;
  const uint64_t* words = Words(key);
  if (words == nullptr) return 0;
  if (words_per_key_ == 1) {
    // Bit i of `runs`: streams i .. i + width - 1 are all free.
    const uint64_t free = ~words[0];
    uint64_t runs = streams_ - width + 1 == 64 ? ~uint64_t{0} : (uint64_t{1} << (streams_ - width + 1)) - 1;
    for (int k = 0; k < width && runs != 0; ++k) runs &= free >> k;
    return runs == 0 ? -1 : absl::countr_zero(runs);
  }
  for (int first = 0; first + width <= streams_; ++first) {
    if (Free(key, first, width)) return first;
  }
  return -1;
}

void StreamTable::Set(int64_t key, int first, int width) {
  const uint64_t k = static_cast<uint64_t>(key + kOffset) * words_per_key_;
  if (k >= words_.size()) words_.resize(std::max<size_t>(2 * words_.size(), k + words_per_key_), 0);
  uint64_t* words = &words_[k];
  ForEachWord(first, width, [&](int w, uint64_t mask) { words[w] |= mask; });
}

void StreamTable::Clear(int64_t key, int first, int width) {
  uint64_t* words = &words_[static_cast<uint64_t>(key + kOffset) * words_per_key_];
  ForEachWord(first, width, [&](int w, uint64_t mask) { words[w] &= ~mask; });
}

isa::Source Produced(int queue, int64_t cycle, int64_t count) {
  isa::Source source;
  source.set_queue(queue);
  source.set_cycle(cycle);
  if (count != 0) source.set_count(count);
  return source;
}

void AddSource(const SourceEntry& entry, isa::Sources* list) {
  list->add_queue(entry.queue);
  list->add_at(entry.at);
}

void AddSources(const std::vector<SourceEntry>& entries, isa::Sources* list) {
  for (const SourceEntry& entry : entries) AddSource(entry, list);
}

SourceEntry Claim::MemorySource(int slice, int64_t address) const {
  const int64_t landed = chip_.StateOf(slice, address).landed;
  if (landed < 0) return {-1, address};
  return {chip_.Queue(slice), landed - chip_.write_latency_};
}

namespace {

// A claim is tried at many cycles, and each try fills the same arena
// instruction again. Clear() on an arena drops submessages without freeing
// them, so every try would leave its operands and intent behind: they are
// emptied in place instead, marked unused (a stream with no direction, a
// source at cycle -1, an empty list) until a try sets them, and DropUnused
// detaches what the committed try left unused.
void EmptyForReuse(isa::Instruction& instruction) {
  isa::StreamRef* streams[] = {
      instruction.has_a() ? instruction.unsafe_arena_release_a() : nullptr,
      instruction.has_b() ? instruction.unsafe_arena_release_b() : nullptr,
      instruction.has_c() ? instruction.unsafe_arena_release_c() : nullptr,
      instruction.has_dst() ? instruction.unsafe_arena_release_dst() : nullptr,
  };
  isa::Intent* intent = instruction.has_intent() ? instruction.unsafe_arena_release_intent() : nullptr;
  instruction.Clear();
  for (isa::StreamRef* stream : streams) {
    if (stream != nullptr) stream->Clear();  // Direction unspecified: unused.
  }
  instruction.unsafe_arena_set_allocated_a(streams[0]);
  instruction.unsafe_arena_set_allocated_b(streams[1]);
  instruction.unsafe_arena_set_allocated_c(streams[2]);
  instruction.unsafe_arena_set_allocated_dst(streams[3]);
  if (intent == nullptr) return;
  for (isa::Sources* list :
       {intent->has_a() ? intent->mutable_a() : nullptr, intent->has_b() ? intent->mutable_b() : nullptr,
        intent->has_c() ? intent->mutable_c() : nullptr, intent->has_memory() ? intent->mutable_memory() : nullptr}) {
    if (list != nullptr) list->Clear();  // Keeps its arrays' capacity.
  }
  for (isa::Source* source : {intent->has_loads() ? intent->mutable_loads() : nullptr,
                              intent->has_weights() ? intent->mutable_weights() : nullptr,
                              intent->has_products() ? intent->mutable_products() : nullptr,
                              intent->has_sent() ? intent->mutable_sent() : nullptr}) {
    if (source == nullptr) continue;
    source->Clear();
    source->set_cycle(-1);  // Unused: every source a try sets is assigned whole.
  }
  instruction.unsafe_arena_set_allocated_intent(intent);
}

void DropUnused(isa::Instruction& instruction) {
  if (instruction.has_a() && instruction.a().direction() == isa::DIRECTION_UNSPECIFIED) instruction.clear_a();
  if (instruction.has_b() && instruction.b().direction() == isa::DIRECTION_UNSPECIFIED) instruction.clear_b();
  if (instruction.has_c() && instruction.c().direction() == isa::DIRECTION_UNSPECIFIED) instruction.clear_c();
  if (instruction.has_dst() && instruction.dst().direction() == isa::DIRECTION_UNSPECIFIED) instruction.clear_dst();
  if (!instruction.has_intent()) return;
  isa::Intent& intent = *instruction.mutable_intent();
  if (intent.has_a() && intent.a().queue().empty()) intent.clear_a();
  if (intent.has_b() && intent.b().queue().empty()) intent.clear_b();
  if (intent.has_c() && intent.c().queue().empty()) intent.clear_c();
  if (intent.has_memory() && intent.memory().queue().empty()) intent.clear_memory();
  if (intent.has_loads() && intent.loads().cycle() < 0) intent.clear_loads();
  if (intent.has_weights() && intent.weights().cycle() < 0) intent.clear_weights();
  if (intent.has_products() && intent.products().cycle() < 0) intent.clear_products();
  if (intent.has_sent() && intent.sent().cycle() < 0) intent.clear_sent();
  if (!intent.has_a() && !intent.has_b() && !intent.has_c() && !intent.has_memory() && !intent.has_loads() &&
      !intent.has_weights() && !intent.has_products() && !intent.has_sent()) {
    instruction.clear_intent();
  }
}

}  // namespace

isa::Instruction& Claim::Emit(int queue, int64_t cycle, isa::Opcode opcode) {
  if (used_ == instructions_.size()) instructions_.emplace_back();
  Pending& pending = instructions_[used_++];
  pending.queue = queue;
  if (pending.instruction == nullptr) {
    pending.instruction = google::protobuf::Arena::CreateMessage<isa::Instruction>(chip_.arena_);
  }
  isa::Instruction& instruction = *pending.instruction;
  EmptyForReuse(instruction);
  instruction.set_cycle(cycle);
  isa::SetInstructionOpcode(opcode, &instruction);
  Note(isa::ResultCycle(chip_.chip_, opcode, cycle));
  return instruction;
}

ChipScheduler::ChipScheduler(const isa::ChipModel& chip, int chip_id, google::protobuf::Arena* arena)
    : chip_(chip),
      id_(chip_id),
      read_latency_(chip.latency_cycles(isa::Opcode::kRead)),
      write_latency_(chip.latency_cycles(isa::Opcode::kWrite)),
      queue_cycles_(chip.queues().size()),
      streams_(2, StreamTable(chip.streams_per_direction())),
      bank_reads_(chip.slices().size() * chip.mem_banks()),
      bank_writes_(chip.slices().size() * chip.mem_banks()),
      address_states_(chip.slices().size()),
      own_arena_(arena == nullptr ? std::make_unique<google::protobuf::Arena>() : nullptr),
      arena_(arena == nullptr ? own_arena_.get() : arena),
      queued_(chip.queues().size()) {}

int64_t ChipScheduler::ReadableAt(int slice, int64_t address) const {
  return StateOf(slice, address).landed + 1;
}

int64_t ChipScheduler::WritableAt(int slice, int64_t address) const {
  const AddressState& state = StateOf(slice, address);
  return std::max(state.landed, state.last_read) + 1;
}

absl::StatusOr<int64_t> ChipScheduler::Place(int64_t lower, absl::string_view what,
                                             const std::function<bool(int64_t, Claim&)>& attempt) {
  lower = std::max(lower, earliest_);
  Claim claim(*this);
  for (int64_t t = lower; t < lower + kSearchWindow; ++t) {
    claim.Reset();
    claim.anchor_ = t;
    if (!attempt(t, claim)) {
      t = std::max(t, claim.fail_below_ - 1);
      continue;
    }
    Commit(claim);
    return t;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("chip ", id_, ": no cycle in [", lower, ", ", lower + kSearchWindow,
                   ") fits ", what, " (its operands may share a slice or a stream group)"));
}

void ChipScheduler::Commit(Claim& claim) {
  claim.taken_.clear();  // Kept: the tables already hold them.
  claim.stream_takes_.clear();
  for (const auto& [slice, address, cycle] : claim.reads_) {
    AddressState& state = MutableStateOf(slice, address);
    state.last_read = std::max(state.last_read, cycle);
  }
  for (const auto& [slice, address, landing] : claim.writes_) {
    AddressState& state = MutableStateOf(slice, address);
    state.landed = std::max(state.landed, landing);
  }
  for (size_t i = 0; i < claim.used_; ++i) {
    Claim::Pending& pending = claim.instructions_[i];
    DropUnused(*pending.instruction);
    queued_[pending.queue].push_back(pending.instruction);
    pending.instruction = nullptr;
    ++instruction_count_;
  }
  claim.used_ = 0;
  last_cycle_ = std::max(last_cycle_, claim.last_cycle_);
}

void ChipScheduler::SetMemory(int slice, int64_t address, std::string bytes) {
  isa::MemoryImage image;
  image.set_slice(chip_.slices()[slice].name);
  image.set_address(address);
  image.set_data(std::move(bytes));
  memory_.push_back(std::move(image));
}

int ChipScheduler::AddLaneMap(const std::vector<int>& lanes) {
  const std::string key = absl::StrJoin(lanes, ",");
  auto [it, inserted] = lane_map_index_.try_emplace(key, static_cast<int>(lane_maps_.size()));
  if (inserted) {
    isa::LaneMap map;
    for (int lane : lanes) map.add_source_lane(lane);
    lane_maps_.push_back(std::move(map));
  }
  return it->second;
}

isa::Instruction& ChipScheduler::AddInstruction(int queue, int64_t cycle, isa::Opcode opcode) {
  queue_cycles_[queue].insert(cycle);
  last_cycle_ = std::max(last_cycle_, isa::ResultCycle(chip_, opcode, cycle));
  ++instruction_count_;
  isa::Instruction* instruction = google::protobuf::Arena::CreateMessage<isa::Instruction>(arena_);
  queued_[queue].push_back(instruction);
  instruction->set_cycle(cycle);
  isa::SetInstructionOpcode(opcode, instruction);
  return *instruction;
}

isa::Program ChipScheduler::Build() {
  isa::Program program;
  BuildInto(&program);
  return program;
}

void ChipScheduler::BuildInto(isa::Program* program) {
  program->set_chip(chip_.name());
  // Heap messages join an arena's program without a copy (the arena owns them).
  for (isa::MemoryImage& image : memory_) program->mutable_memory()->AddAllocated(new isa::MemoryImage(std::move(image)));
  for (isa::LaneMap& map : lane_maps_) program->mutable_lane_maps()->AddAllocated(new isa::LaneMap(std::move(map)));
  memory_.clear();
  lane_maps_.clear();
  // Intent sources name chip queues while scheduling; the program numbers
  // only the queues it has.
  std::vector<int32_t> program_queue(queued_.size(), -1);
  int32_t queues = 0;
  for (size_t q = 0; q < queued_.size(); ++q) {
    if (!queued_[q].empty()) program_queue[q] = queues++;
  }
  auto renumber = [&](isa::Source& source) {
    if (!source.has_chip()) source.set_queue(program_queue[source.queue()]);
  };
  auto renumber_intent = [&](isa::Instruction& instruction) {
    if (!instruction.has_intent()) return;
    isa::Intent& intent = *instruction.mutable_intent();
    // has_ first: mutable_ would add an empty list to every instruction.
    auto renumber_list = [&](bool present, isa::Sources* (isa::Intent::*list)()) {
      if (!present) return;
      for (int32_t& queue : *(intent.*list)()->mutable_queue()) {
        if (queue >= 0) queue = program_queue[queue];
      }
    };
    renumber_list(intent.has_a(), &isa::Intent::mutable_a);
    renumber_list(intent.has_b(), &isa::Intent::mutable_b);
    renumber_list(intent.has_c(), &isa::Intent::mutable_c);
    renumber_list(intent.has_memory(), &isa::Intent::mutable_memory);
    if (intent.has_loads()) renumber(*intent.mutable_loads());
    if (intent.has_weights()) renumber(*intent.mutable_weights());
    if (intent.has_products()) renumber(*intent.mutable_products());
  };
  std::sort(outputs_.begin(), outputs_.end());
  outputs_.erase(std::unique(outputs_.begin(), outputs_.end()), outputs_.end());
  for (const auto& [slice, address] : outputs_) {
    const int64_t landed = StateOf(slice, address).landed;
    if (landed < 0) continue;  // Not written by this program.
    isa::Output* output = program->add_outputs();
    output->set_slice(chip_.slices()[slice].name);
    output->set_address(address);
    *output->mutable_written_by() = Produced(program_queue[Queue(slice)], landed - write_latency_);
  }
  outputs_.clear();
  // Each queue's instructions in cycle order (ties in the order placed).
  for (size_t q = 0; q < queued_.size(); ++q) {
    std::vector<isa::Instruction*>& list = queued_[q];
    if (list.empty()) continue;
    auto by_cycle = [](const auto& x, const auto& y) { return x->cycle() < y->cycle(); };
    // One pass over the instructions (each a cache miss): renumbered, and
    // checked for order. Mostly placed in order already; sorting anyway
    // costs a buffer per queue.
    bool sorted = true;
    for (size_t i = 0; i < list.size(); ++i) {
      isa::FetchInstructionsAhead(static_cast<int>(i), static_cast<int>(list.size()),
                                  [&](int k) -> const isa::Instruction& { return *list[k]; });
      renumber_intent(*list[i]);
      if (i > 0 && by_cycle(list[i], list[i - 1])) sorted = false;
    }
    if (!sorted) std::stable_sort(list.begin(), list.end(), by_cycle);
    isa::QueueProgram* queue = program->add_queues();
    queue->set_queue(chip_.queues()[q].name);
    queue->mutable_instructions()->Reserve(static_cast<int>(list.size()));
    // From the same arena: added as is; otherwise copied.
    for (isa::Instruction* instruction : list) queue->mutable_instructions()->AddAllocated(instruction);
    list.clear();
  }
}

}  // namespace tsp::scheduler
