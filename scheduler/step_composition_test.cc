// A step is its stage units in sequence (issue 20, item 7), emulated: RunModel
// compiles and emulates each distinct stage unit once and adds them up, so
// the whole step emulated as one system must be that sum, cycle for cycle.

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "isa/opcode.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "pipeline/system_emulator.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

struct Layout {
  const char* name;
  int tensor_parallel;
  int stages;
  int stage_stride;  // 8: one stage per node.
};

// A step is its stage units in sequence: each unit's stage starts where the
// previous stage ended, so the whole step's last cycle is the sum of the
// units' stage times plus the last unit's (which returns the token), and
// each unit alone runs as predicted. The whole step, emulated as one system,
// agrees cycle for cycle: every chip's last event is its latest in the units
// it takes part in (its own stage's, and the next stage's, to which it
// sends), each shifted to where its unit starts; its busy cycles per slice and
// the instructions and transfers are the units' sums, but for the Deskews a
// chip repeats: each unit is a program of its own and deskews every port it
// uses at its start, the whole step each port once.
void ExpectUnitsComposeIntoTheStep(const models::ModelConfig& config, const Layout& layout, int64_t context,
                                   int64_t position, const isa::ChipModel& chip, const pipeline::SystemModel& system,
                                   const pipeline::Topology& topology) {
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition,
                           EvenPartition(config, layout.tensor_parallel, layout.stages, layout.stage_stride));
  DecoderOptions options;
  options.context_tokens = context;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, chip, system, topology, partition, options));
  TSP_ASSERT_OK_AND_ASSIGN(CompiledStep whole, compiler.CompileStep(position));
  pipeline::SystemRunOptions run;
  run.functional = false;
  TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pipeline::SystemEmulator> whole_emulator,
                           pipeline::SystemEmulator::Create(chip, system, topology, whole.programs, run));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult whole_run, whole_emulator->Run());
  EXPECT_EQ(whole.predicted_last_cycle, whole_run.last_event_cycle) << layout.name;
  auto stage_end = [&](const pipeline::SystemRunResult& result, int s) {
    int64_t end = 0;
    for (int id : partition.stage_chips[s]) end = std::max(end, result.chips.at(id).last_event_cycle);
    return end;
  };
  std::map<int, int64_t> composed_end;                // Chip id -> its latest shifted last event over the units.
  std::map<int, std::vector<int64_t>> composed_busy;  // Chip id -> busy cycles per slice, summed.
  int64_t composed_issued = 0;
  size_t composed_transfers = 0;
  // (chip, queue, port) -> the units that deskew it.
  std::map<std::tuple<int, std::string, int64_t>, int> deskews;
  int64_t start = 0;
  for (int s = 0; s < layout.stages; ++s) {
    TSP_ASSERT_OK_AND_ASSIGN(CompiledStep unit, compiler.CompileStageUnit(s, position));
    TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                             pipeline::SystemEmulator::Create(chip, system, topology, unit.programs, run));
    TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, emulator->Run());
    EXPECT_EQ(unit.predicted_last_cycle, result.last_event_cycle) << layout.name << " stage " << s;
    EXPECT_EQ(unit.stage_last_cycle, stage_end(result, s)) << layout.name << " stage " << s;
    for (const auto& [id, chip_run] : result.chips) {
      if (chip_run.last_event_cycle > 0) {
        composed_end[id] = std::max(composed_end[id], start + chip_run.last_event_cycle);
      }
      std::vector<int64_t>& busy = composed_busy[id];
      busy.resize(chip_run.busy_cycles.size());
      for (size_t k = 0; k < busy.size(); ++k) busy[k] += chip_run.busy_cycles[k];
    }
    composed_issued += result.instructions_issued;
    composed_transfers += result.transfers.size();
    for (const auto& [id, program] : unit.programs) {
      for (const isa::QueueProgram& queue : program.queues()) {
        for (const isa::Instruction& instruction : queue.instructions()) {
          if (isa::InstructionOpcode(instruction) == isa::Opcode::kDeskew) {
            ++deskews[{id, queue.queue(), instruction.port()}];
          }
        }
      }
    }
    if (s + 1 < layout.stages) {
      start += stage_end(result, s);
    } else {
      EXPECT_EQ(start + unit.predicted_last_cycle, whole.predicted_last_cycle) << layout.name;
      EXPECT_EQ(start + result.last_event_cycle, whole_run.last_event_cycle) << layout.name;
    }
  }
  int repeated_deskews = 0;
  for (const auto& [key, units] : deskews) {
    const auto& [id, queue, port] = key;
    repeated_deskews += units - 1;
    composed_busy[id][chip.queues()[*chip.FindQueue(queue)].slice] -= units - 1;
  }
  composed_issued -= repeated_deskews;
  for (const auto& [id, chip_run] : whole_run.chips) {
    EXPECT_EQ(composed_end[id], chip_run.last_event_cycle) << layout.name << " chip " << id;
    EXPECT_EQ(composed_busy[id], chip_run.busy_cycles) << layout.name << " chip " << id;
  }
  EXPECT_EQ(composed_issued, whole_run.instructions_issued) << layout.name;
  EXPECT_EQ(composed_transfers, whole_run.transfers.size()) << layout.name;
  std::cout << config.name() << " " << layout.name << " at position " << position
            << ": the whole step emulated as one system, " << whole_run.last_event_cycle << " cycles and "
            << whole_run.instructions_issued << " instructions, is its " << layout.stages << " units' sum (less "
            << repeated_deskews << " repeated Deskews)\n";
}

class StepCompositionTest : public SystemFixture<::testing::Test> {
 protected:
  void SetUp() override { Build(4); }
};

TEST_F(StepCompositionTest, TinyWideStageUnitsComposeIntoTheStep) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_wide"));
  for (const Layout& layout : {Layout{"4stages", 2, 4, 2}, Layout{"2nodes", 2, 2, 8}}) {
    ExpectUnitsComposeIntoTheStep(config, layout, 400, 330, *chip_, *system_, *topology_);
  }
}

// At a real model's shape: llama2_13b's layers, 2 a stage on a node of 8
// chips as its 160-chip plans lay them out, in 4 stages (8 of its 40 layers:
// the whole 40 as one system would take 19 GB to emulate; the units compose
// the same way whatever their number).
TEST_F(StepCompositionTest, Llama2_13bShapedStageUnitsComposeIntoTheStep) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("llama2_13b"));
  config.set_layers(8);
  ExpectUnitsComposeIntoTheStep(config, Layout{"8x4", 8, 4, 8}, 400, 330, *chip_, *system_, *topology_);
}

}  // namespace
}  // namespace tsp::scheduler
