#include "pipeline/synthetic_workload.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "emulator/kernels/matvec_kernel.h"
#include "isa/status_macros.h"
#include "pipeline/system_program_builder.h"

namespace tsp::pipeline {

absl::StatusOr<SyntheticWorkload> BuildSyntheticWorkload(const isa::ChipModel& chip,
                                                         const SystemModel& system,
                                                         const Topology& topology,
                                                         int tiles_each_way, int exchanges) {
  ASSIGN_OR_RETURN(kernels::MatvecKernel kernel,
                   kernels::BuildMatvecKernel(chip, {tiles_each_way, tiles_each_way, isa::INT8}, {}, {}));
  SystemProgramBuilder builder(chip, system, topology);
  for (int id = 0; id < topology.chips(); ++id) RETURN_IF_ERROR(builder.AddProgram(id, kernel.program));
  // The kernel works in the western MEM slices; exchanges use eastern ones.
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
    for (size_t p = 0; p < peers.size(); ++p) {
      if (peers[p] >= topology.chips()) continue;
      for (int k = 0; k < exchanges; ++k) {
        const int64_t slot = static_cast<int64_t>(p) * exchanges + k;
        RETURN_IF_ERROR(builder
                            .Transfer(id, {absl::StrCat("MEM_E", 10 + p), k}, peers[p],
                                      {absl::StrCat("MEM_E", 20 + (id % 4)), 100 + slot}, 0)
                            .status());
      }
    }
  }
  SyntheticWorkload workload;
  workload.predicted_last_event_cycle = builder.last_cycle();
  workload.programs = builder.Build();
  return workload;
}

}  // namespace tsp::pipeline
