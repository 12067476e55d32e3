#ifndef TSP_SCHEDULER_SYSTEM_SCHEDULER_H_
#define TSP_SCHEDULER_SYSTEM_SCHEDULER_H_

// The static scheduler across chips: one ChipScheduler and VectorOps per chip
// plus the links' serialization windows. A vector moves between chips plane by
// plane along the topology's fixed route; each intermediate chip receives the
// plane and sends it on in the cycle it reaches the next port's C2C slice
// (isa/README.md, "Links"). Departures on a link, and receives on a port, are
// kept in the order they are scheduled, so a Receive always takes the vector
// it was scheduled for (the port hands out the oldest arrival).

#include <cstdint>
#include <map>
#include <memory>
#include <set>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "isa/program.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/chip_scheduler.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler {

class SystemScheduler {
 public:
  SystemScheduler(const isa::ChipModel& chip, const pipeline::SystemModel& system,
                  const pipeline::Topology& topology, bool with_data);

  // The chip's scheduler and operations, created on first use.
  VectorOps& ops(int chip);
  ChipScheduler& chip(int chip) { return ops(chip).scheduler(); }
  // Whether the chip has a scheduler (something was placed or allocated on it).
  bool has_chip(int chip) const {
    auto it = chips_.find(chip);
    return it != chips_.end() && it->second.scheduler != nullptr;
  }
  // Forgets everything placed on a chip (before any transfer touches it), to
  // allocate it again another way.
  void ResetChip(int chip) { chips_.erase(chip); }

  // Copies `value` on chip `from` into `into` on chip `to`.
  absl::Status Transfer(int from, const Vec& value, int to, const Vec& into);
  // The same into a fresh vector on `side` of chip `to`.
  absl::StatusOr<Vec> Transfer(int from, const Vec& value, int to, Side side);

  // Every chip's program, each starting with a Deskew of every port it uses.
  // Call once, at the end.
  isa::ChipPrograms Build();
  // The latest cycle any chip issues or delivers a result: the prediction of
  // the system run's last event.
  int64_t last_cycle() const;
  int64_t instruction_count() const;
  const pipeline::Topology& topology() const { return topology_; }

 private:
  // One chip being scheduled: its reservation tables and operations, and
  // the ports transfers have used on it.
  struct ScheduledChip {
    std::unique_ptr<ChipScheduler> scheduler;
    std::unique_ptr<VectorOps> ops;
    std::set<std::pair<int, int>> used_ports;  // (C2C slice index, port in slice)
    std::map<int, std::vector<int64_t>> receives;  // Per chip port: each Receive's cycle, in order.
  };
  absl::Status TransferPlane(int from, int from_slice, int64_t from_address, int to, int to_slice,
                             int64_t to_address);
  int C2cPosition(int port) const;

  const isa::ChipModel& chip_;
  const pipeline::SystemModel& system_;
  const pipeline::Topology& topology_;
  bool with_data_;
  std::vector<int> c2c_slices_;
  int64_t first_link_cycle_;
  std::map<int, ScheduledChip> chips_;
  std::map<std::pair<int, int>, int64_t> last_departure_;  // (link, direction)
  isa::ChipPrograms programs_;  // Its arena holds every chip's instructions.
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_SYSTEM_SCHEDULER_H_
