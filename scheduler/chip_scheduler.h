#ifndef TSP_SCHEDULER_CHIP_SCHEDULER_H_
#define TSP_SCHEDULER_CHIP_SCHEDULER_H_

// The static scheduler's view of one chip: reservation tables for instruction
// queues, stream-register diagonals and SRAM banks, plus what each SRAM
// address holds and when (the cycle its last write lands, the last cycle it
// was read). An operation is placed by trying anchor cycles from a lower bound
// upward: at each candidate it builds a Claim (the queue cycles, streams, bank
// accesses and instructions it would need) against the tables, and the first
// candidate whose Claim is free is committed. Because reads wait for the
// writes of their address to land and writes wait for earlier reads, callers
// order work simply by placing it in program order; the timing rules are the
// emulator's (isa/timing.h), so the latest cycle noted is the prediction of the
// run's last event.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/numeric/bits.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/arena.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"
#include "isa/program_builder.h"
#include "isa/timing.h"

namespace tsp::scheduler {

class ChipScheduler;

// A set of cycles (or diagonals), dense: reservation tables are filled from
// cycle 0 onward, so a bit per cycle is small and fast.
class CycleSet {
 public:
  bool contains(int64_t i) const {
    const uint64_t k = static_cast<uint64_t>(i + kOffset);
    return (k >> 6) < words_.size() && ((words_[k >> 6] >> (k & 63)) & 1) != 0;
  }
  // Sets the bit; false if it was set already.
  bool insert(int64_t i) {
    const uint64_t k = static_cast<uint64_t>(i + kOffset);
    if ((k >> 6) >= words_.size()) words_.resize(std::max<size_t>(2 * words_.size(), (k >> 6) + 1), 0);
    const uint64_t bit = uint64_t{1} << (k & 63);
    if ((words_[k >> 6] & bit) != 0) return false;
    words_[k >> 6] |= bit;
    return true;
  }
  void erase(int64_t i) {
    const uint64_t k = static_cast<uint64_t>(i + kOffset);
    words_[k >> 6] &= ~(uint64_t{1} << (k & 63));
  }
  // The first i' >= i not in the set.
  int64_t FirstClearFrom(int64_t i) const {
    uint64_t k = static_cast<uint64_t>(i + kOffset);
    while ((k >> 6) < words_.size()) {
      const uint64_t clear = ~words_[k >> 6] >> (k & 63);
      if (clear != 0) return static_cast<int64_t>(k + absl::countr_zero(clear)) - kOffset;
      k = (k | 63) + 1;
    }
    return static_cast<int64_t>(k) - kOffset;
  }

 private:
  // Diagonals of eastward streams are kept negated; both start a little
  // below zero (positions), so every key is offset.
  static constexpr int64_t kOffset = 4096;
  std::vector<uint64_t> words_;
};

// Which streams of one direction are taken at each diagonal: a bit per
// stream, a diagonal's streams in adjacent words, so that finding a free
// group of streams (the scheduler's most frequent question) is a few word
// operations rather than a lookup per stream.
class StreamTable {
 public:
  explicit StreamTable(int streams) : streams_(streams), words_per_key_((streams + 63) / 64) {}
  // The first of `width` consecutive streams free at `key`, or -1.
  int FirstFree(int64_t key, int width) const;
  bool Free(int64_t key, int first, int width) const;
  void Set(int64_t key, int first, int width);
  void Clear(int64_t key, int first, int width);

 private:
  // As CycleSet: keys start a little below zero.
  static constexpr int64_t kOffset = 4096;
  const uint64_t* Words(int64_t key) const {
    const uint64_t k = static_cast<uint64_t>(key + kOffset) * words_per_key_;
    return k < words_.size() ? &words_[k] : nullptr;
  }
  int streams_;
  int words_per_key_;
  std::vector<uint64_t> words_;
};

// The intent source naming the instruction on chip queue `queue` issued at
// `cycle` (ChipScheduler::BuildInto renumbers the queue to the program's).
isa::Source Produced(int queue, int64_t cycle, int64_t count = 0);
// An entry of an intent list (isa::Sources) as plain values: the instruction
// on chip queue `queue` issued at cycle `at`, or (queue -1) the initial
// contents of address `at`. Claims are tried at many cycles; plain values
// cost nothing to drop.
struct SourceEntry {
  int32_t queue;
  int64_t at;
};
// Appends to an intent list (a group operand's: one per stream, or one for
// all when a single instruction made the group; a Read's memory).
void AddSource(const SourceEntry& entry, isa::Sources* list);
void AddSources(const std::vector<SourceEntry>& entries, isa::Sources* list);

// What one operation would claim at one candidate cycle. Every method checks
// against the chip's tables (which already hold what this claim took),
// records the use and returns false (or -1) on a conflict; the candidate is
// then abandoned and everything it took is given back.
class Claim {
 public:
  explicit Claim(ChipScheduler& chip) : chip_(chip) {}
  ~Claim() { Release(); }
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;

  bool UseQueue(int queue, int64_t cycle);
  // A Read of (slice position, address) issued at `cycle`: its queue, its
  // bank, and the address's last write must have landed before.
  bool Read(int slice, int64_t address, int64_t cycle);
  // A Write issued at `cycle` (it lands at cycle + write latency): its queue,
  // its bank at landing, and it must land after the address's earlier reads
  // and writes.
  bool Write(int slice, int64_t address, int64_t cycle);
  // First of `width` consecutive streams of `direction` free for a value at
  // `position` in `cycle`, reserved in the claim; -1 when there are none.
  int Streams(isa::Direction direction, int width, int position, int64_t cycle);
  // Streams [first, first + width) fixed by the caller.
  bool FixedStreams(isa::Direction direction, int first, int width, int position, int64_t cycle);

  isa::Instruction& Emit(int queue, int64_t cycle, isa::Opcode opcode);
  // What a Read of (slice position, address) in this claim reads: the write
  // that landed last (committed; a claim never reads what it writes), or the
  // initial contents. Its queue is the chip's; BuildInto makes every local
  // source's queue the program's.
  SourceEntry MemorySource(int slice, int64_t address) const;
  void Note(int64_t cycle) { last_cycle_ = std::max(last_cycle_, cycle); }
  // After a conflict that every anchor cycle below `anchor` would meet too
  // (the caller knows which), Place tries `anchor` next instead of the next
  // cycle: the same cycle is chosen, sooner.
  void FailBelow(int64_t anchor) { fail_below_ = std::max(fail_below_, anchor); }
  // For an access at `cycle` that moves one for one with the anchor: when
  // placed work (not this claim) holds the queue at `cycle`, every anchor
  // until the queue's busy run ends fails the same way, so Place skips them.
  void SkipQueueBusyRun(int queue, int64_t cycle);

 private:
  friend class ChipScheduler;
  // Takes bit `i` of `set` for this claim; false if it is taken.
  bool Take(CycleSet& set, int64_t i) {
    if (!set.insert(i)) return false;
    taken_.emplace_back(&set, i);
    return true;
  }
  void Release() {
    for (auto& [set, i] : taken_) set->erase(i);
    taken_.clear();
    for (const StreamTake& take : stream_takes_) take.table->Clear(take.key, take.first, take.width);
    stream_takes_.clear();
  }
  // Gives back what the candidate took and forgets it, keeping the
  // instructions' storage for the next candidate (Place tries many).
  void Reset() {
    Release();
    reads_.clear();
    writes_.clear();
    used_ = 0;
    last_cycle_ = 0;
    fail_below_ = 0;
  }
  struct Pending {
    int queue = 0;
    // On the scheduler's arena; handed to the program as is when committed,
    // made again when next needed.
    isa::Instruction* instruction = nullptr;
  };
  ChipScheduler& chip_;
  std::vector<std::pair<CycleSet*, int64_t>> taken_;
  struct StreamTake {
    StreamTable* table;
    int64_t key;
    int first;
    int width;
  };
  std::vector<StreamTake> stream_takes_;
  std::vector<std::tuple<int, int64_t, int64_t>> reads_;   // (slice, address, cycle)
  std::vector<std::tuple<int, int64_t, int64_t>> writes_;  // (slice, address, landing)
  std::vector<Pending> instructions_;  // The first used_ belong to this candidate.
  size_t used_ = 0;
  int64_t last_cycle_ = 0;
  int64_t fail_below_ = 0;
  int64_t anchor_ = 0;  // The candidate cycle being tried.
};

class ChipScheduler {
 public:
  // Instructions are made on `arena` (one of the scheduler's own when null),
  // which must outlive the scheduler and the programs it builds.
  ChipScheduler(const isa::ChipModel& chip, int chip_id, google::protobuf::Arena* arena = nullptr);

  const isa::ChipModel& chip() const { return chip_; }
  int id() const { return id_; }

  // Places an operation: `attempt(t, claim)` builds the claim for anchor cycle
  // t and returns whether it fits; the first t >= lower that fits is
  // committed and returned. `what` names the operation in the error when no
  // cycle within the search window fits.
  absl::StatusOr<int64_t> Place(int64_t lower, absl::string_view what,
                                const std::function<bool(int64_t, Claim&)>& attempt);

  // No operation is placed before `cycle` from now on (a barrier).
  void set_earliest(int64_t cycle) { earliest_ = std::max(earliest_, cycle); }

  // First cycle a Read of the address may issue (after its last write landed).
  int64_t ReadableAt(int slice, int64_t address) const;
  // First cycle a write to the address may land (after its reads and writes).
  int64_t WritableAt(int slice, int64_t address) const;

  // Initial SRAM contents: whole vectors from `address` of the slice.
  void SetMemory(int slice, int64_t address, std::string bytes);
  size_t memory_image_count() const { return memory_.size(); }
  // Copies of the images [first, end) set so far.
  std::vector<isa::MemoryImage> MemoryImagesFrom(size_t first) const {
    return std::vector<isa::MemoryImage>(memory_.begin() + first, memory_.end());
  }
  void AddMemoryImages(const std::vector<isa::MemoryImage>& images) {
    memory_.insert(memory_.end(), images.begin(), images.end());
  }
  // Declares (slice position, address) an output of the program: if this
  // program writes it, the write landing last is named as what it must hold
  // at the end of the run (isa::Output).
  void DeclareOutput(int slice, int64_t address) { outputs_.emplace_back(slice, address); }
  // A lane map, shared with any identical one already added; returns its index.
  int AddLaneMap(const std::vector<int>& lanes);
  // Instructions outside any claim (Deskews), with their result cycle noted.
  isa::Instruction& AddInstruction(int queue, int64_t cycle, isa::Opcode opcode);

  // The latest cycle an instruction issues or delivers a result.
  int64_t last_cycle() const { return last_cycle_; }
  int64_t instruction_count() const { return instruction_count_; }

  // The program placed so far, into `program` (best on the scheduler's
  // arena: then the instructions are not copied), or as a new program.
  void BuildInto(isa::Program* program);
  isa::Program Build();

  // Queue indexes by slice position.
  int Queue(int slice, int index_in_slice = 0) const {
    return chip_.slices()[slice].first_queue + index_in_slice;
  }

 private:
  friend class Claim;
  struct AddressState {
    int64_t landed = -1;     // Landing cycle of the last write.
    int64_t last_read = -1;  // Issue cycle of the last read.
  };
  // The state of an address; a default one (never read or written) for
  // addresses not touched yet.
  const AddressState& StateOf(int slice, int64_t address) const {
    static const AddressState kUntouched;
    const std::vector<AddressState>& states = address_states_[slice];
    return address < static_cast<int64_t>(states.size()) ? states[address] : kUntouched;
  }
  AddressState& MutableStateOf(int slice, int64_t address) {
    std::vector<AddressState>& states = address_states_[slice];
    if (address >= static_cast<int64_t>(states.size())) {
      states.resize(std::max<int64_t>(address + 1, chip_.mem_addresses()));
    }
    return states[address];
  }
  void Commit(Claim& claim);

  const isa::ChipModel& chip_;
  int id_;
  int64_t read_latency_;
  int64_t write_latency_;
  StreamTable& Streams(isa::Direction direction) { return streams_[direction == isa::EAST ? 0 : 1]; }
  CycleSet& BankSet(std::vector<CycleSet>& sets, int slice, int64_t address) {
    return sets[slice * chip_.mem_banks() + isa::MemBank(chip_, address)];
  }
  std::vector<CycleSet> queue_cycles_;  // Per queue.
  std::vector<StreamTable> streams_;    // Per direction: streams taken per diagonal.
  std::vector<CycleSet> bank_reads_;    // Per slice and bank.
  std::vector<CycleSet> bank_writes_;   // Landing cycles.
  // Per slice position, per address; a slice's table is allocated when one
  // of its addresses is first read or written (dense: these lookups are the
  // scheduler's innermost loop).
  std::vector<std::vector<AddressState>> address_states_;
  std::unique_ptr<google::protobuf::Arena> own_arena_;  // When none is given.
  google::protobuf::Arena* arena_;
  // Per queue, in the order placed; on the arena.
  std::vector<std::vector<isa::Instruction*>> queued_;
  std::vector<isa::MemoryImage> memory_;
  std::vector<std::pair<int, int64_t>> outputs_;  // (slice, address) declared.
  std::vector<isa::LaneMap> lane_maps_;
  absl::flat_hash_map<std::string, int> lane_map_index_;
  int64_t last_cycle_ = 0;
  int64_t instruction_count_ = 0;
  int64_t earliest_ = 0;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_CHIP_SCHEDULER_H_
