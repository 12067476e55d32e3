// What the intent costs in a program, and that it is optional (issue 20,
// item 1): compiled steps of tiny models round-trip through the text form
// with every intent, and without their intents (as hand-written assembly may
// be) they still pass the verifier, which then checks the rules alone. The
// sizes of the protobuf and of the text, with and without, are printed.

#include <cstdint>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "pipeline/system_verifier.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

struct Step {
  const char* model;
  models::NumberFormat format;
  int tensor_parallel;
  int stages;
  int64_t context;
  int64_t position;
};

class IntentSizeTest : public SystemFixture<::testing::TestWithParam<Step>> {};

isa::Program WithoutIntent(const isa::Program& program) {
  isa::Program stripped = program;
  for (isa::QueueProgram& queue : *stripped.mutable_queues()) {
    for (isa::Instruction& instruction : *queue.mutable_instructions()) instruction.clear_intent();
  }
  stripped.clear_outputs();
  return stripped;
}

TEST_P(IntentSizeTest, IntentRoundTripsAndIsOptional) {
  const Step& step = GetParam();
  Build(4);
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(step.model));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition,
                           EvenPartition(config, step.tensor_parallel, step.stages, 8));
  DecoderOptions options;
  options.format = step.format;
  options.context_tokens = step.context;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  TSP_ASSERT_OK_AND_ASSIGN(CompiledStep compiled, compiler.CompileStep(step.position));
  int64_t binary = 0, binary_without = 0, text = 0, text_without = 0, instructions = 0, with_intent = 0;
  isa::ChipPrograms stripped;
  for (const auto& [id, program] : compiled.programs) {
    const std::string printed = isa::PrintProgram(program);
    TSP_ASSERT_OK_AND_ASSIGN(const isa::Program parsed, isa::ParseProgram(printed));
    EXPECT_EQ(parsed.SerializeAsString(), program.SerializeAsString()) << "chip " << id << " does not round-trip";
    const isa::Program without = WithoutIntent(program);
    binary += static_cast<int64_t>(program.ByteSizeLong());
    binary_without += static_cast<int64_t>(without.ByteSizeLong());
    text += static_cast<int64_t>(printed.size());
    text_without += static_cast<int64_t>(isa::PrintProgram(without).size());
    for (const isa::QueueProgram& queue : program.queues()) {
      for (const isa::Instruction& instruction : queue.instructions()) {
        ++instructions;
        with_intent += instruction.has_intent();
      }
    }
    stripped[id] = without;
  }
  EXPECT_GT(with_intent, 0);
  EXPECT_GT(binary, binary_without);
  TSP_EXPECT_OK(pipeline::VerifySystemPrograms(*chip_, *system_, *topology_, compiled.programs));
  TSP_EXPECT_OK(pipeline::VerifySystemPrograms(*chip_, *system_, *topology_, stripped));
  std::cout << step.model << " " << models::NumberFormatName(step.format) << " " << step.tensor_parallel << "x"
            << step.stages << " at position " << step.position << ": " << instructions << " instructions, "
            << with_intent << " with an intent; protobuf " << binary_without << " -> " << binary << " bytes (x"
            << static_cast<double>(binary) / binary_without << "), text " << text_without << " -> " << text
            << " bytes (x" << static_cast<double>(text) / text_without << ")\n";
}

INSTANTIATE_TEST_SUITE_P(Tiny, IntentSizeTest,
                         ::testing::Values(Step{"tiny_wide", models::NumberFormat::kInt8, 2, 4, 700, 650},
                                           Step{"tiny_dense", models::NumberFormat::kFp16, 2, 1, 64, 3},
                                           Step{"tiny_moe", models::NumberFormat::kInt8, 1, 1, 64, 2}),
                         [](const ::testing::TestParamInfo<Step>& info) {
                           return absl::StrCat(info.param.model, "_", models::NumberFormatName(info.param.format));
                         });

}  // namespace
}  // namespace tsp::scheduler
