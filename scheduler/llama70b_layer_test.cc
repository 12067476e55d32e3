// One full llama2_70b-shaped decoder layer (hidden 8,192, 64 heads, 8 KV
// heads, FFN 28,672), int8, on one 8-chip node as the partitioner lays
// llama2_70b over 640 chips (8-way tensor parallel, one layer a stage),
// emulated functionally with synthetic weights and checked against the
// reference. The vocabulary is cut to 640 tokens so the embedding and LM head
// stay small; the layer itself is the model's.

#include <cmath>
#include <iostream>
#include <memory>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_decoder.h"
#include "scheduler/decode_session.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

TEST(Llama70bLayerTest, OneFullLayerOnANodeMatchesTheReference) {
  const TestSystem node = MakeTestSystem(1);
  const isa::ChipModel& chip = *node.chip;
  const pipeline::SystemModel& system = *node.system;
  const pipeline::Topology& topology = *node.topology;
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("llama2_70b"));
  config.set_layers(1);
  config.set_vocab_size(640);
  const models::ModelWeights weights = models::SyntheticWeights(config, models::NumberFormat::kInt8, 5);
  models::ReferenceDecoder reference(config, models::NumberFormat::kInt8, 5);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 8, 1, 8));
  DecoderOptions options;
  options.weights = &weights;
  options.context_tokens = 8;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, chip, system, topology, partition, options));
  pipeline::SystemRunOptions run;
  run.threads = 2;
  DecodeSession session(compiler, chip, system, topology, run);
  for (int64_t token : {17, 300}) {
    TSP_ASSERT_OK_AND_ASSIGN(StepResult result, session.Step(token));
    const std::vector<float> expected = reference.Step(token);
    EXPECT_EQ(result.predicted_last_cycle, result.emulated_last_cycle);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::fabs(static_cast<double>(result.logits[i]) - expected[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(expected[i])));
    }
    std::cout << "token " << token << ": " << result.emulated_last_cycle << " cycles, logits error "
              << worst / scale << ", compile " << result.compile_seconds << " s, emulate "
              << result.emulate_seconds << " s\n";
    EXPECT_LT(worst / scale, 0.05);
    EXPECT_EQ(result.next_token, models::Argmax(expected));
  }
}

}  // namespace
}  // namespace tsp::scheduler
