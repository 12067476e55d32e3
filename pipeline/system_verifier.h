#ifndef TSP_PIPELINE_SYSTEM_VERIFIER_H_
#define TSP_PIPELINE_SYSTEM_VERIFIER_H_

// Checks the programs of many chips from the programs alone, as
// pipeline::SystemEmulator would run them: every chip's program
// (emulator::ChipVerifier) with the vectors the others send it, and the
// links between them (a Send on a port with no link or to a chip with no
// program, a departure while the link still serializes the previous vector),
// using the same rules (isa/hazards.h) and the same words
// (emulator/messages.h). Arrivals follow from each Send's cycle, the link's
// serialization and latency (isa::LinkArrivalCycle); no table of the
// scheduler is read.
//
// Errors come in the emulator's order: it runs the chips through windows of
// one link delay and reports the lowest-numbered chip's error of the first
// window that has one, then departures that break a link rule, then the
// end-of-run checks chip by chip. A system that passes is checked once; one
// that fails is checked again with the emulator's windows worked out, so
// that the error is the one the emulator reports.

#include <vector>

#include "absl/status/status.h"
#include "emulator/decoded_program.h"
#include "isa/chip_model.h"
#include "isa/chip_programs.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::pipeline {

// `programs[i]` is chip `chip_ids[i]`'s, decoded (ascending chip ids); chips
// are checked on `threads` threads, with the same result for any number.
absl::Status VerifySystem(const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
                          const std::vector<int>& chip_ids,
                          const std::vector<const emulator::DecodedProgram*>& programs, int threads = 1);

// The same for programs not yet decoded.
absl::Status VerifySystemPrograms(const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
                                  const isa::ChipPrograms& programs, int threads = 1);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYSTEM_VERIFIER_H_
