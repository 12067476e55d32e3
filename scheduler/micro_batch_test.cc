// A decode micro-batch (DecoderCompiler::CompileBatchStep): several users'
// tokens in one step, each weight tile installed once for all of them, each
// user's attention over its own cache. Every user gets exactly its own
// logits and greedy tokens, users at different KV lengths included; the
// prediction equals the emulation and the verifier accepts the programs.

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/opcode.h"
#include "isa/status_macros.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_decoder.h"
#include "pipeline/system_emulator.h"
#include "scheduler/decode_session.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/logits_tolerance.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

using models::NumberFormat;

// One batch step's outcome, by member, and its weight installs.
struct BatchStep {
  int64_t predicted = 0;
  int64_t installs = 0;
  StepRun run;
};

// Compiles and runs a batch step on the SRAM the previous one left (verified
// before it runs). host_tokens[m] >= 0 puts that token in member m's slot;
// -1 keeps the token the previous step's argmax left there.
absl::StatusOr<BatchStep> RunBatchStep(const DecoderCompiler& compiler, const isa::ChipModel& chip,
                                       const pipeline::SystemModel& system, const pipeline::Topology& topology,
                                       const std::vector<int64_t>& positions, const std::vector<int64_t>& host_tokens,
                                       CarriedSram& carried) {
  ASSIGN_OR_RETURN(CompiledStep step, compiler.CompileBatchStep(positions));
  BatchStep result;
  result.predicted = step.predicted_last_cycle;
  for (const auto& [id, program] : step.programs) {
    for (const isa::QueueProgram& queue : program.queues()) {
      for (const isa::Instruction& instruction : queue.instructions()) {
        result.installs += isa::InstructionOpcode(instruction) == isa::Opcode::kInstallWeights;
      }
    }
  }
  pipeline::SystemRunOptions options;
  options.verify = true;
  ASSIGN_OR_RETURN(result.run, RunCompiledStep(step, host_tokens, chip, system, topology, options, carried));
  return result;
}

struct Case {
  std::string model;
  NumberFormat format;
  int tensor_parallel;
  int stages;
};

class MicroBatchTest : public SystemFixture<::testing::TestWithParam<Case>> {
 protected:
  void SetUp() override { Build(2); }
};

// User 0 runs a step alone; then users 0 and 1 run together (user 0 at
// position 1, user 1 at 0), and again: each against its own reference.
TEST_P(MicroBatchTest, EachUserGetsItsOwnTokensAtItsOwnPosition) {
  const Case& c = GetParam();
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(c.model));
  const models::ModelWeights weights = models::SyntheticWeights(config, c.format, 11);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, c.tensor_parallel, c.stages, 8));
  DecoderOptions options;
  options.format = c.format;
  options.weights = &weights;
  options.context_tokens = 24;
  options.users = 2;
  options.batch = 2;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  std::vector<models::ReferenceDecoder> reference, reordered;
  for (int user = 0; user < 2; ++user) {
    reference.emplace_back(config, c.format, 11);
    reordered.emplace_back(config, c.format, 11, models::SumOrder::kReversed);
  }
  CarriedSram carried;
  // (positions, host tokens; -1: the token the chips chose) of each step.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> steps = {
      {{0}, {3}}, {{1, 0}, {-1, 141}}, {{2, 1}, {-1, -1}}};
  std::vector<int64_t> tokens = {3, 141};
  int64_t single_installs = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    const auto& [positions, host] = steps[s];
    TSP_ASSERT_OK_AND_ASSIGN(BatchStep step,
                             RunBatchStep(compiler, *chip_, *system_, *topology_, positions, host, carried));
    EXPECT_EQ(step.predicted, step.run.emulated_last_cycle) << "step " << s;
    if (s == 0) single_installs = step.installs;
    // Weights are installed once for the whole batch; only the attention
    // over each user's own cache adds installs: at positions below 320 one
    // key tile and one value tile per query head and layer.
    const int64_t cache_installs = config.layers() * config.heads() * 2;
    const int64_t expected = single_installs + (static_cast<int64_t>(positions.size()) - 1) * cache_installs;
    if (config.experts() == 0) {
      EXPECT_EQ(step.installs, expected) << "step " << s;
    } else {
      // Routed experts still run one member at a time (each member's own
      // experts; sharing them across a batch is issue 23's routing).
      EXPECT_GE(step.installs, expected) << "step " << s;
    }
    for (size_t m = 0; m < positions.size(); ++m) {
      if (host[m] >= 0) tokens[m] = host[m];
      const std::vector<float> expected = reference[m].Step(tokens[m]);
      const double move = LogitsError(reordered[m].Step(tokens[m]), expected);
      ASSERT_EQ(step.run.logits[m].size(), expected.size()) << "step " << s << ", user " << m;
      const double error = LogitsError(step.run.logits[m], expected);
      std::cout << c.model << " " << models::NumberFormatName(c.format) << " step " << s << ", user " << m
                << " at position " << positions[m] << ": logits error " << error << " (the reordered reference moves "
                << move << "); " << step.run.emulated_last_cycle << " cycles, " << step.installs << " installs\n";
      EXPECT_LT(error, LogitsTolerance(c.format, move)) << "step " << s << ", user " << m;
      tokens[m] = models::Argmax(expected);
      EXPECT_EQ(step.run.next_tokens[m], tokens[m]) << "step " << s << ", user " << m;
    }
  }
}

// A batch the chips hold no caches for, or none, is refused up front.
TEST_F(MicroBatchTest, RefusesABatchWithoutCaches) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_dense"));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 1, 1, 8));
  DecoderOptions options;
  options.users = 2;
  options.batch = 3;
  EXPECT_THAT(DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options).status(),
              ::tsp::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                       ::testing::HasSubstr("a micro-batch of 3 users with KV caches for 2")));
  options.batch = 0;
  EXPECT_FALSE(DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options).ok());
  options.batch = 2;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  EXPECT_THAT(compiler.CompileBatchStep({0, 0, 0}).status(),
              ::tsp::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                       ::testing::HasSubstr("a step of 3 users' tokens, compiled for 2")));
  EXPECT_THAT(compiler.CompileBatchStep({0, 5000}).status(),
              ::tsp::testing::StatusIs(absl::StatusCode::kOutOfRange, ::testing::HasSubstr("position 5000")));
}

INSTANTIATE_TEST_SUITE_P(Tiny, MicroBatchTest,
                         ::testing::Values(Case{"tiny_dense", NumberFormat::kInt8, 1, 1},
                                           Case{"tiny_dense", NumberFormat::kFp16, 2, 1},
                                           Case{"tiny_wide", NumberFormat::kInt8, 2, 2},
                                           Case{"tiny_moe", NumberFormat::kFp16, 2, 1}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.model + "_" + models::NumberFormatName(info.param.format) + "_" +
                                  std::to_string(info.param.tensor_parallel) + "x" +
                                  std::to_string(info.param.stages);
                         });

}  // namespace
}  // namespace tsp::scheduler
