#ifndef TSP_PIPELINE_SYNTHETIC_WORKLOAD_H_
#define TSP_PIPELINE_SYNTHETIC_WORKLOAD_H_

// A whole-system workload for tests and benchmarks: every chip streams
// weights through an MXM plane (the matvec kernel, without data) and, around
// that schedule, exchanges vectors with the other chip of its pair in the node
// and with the chip at the far end of its first global link.

#include <cstdint>
#include <map>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "isa/program.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::pipeline {

struct SyntheticWorkload {
  isa::ChipPrograms programs;
  int64_t predicted_last_event_cycle = 0;
};

// `tiles_each_way` x `tiles_each_way` weight tiles per chip, `exchanges`
// vectors each way per pair of neighbours.
absl::StatusOr<SyntheticWorkload> BuildSyntheticWorkload(const isa::ChipModel& chip,
                                                         const SystemModel& system,
                                                         const Topology& topology,
                                                         int tiles_each_way, int exchanges);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYNTHETIC_WORKLOAD_H_
