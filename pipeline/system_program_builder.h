#ifndef TSP_PIPELINE_SYSTEM_PROGRAM_BUILDER_H_
#define TSP_PIPELINE_SYSTEM_PROGRAM_BUILDER_H_

// Builds the programs of many chips from data movements, each scheduled at the
// earliest cycle its resources allow: instruction queue slots, stream-register
// diagonals, SRAM banks and link serialization windows are reserved as they
// are used, with the timing rules of isa/timing.h. A vector moves between
// chips along the topology's fixed route; every intermediate chip receives it
// and sends it on in the cycle it reaches the outgoing port's C2C slice. The
// building blocks of collectives (and their predicted cycles) are made of it.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "isa/program.pb.h"
#include "isa/program_builder.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::pipeline {

// A vector in one chip's SRAM.
struct Location {
  std::string slice;
  int64_t address = 0;
};

class SystemProgramBuilder {
 public:
  SystemProgramBuilder(const isa::ChipModel& chip, const SystemModel& system,
                       const Topology& topology);

  // Adds a hand-scheduled program for `chip` (at most one per chip, before any
  // transfer or add on it): its queue cycles, stream diagonals and bank
  // accesses are reserved, and Build merges it with what is scheduled around
  // it. Gather and Scatter reserve every bank (their addresses are data).
  absl::Status AddProgram(int chip, const isa::Program& program);

  // Initial SRAM contents (one or more whole vectors).
  void SetMemory(int chip, const Location& at, const std::string& bytes);

  // Moves the vector at `from` on chip `source` to `to` on chip `destination`,
  // reading it no earlier than `ready`. Returns the cycle its Write lands.
  absl::StatusOr<int64_t> Transfer(int source, const Location& from, int destination,
                                   const Location& to, int64_t ready);

  // out = a + b (int8, wrapping) on chip's VXM, reading no earlier than
  // `ready`. Returns the cycle the sum's Write lands.
  absl::StatusOr<int64_t> AddInt8(int chip, const Location& a, const Location& b,
                                  const Location& out, int64_t ready);

  // The programs, each starting with a Deskew of every port it uses.
  isa::ChipPrograms Build();

  // The latest cycle any scheduled instruction issues or delivers a result:
  // the run's predicted last event cycle.
  int64_t last_cycle() const { return last_cycle_; }

  // The first cycle a Send or Receive may use: every C2C queue deskews its
  // ports in the cycles before it.
  int64_t first_link_cycle() const { return first_link_cycle_; }

 private:
  struct ChipState {
    isa::ProgramBuilder builder;
    std::set<std::pair<int, int64_t>> busy_queue_cycles;        // (queue, cycle)
    std::set<std::tuple<int, int, int64_t>> stream_diagonals;   // (direction, stream, diagonal)
    std::set<std::tuple<int, int, int64_t>> bank_reads;         // (slice, bank, cycle)
    std::set<std::tuple<int, int, int64_t>> bank_writes;
    std::set<std::pair<int, int>> used_ports;                   // (C2C slice, port)
    std::vector<isa::MemoryImage> memory;
    std::vector<isa::LaneMap> lane_maps;
  };

  // What a data movement would claim, checked as a whole and then reserved.
  struct Claim {
    std::vector<std::pair<int, int64_t>> queue_cycles;
    std::vector<std::tuple<int, int, int64_t>> streams;  // Chosen while checking.
    std::vector<std::tuple<int, int, int64_t>> bank_reads;
    std::vector<std::tuple<int, int, int64_t>> bank_writes;
  };

  int SlicePosition(const std::string& slice) const;
  int QueueOf(int slice_position) const;  // The slice's first queue.
  // A stream of `direction` whose diagonal at (position, cycle) is free on the
  // chip and not yet in `claim`; -1 if none.
  int FreeStream(const ChipState& state, const Claim& claim, isa::Direction direction,
                 int position, int64_t cycle) const;
  bool Free(const ChipState& state, const Claim& claim) const;
  void Reserve(ChipState& state, const Claim& claim);
  bool LinkFree(int link, int direction, int64_t departure) const;
  int C2cSlicePosition(int port) const;
  void Note(int64_t cycle) { last_cycle_ = std::max(last_cycle_, cycle); }

  const isa::ChipModel& chip_;
  const SystemModel& system_;
  const Topology& topology_;
  std::vector<int> c2c_slices_;
  int64_t first_link_cycle_ = 0;
  std::map<int, ChipState> chips_;
  std::map<std::pair<int, int>, std::set<int64_t>> link_departures_;  // (link, direction)
  int64_t last_cycle_ = 0;
};

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYSTEM_PROGRAM_BUILDER_H_
