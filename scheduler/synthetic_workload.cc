#include "scheduler/synthetic_workload.h"

#include <vector>

#include "isa/status_macros.h"
#include "scheduler/system_scheduler.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler {

absl::StatusOr<SyntheticWorkload> BuildSyntheticWorkload(const isa::ChipModel& chip,
                                                         const pipeline::SystemModel& system,
                                                         const pipeline::Topology& topology, int tiles_each_way,
                                                         int exchanges) {
  SystemScheduler scheduler(chip, system, topology, /*with_data=*/false);
  const int64_t size = static_cast<int64_t>(tiles_each_way) * chip.lanes();
  for (int id = 0; id < topology.chips(); ++id) {
    VectorOps& ops = scheduler.ops(id);
    ASSIGN_OR_RETURN(StreamedMatrix weights, ops.NewMatrix(Side::kWest, isa::INT8, size, size));
    std::vector<Vec> x;
    for (int k = 0; k < tiles_each_way; ++k) {
      ASSIGN_OR_RETURN(Vec v, ops.Constant(isa::INT8, Side::kWest, {}));
      x.push_back(v);
    }
    RETURN_IF_ERROR(ops.MatVec(weights, x, tiles_each_way, tiles_each_way).status());
  }
  // The exchanges, on the east side, around the matrices' streaming.
  for (int id = 0; id < topology.chips(); ++id) {
    std::vector<int> peers = {id ^ 1};
    // The far end of the chip's first global link, if it has one.
    for (int port = 0; port < topology.ports_per_chip(); ++port) {
      const int link = topology.LinkAt(id, port);
      if (link >= 0 && topology.links()[link].global) {
        peers.push_back(topology.Peer(id, port).chip);
        break;
      }
    }
    for (int peer : peers) {
      if (peer >= topology.chips()) continue;
      for (int k = 0; k < exchanges; ++k) {
        ASSIGN_OR_RETURN(Vec value, scheduler.ops(id).Constant(isa::INT8, Side::kEast, {}));
        RETURN_IF_ERROR(scheduler.Transfer(id, value, peer, Side::kEast).status());
      }
    }
  }
  SyntheticWorkload workload;
  workload.predicted_last_event_cycle = scheduler.last_cycle();
  workload.programs = scheduler.Build();
  return workload;
}

}  // namespace tsp::scheduler
