#ifndef TSP_SCHEDULER_SYNTHETIC_WORKLOAD_H_
#define TSP_SCHEDULER_SYNTHETIC_WORKLOAD_H_

// A whole-system workload for tests and benchmarks, scheduled by the
// compiler's own scheduler (SystemScheduler): every chip streams a matrix of
// weight tiles through its west MXM plane (VectorOps::MatVec, without data)
// and, around that schedule, sends vectors to the other chip of its pair in
// the node and to the chip at the far end of its first global link.

#include <cstdint>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::scheduler {

struct SyntheticWorkload {
  isa::ChipPrograms programs;
  int64_t predicted_last_event_cycle = 0;
};

// `tiles_each_way` x `tiles_each_way` weight tiles per chip, `exchanges`
// vectors to each of a chip's two peers.
absl::StatusOr<SyntheticWorkload> BuildSyntheticWorkload(const isa::ChipModel& chip,
                                                         const pipeline::SystemModel& system,
                                                         const pipeline::Topology& topology, int tiles_each_way,
                                                         int exchanges);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_SYNTHETIC_WORKLOAD_H_
