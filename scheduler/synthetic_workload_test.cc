#include "scheduler/synthetic_workload.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "pipeline/system_emulator.h"

namespace tsp::scheduler {
namespace {

// The whole 576-chip system, timing-only: weights streamed through every
// chip's MXM while vectors cross local and global links, all in one
// schedule that the lockstep emulation matches to the cycle.
TEST(SyntheticWorkloadTest, FiveHundredSeventySixChipsRunExactlyAsScheduled) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemModel system, pipeline::LoadSystemModel("groq_576", chip));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  TSP_ASSERT_OK_AND_ASSIGN(SyntheticWorkload workload,
                           BuildSyntheticWorkload(chip, system, topology, 2, 2));
  EXPECT_EQ(workload.programs.size(), 576u);
  pipeline::SystemRunOptions options;
  options.functional = false;
  options.threads = 2;
  TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                           pipeline::SystemEmulator::Create(chip, system, topology, workload.programs, options));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, emulator->Run());
  EXPECT_EQ(result.last_event_cycle, workload.predicted_last_event_cycle);
  // Each chip sends 2 vectors to its pair partner and 2 over a global link
  // (every chip of QuadFour's 72 nodes has one, except where the line ends).
  EXPECT_GT(result.transfers.size(), 576u * 2);
  EXPECT_GT(result.instructions_issued, 576 * 1000);
}

}  // namespace
}  // namespace tsp::scheduler
