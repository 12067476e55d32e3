#include <map>
#include <string>

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/model_run.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

class StageUnitSignatureTest : public SystemFixture<::testing::Test> {};

// The chips' programs with chip ids moved by `offset` (the programs' keys
// and the sending chips their Receives' intents name), serialized: units
// equal up to chip ids serialize the same.
std::map<int, std::string> Shifted(const isa::ChipPrograms& programs, int offset) {
  std::map<int, std::string> out;
  for (const auto& [chip, program] : programs) {
    isa::Program moved = program;
    for (isa::QueueProgram& queue : *moved.mutable_queues()) {
      for (isa::Instruction& instruction : *queue.mutable_instructions()) {
        if (instruction.intent().has_sent()) {
          isa::Source& sent = *instruction.mutable_intent()->mutable_sent();
          sent.set_chip(sent.chip() + offset);
        }
      }
    }
    out[chip + offset] = moved.SerializeAsString();
  }
  return out;
}

// RunModel times a stage unit once per signature and reuses it for every
// stage that shares it; that is sound only when those stages' programs are
// the same up to chip ids. tiny_wide, 2-way x 4 stages, a stage per node:
// the middle stages share a signature, and their units' programs are
// byte-identical once stage 1's chips are moved onto stage 2's; the first
// and last stages have signatures of their own.
TEST_F(StageUnitSignatureTest, UnitsSharingASignatureHaveTheSameProgramsUpToChipIds) {
  Build(4);
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_wide"));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 2, 4, 8));
  for (models::NumberFormat format : {models::NumberFormat::kInt8, models::NumberFormat::kFp16}) {
    DecoderOptions options;
    options.format = format;
    options.context_tokens = 700;
    TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                             DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
    const int64_t position = 650;  // Three KV tiles.
    const int64_t tiles = 3;
    std::map<std::string, std::vector<int>> stages_of;
    for (int s = 0; s < 4; ++s) {
      stages_of[StageUnitSignature(partition, *topology_, s, tiles)].push_back(s);
    }
    ASSERT_EQ(stages_of.size(), 3u);  // first, middle (1 and 2), last.
    // The comparison sees differences: the last stage's unit (LM head, argmax,
    // the token back to stage 0) is not the middle one's moved.
    TSP_ASSERT_OK_AND_ASSIGN(CompiledStep middle, compiler.CompileStageUnit(2, position));
    TSP_ASSERT_OK_AND_ASSIGN(CompiledStep last, compiler.CompileStageUnit(3, position));
    EXPECT_FALSE(Shifted(middle.programs, 8) == Shifted(last.programs, 0));
    for (const auto& [signature, stages] : stages_of) {
      if (stages.size() < 2) continue;
      EXPECT_EQ(stages, (std::vector<int>{1, 2})) << signature;
      TSP_ASSERT_OK_AND_ASSIGN(CompiledStep first, compiler.CompileStageUnit(stages[0], position));
      TSP_ASSERT_OK_AND_ASSIGN(CompiledStep second, compiler.CompileStageUnit(stages[1], position));
      const int offset = partition.stage_chips[stages[1]][0] - partition.stage_chips[stages[0]][0];
      EXPECT_EQ(first.predicted_last_cycle, second.predicted_last_cycle);
      EXPECT_EQ(first.instructions, second.instructions);
      EXPECT_TRUE(Shifted(first.programs, offset) == Shifted(second.programs, 0))
          << models::NumberFormatName(format) << ": stages " << stages[0] << " and " << stages[1] << " share signature "
          << signature << " but their programs differ beyond chip ids";
    }
  }
}

}  // namespace
}  // namespace tsp::scheduler
