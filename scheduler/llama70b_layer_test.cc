// One full llama2_70b-shaped decoder layer (hidden 8,192, 64 heads, 8 KV
// heads, FFN 28,672), int8, on two 8-chip nodes as the partitioner lays
// llama2_70b over the 576-chip system (16-way tensor parallel: 4 heads and a
// replicated KV head a chip, all-reduces across the two nodes, 4,096-token
// caches), emulated functionally with synthetic weights and checked against
// the reference at positions 0, 1 and 4,095 (the context's last, attention
// over 13 KV tiles). The 576-chip layout's three-layer stages spread their
// matrices over the activation slices; here the SRAM kept for 44 users'
// caches pushes the one layer's matrices there too, so the spot check runs
// that layout. The vocabulary is cut to 640 tokens so the embedding and LM
// head stay small; the layer itself is the model's.

#include <iostream>
#include <memory>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_decoder.h"
#include "scheduler/decode_session.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/logits_tolerance.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

TEST(Llama70bLayerTest, OneFullLayerSixteenWayMatchesTheReference) {
  const TestSystem node = MakeTestSystem(2);
  const isa::ChipModel& chip = *node.chip;
  const pipeline::SystemModel& system = *node.system;
  const pipeline::Topology& topology = *node.topology;
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("llama2_70b"));
  config.set_layers(1);
  config.set_vocab_size(640);
  const models::ModelWeights weights = models::SyntheticWeights(config, models::NumberFormat::kInt8, 5);
  models::ReferenceDecoder reference(config, models::NumberFormat::kInt8, 5);
  models::ReferenceDecoder reordered(config, models::NumberFormat::kInt8, 5, models::SumOrder::kReversed);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 16, 1, 16));
  DecoderOptions options;
  options.weights = &weights;
  options.context_tokens = 4096;
  options.users = 44;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, chip, system, topology, partition, options));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<StageFootprint> footprints, compiler.Footprints());
  ASSERT_TRUE(footprints[0].spread);
  EXPECT_EQ(footprints[0].bytes_short(), 0);
  pipeline::SystemRunOptions run;
  run.threads = 2;
  auto check = [&](DecodeSession& session, int64_t token) {
    TSP_ASSERT_OK_AND_ASSIGN(StepResult result, session.Step(token));
    const std::vector<float> expected = reference.Step(token);
    const double move = LogitsError(reordered.Step(token), expected);
    EXPECT_EQ(result.predicted_last_cycle, result.emulated_last_cycle);
    const double error = LogitsError(result.logits, expected);
    std::cout << "position " << result.position << ": " << result.emulated_last_cycle << " cycles, logits error "
              << error << " (the reordered reference moves " << move << "), compile " << result.compile_seconds
              << " s, emulate " << result.emulate_seconds << " s\n";
    EXPECT_LT(error, LogitsTolerance(models::NumberFormat::kInt8, move)) << "position " << result.position;
    EXPECT_EQ(result.next_token, models::Argmax(expected));
  };
  {
    DecodeSession session(compiler, chip, system, topology, run);
    for (int64_t token : {17, 300}) check(session, token);
  }
  // The last position of the 4,096-token context: attention over 13
  // 320-token tiles, the last holding 255 cached tokens and the new one. The
  // caches before it are the reference's (synthetic keys and values),
  // written where the step reads them.
  const int64_t last = options.context_tokens - 1;
  reference.FillCache(last - reference.position(), 41);
  reordered.FillCache(last - reordered.position(), 41);
  DecodeSession deep(compiler, chip, system, topology, run);
  TSP_ASSERT_OK(deep.StartAt(last, lowering::CachedBy(reference)));
  check(deep, 433);
}

}  // namespace
}  // namespace tsp::scheduler
