#ifndef TSP_PIPELINE_SYSTEM_EMULATOR_H_
#define TSP_PIPELINE_SYSTEM_EMULATOR_H_

// Runs the programs of many chips as one deterministic machine.
//
// Time base: before cycle 0 the chips align their counters once over a
// spanning tree of links (ISCA22's hardware-aligned counters); that costs
// `alignment_cycles` (tree depth x (link latency + serialization)) and then
// every chip counts the same cycles. Links have no back pressure: a vector
// departs when its Send's result lands (d_func after issue), occupies the link
// for its serialization time, and arrives latency cycles after it is fully
// serialized: arrival = departure + serialization + latency. A Send onto a
// link still serializing the previous vector is an error (the compiler must
// space them), as is a Send on a port with no link.
//
// Lockstep: no chip can affect another sooner than one link delay
// (serialization + latency), so all chips advance independently through
// windows of that many cycles, starting at the next cycle anything happens;
// between windows the vectors sent are delivered in (chip, departure) order.
// The chips of a window run on the worker threads; results, traces and errors
// are the same for any number of threads (an error is the lowest-numbered
// chip's).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "emulator/chip_emulator.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "isa/program.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::pipeline {

struct SystemRunOptions {
  bool functional = true;
  int threads = 1;
  bool record_trace = false;
  int64_t cycle_limit = int64_t{1} << 40;
  // emulator::RunOptions::early_stream_values for every chip; a run that
  // fails with them is run again without, so errors are exact.
  bool early_stream_values = true;
  // Checks the programs with the independent verifier
  // (pipeline/system_verifier.h: every chip and the links between them)
  // before the system runs; Create returns its error.
  bool verify = false;
};

struct Transfer {
  int link;
  int from_chip;
  int from_port;
  int to_chip;
  int to_port;
  int64_t departure_cycle;
  int64_t arrival_cycle;
};

struct SystemRunResult {
  int64_t alignment_cycles = 0;   // Before cycle 0, once.
  int64_t last_event_cycle = -1;  // Latest over all chips.
  int64_t completion_cycle = 0;   // Latest over all chips.
  int64_t instructions_issued = 0;
  int64_t windows = 0;            // Lockstep windows run.
  std::map<int, emulator::RunResult> chips;  // By chip id.
  std::vector<Transfer> transfers;           // By departure cycle, chip and port.
};

class SystemEmulator {
 public:
  // `programs` maps chip ids to their programs; other chips are idle and cost
  // nothing. Everything passed must outlive the emulator.
  static absl::StatusOr<std::unique_ptr<SystemEmulator>> Create(
      const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
      const isa::ChipPrograms& programs, SystemRunOptions options);

  absl::StatusOr<SystemRunResult> Run();

  absl::StatusOr<std::string> ReadMemory(int chip, absl::string_view slice, int64_t address,
                                         int64_t vectors) const;
  const emulator::ChipEmulator* chip_emulator(int chip) const;

  // Cycles of the one-time alignment over a breadth-first spanning tree from
  // chip 0 of the chips in `programs`.
  static int64_t AlignmentCycles(const SystemModel& system, const Topology& topology,
                                 const std::vector<int>& chips);

 private:
  SystemEmulator() = default;
  absl::Status Deliver(int chip, std::vector<emulator::OutboundVector> sent,
                       SystemRunResult* result);
  // (Re)creates every chip's emulator and the links' state.
  absl::Status CreateChipEmulators(bool early_stream_values, bool verify);
  absl::StatusOr<SystemRunResult> RunOnce();

  const isa::ChipModel* chip_ = nullptr;
  const SystemModel* system_ = nullptr;
  const Topology* topology_ = nullptr;
  SystemRunOptions options_;
  const isa::ChipPrograms* programs_ = nullptr;
  std::vector<int> chip_ids_;
  std::vector<std::unique_ptr<emulator::ChipEmulator>> emulators_;  // Parallel to chip_ids_.
  std::map<int, int> index_of_chip_;
  std::map<std::string, int> c2c_slice_index_;  // C2C slice name -> index west to east.
  std::vector<int> c2c_slices_;                 // Their positions, west to east.
  // Per link and direction (0: a -> b), the cycle it finishes serializing.
  std::vector<std::array<int64_t, 2>> link_free_;
  std::vector<std::array<int64_t, 2>> link_last_departure_;
};

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYSTEM_EMULATOR_H_
