#include "scheduler/decoder_compiler.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "isa/test_scale.h"
#include "models/model_registry.h"
#include "models/reference_decoder.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decode_session.h"
#include "scheduler/logits_tolerance.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

using models::NumberFormat;

struct Layout {
  const char* name;
  int tensor_parallel;
  int stages;
  int stage_stride;  // 8: one stage per node.
};

// (model, format, layout)
using Case = std::tuple<std::string, NumberFormat, Layout>;

class DecoderInvariantTest : public SystemFixture<::testing::TestWithParam<Case>> {
 protected:
  void SetUp() override { Build(2); }
};

// Runs the prompt and `generated` greedy steps on the chips and on the
// reference side by side; with SRAM kept for `users` users' caches of
// `context` tokens; each step's logits into `logits` if given.
void RunAgainstReference(const Case& param, const isa::ChipModel& chip, const pipeline::SystemModel& system,
                         const pipeline::Topology& topology, int generated, int64_t users = 1,
                         std::vector<std::vector<float>>* logits = nullptr, int64_t context = 24);

// Predicted == emulated on every step; functional logits against the
// independent reference within LogitsTolerance, and the same greedy tokens.
void RunAgainstReference(const Case& param, const isa::ChipModel& chip, const pipeline::SystemModel& system,
                         const pipeline::Topology& topology, int generated, int64_t users,
                         std::vector<std::vector<float>>* logits, int64_t context) {
  const auto& [name, format, layout] = param;
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(name));
  const models::ModelWeights weights = models::SyntheticWeights(config, format, 11);
  models::ReferenceDecoder reference(config, format, 11);
  models::ReferenceDecoder reordered(config, format, 11, models::SumOrder::kReversed);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition,
                           EvenPartition(config, layout.tensor_parallel, layout.stages, layout.stage_stride));
  DecoderOptions options;
  options.format = format;
  options.weights = &weights;
  options.context_tokens = context;
  options.users = users;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, chip, system, topology, partition, options));
  pipeline::SystemRunOptions run;
  run.threads = 2;
  DecodeSession session(compiler, chip, system, topology, run);
  const std::vector<int64_t> prompt = {3, 141};
  int64_t token = prompt[0];
  for (int step = 0; step < static_cast<int>(prompt.size()) + generated; ++step) {
    const bool from_host = step < static_cast<int>(prompt.size());
    TSP_ASSERT_OK_AND_ASSIGN(StepResult result, session.Step(from_host ? prompt[step] : -1));
    const std::vector<float> expected = reference.Step(from_host ? prompt[step] : token);
    const double move = LogitsError(reordered.Step(from_host ? prompt[step] : token), expected);
    EXPECT_EQ(result.predicted_last_cycle, result.emulated_last_cycle) << "step " << step;
    if (generated <= 3 || step % 4 == 0) {  // Keep the log short.
      std::cout << name << " " << models::NumberFormatName(format) << " " << layout.name << " step " << step
                << ": predicted " << result.predicted_last_cycle << ", emulated " << result.emulated_last_cycle
                << " cycles; logits error " << LogitsError(result.logits, expected)
                << " (the reordered reference moves " << move << "); compile " << result.compile_seconds
                << " s, emulate " << result.emulate_seconds << " s\n";
    }
    ASSERT_EQ(result.logits.size(), expected.size());
    if (logits != nullptr) logits->push_back(result.logits);
    EXPECT_LT(LogitsError(result.logits, expected), LogitsTolerance(format, move)) << "step " << step;
    token = models::Argmax(expected);
    EXPECT_EQ(result.next_token, token) << "step " << step;
  }
}

TEST_P(DecoderInvariantTest, PredictedEqualsEmulatedAndTokensMatchTheReference) {
  RunAgainstReference(GetParam(), *chip_, *system_, *topology_, 3);
}

// Timing-only steps deep into a long KV cache (attention over 1, 2 and 3
// tiles of 320 tokens): predicted == emulated without values.
TEST_F(DecoderInvariantTest, TimingOnlyStepsAtLongKvLengths) {
  for (const char* name : {"tiny_wide", "tiny_moe"}) {
    TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(name));
    for (NumberFormat format : {NumberFormat::kInt8, NumberFormat::kFp16}) {
      TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 2, 2, 8));
      DecoderOptions options;
      options.format = format;
      options.context_tokens = 960;
      TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler, DecoderCompiler::Create(config, *chip_, *system_,
                                                                                 *topology_, partition, options));
      for (int64_t position : {0, 319, 320, 700, 959}) {
        TSP_ASSERT_OK_AND_ASSIGN(CompiledStep step, compiler.CompileStep(position));
        pipeline::SystemRunOptions run;
        run.functional = false;
        run.threads = 2;
        TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                                 pipeline::SystemEmulator::Create(*chip_, *system_, *topology_, step.programs, run));
        TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, emulator->Run());
        EXPECT_EQ(step.predicted_last_cycle, result.last_event_cycle) << name << " at " << position;
        // Stream values put on the streams early and batched repeated reads
        // (the weight streams) change nothing: every chip's cycles, issues
        // and busy slices and every transfer are those of the run event by
        // event (only the lockstep windows, which start at events, differ).
        run.early_stream_values = false;
        TSP_ASSERT_OK_AND_ASSIGN(emulator,
                                 pipeline::SystemEmulator::Create(*chip_, *system_, *topology_, step.programs, run));
        TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult one_by_one, emulator->Run());
        EXPECT_EQ(result.instructions_issued, one_by_one.instructions_issued);
        ASSERT_EQ(result.transfers.size(), one_by_one.transfers.size());
        for (size_t i = 0; i < result.transfers.size(); ++i) {
          const pipeline::Transfer& a = result.transfers[i];
          const pipeline::Transfer& b = one_by_one.transfers[i];
          EXPECT_TRUE(a.link == b.link && a.from_chip == b.from_chip && a.from_port == b.from_port &&
                      a.to_chip == b.to_chip && a.to_port == b.to_port && a.departure_cycle == b.departure_cycle &&
                      a.arrival_cycle == b.arrival_cycle)
              << "transfer " << i;
        }
        for (const auto& [id, chip_run] : one_by_one.chips) {
          EXPECT_EQ(result.chips.at(id).last_event_cycle, chip_run.last_event_cycle) << "chip " << id;
          EXPECT_EQ(result.chips.at(id).busy_cycles, chip_run.busy_cycles) << "chip " << id;
        }
        std::cout << name << " " << models::NumberFormatName(format) << " timing-only at position " << position
                  << ": predicted " << step.predicted_last_cycle << ", emulated " << result.last_event_cycle
                  << "\n";
      }
    }
  }
}

// Bad partitions are refused with what and why.
TEST_F(DecoderInvariantTest, RefusesPartitionsThatDoNotSplit) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_wide"));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 4, 1, 8));
  absl::StatusOr<DecoderCompiler> compiler =
      DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, DecoderOptions());
  EXPECT_EQ(compiler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(compiler.status().message().find("tiny_wide: 10 heads do not split 4 ways"), std::string::npos)
      << compiler.status();
  EXPECT_FALSE(EvenPartition(config, 2, 5, 8).ok());  // Five stages for four layers.
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition too_wide, EvenPartition(config, 2, 2, 8));
  too_wide.stage_chips[1] = {16, 17};  // Beyond the 16-chip system.
  EXPECT_FALSE(DecoderCompiler::Create(config, *chip_, *system_, *topology_, too_wide, DecoderOptions()).ok());
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition ok, EvenPartition(config, 2, 2, 8));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler fine,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, ok, DecoderOptions()));
  EXPECT_EQ(fine.CompileStep(512).status().code(), absl::StatusCode::kOutOfRange);  // Context 512.
}

// tiny_wide (int8, one chip, 24-token caches): its matrices take 6,640
// addresses of the 32 weight slices of the two sides (PartitionerTest counts
// them); each user's caches 80 more a side (4 layers x 2 KV heads x one
// 10-address tile, keys west, values east). With 70 users' caches (3,320 +
// 5,600 a side, past 8,192) they no longer fit there and spread over the activation slices' upper
// addresses too: the step must compute the very same logits, bit for bit,
// as with one user, match the reference and run as predicted.
TEST_F(DecoderInvariantTest, MatricesSpreadOverActivationSlicesComputeTheSameLogits) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_wide"));
  const Case one_chip{"tiny_wide", NumberFormat::kInt8, Layout{"1chip", 1, 1, 8}};
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 1, 1, 8));
  std::vector<StageFootprint> footprints[2];
  std::vector<std::vector<float>> logits[2];
  const int64_t users[2] = {1, 70};
  for (int k = 0; k < 2; ++k) {
    DecoderOptions options;
    options.context_tokens = 24;
    options.users = users[k];
    TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                             DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
    TSP_ASSERT_OK_AND_ASSIGN(footprints[k], compiler.Footprints());
    RunAgainstReference(one_chip, *chip_, *system_, *topology_, 3, users[k], &logits[k]);
  }
  EXPECT_FALSE(footprints[0][0].spread);
  EXPECT_EQ(footprints[0][0].weight_addresses[0] + footprints[0][0].weight_addresses[1], 6640 + 2 * 80);
  ASSERT_TRUE(footprints[1][0].spread);
  EXPECT_EQ(footprints[1][0].weight_addresses[0] + footprints[1][0].weight_addresses[1], 6640 + 2 * 70 * 80);
  EXPECT_GT(footprints[1][0].weight_addresses[0], chip_->mem_addresses());
  EXPECT_EQ(footprints[1][0].bytes_short(), 0);
  ASSERT_EQ(logits[0].size(), logits[1].size());
  for (size_t step = 0; step < logits[0].size(); ++step) EXPECT_EQ(logits[0][step], logits[1][step]) << step;
  // One user's own caches spread: 20,480 tokens are 64 tiles a KV head, so 4
  // layers x 2 heads x 640 addresses = 5,120 a side, past the 3,072 where the
  // activation slices start to take tiles: the last layers' caches (written
  // row by row, read by the attention's products, kept between steps) lie
  // over both kinds of slices. Same logits again.
  {
    DecoderOptions options;
    options.context_tokens = 20480;
    TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                             DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<StageFootprint> footprints, compiler.Footprints());
    EXPECT_TRUE(footprints[0].spread);
    EXPECT_EQ(footprints[0].weight_addresses[0] + footprints[0].weight_addresses[1], 6640 + 2 * 5120);
  }
  std::vector<std::vector<float>> long_cache;
  RunAgainstReference(one_chip, *chip_, *system_, *topology_, 3, 1, &long_cache, 20480);
  ASSERT_EQ(long_cache.size(), logits[0].size());
  for (size_t step = 0; step < logits[0].size(); ++step) EXPECT_EQ(long_cache[step], logits[0][step]) << step;
  // 200 users' caches fit nowhere: a clear error, no program.
  DecoderOptions options;
  options.context_tokens = 24;
  options.users = 200;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  absl::StatusOr<CompiledStep> step = compiler.CompileStep(0);
  EXPECT_EQ(step.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(step.status().message().find("does not fit"), std::string::npos) << step.status();
}

class SixteenTokensTest : public DecoderInvariantTest {};

// Sixteen greedy tokens after the prompt, each step's prediction checked.
TEST_P(SixteenTokensTest, SixteenGreedyTokensEqualTheReference) {
  RunAgainstReference(GetParam(), *chip_, *system_, *topology_, 16);
}

// Under AddressSanitizer every second case (isa/test_scale.h).
INSTANTIATE_TEST_SUITE_P(
    Tiny, SixteenTokensTest,
    ::testing::ValuesIn(::tsp::testing::SanitizerShare(
        std::vector<Case>{Case{"tiny_dense", NumberFormat::kInt8, Layout{"1chip", 1, 1, 8}},
                          Case{"tiny_dense", NumberFormat::kFp16, Layout{"2nodes", 4, 2, 8}},
                          Case{"tiny_moe", NumberFormat::kInt8, Layout{"2nodes", 8, 2, 8}},
                          Case{"tiny_moe", NumberFormat::kFp16, Layout{"1chip", 1, 1, 8}},
                          Case{"tiny_wide", NumberFormat::kInt8, Layout{"4chips", 2, 2, 2}},
                          Case{"tiny_wide", NumberFormat::kFp16, Layout{"2chips", 2, 1, 8}}},
        2)),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::get<0>(info.param) + "_" + models::NumberFormatName(std::get<1>(info.param)) + "_" +
             std::get<2>(info.param).name;
    });

// 1, 2, 4 and 8 chips of one node, and stages on two nodes, as each model's
// heads, KV heads and FFN split (tensor parallelism) and its layers (stages);
// under AddressSanitizer every third (isa/test_scale.h).
std::vector<Case> AllCases() {
  const std::vector<std::pair<std::string, std::vector<Layout>>> models = {
      {"tiny_dense",
       {{"1chip", 1, 1, 8}, {"2chips", 2, 1, 8}, {"4chips", 4, 1, 8}, {"8chips", 4, 2, 4}, {"2nodes", 4, 2, 8}}},
      {"tiny_moe",
       {{"1chip", 1, 1, 8}, {"2chips", 2, 1, 8}, {"4chips", 4, 1, 8}, {"8chips", 8, 1, 8}, {"2nodes", 8, 2, 8}}},
      {"tiny_wide",
       {{"1chip", 1, 1, 8}, {"2chips", 2, 1, 8}, {"4chips", 2, 2, 2}, {"8chips", 2, 4, 2}, {"2nodes", 2, 2, 8}}},
  };
  std::vector<Case> cases;
  for (const auto& [name, layouts] : models) {
    for (NumberFormat format : {NumberFormat::kInt8, NumberFormat::kFp16}) {
      for (const Layout& layout : layouts) cases.push_back({name, format, layout});
    }
  }
  return ::tsp::testing::SanitizerShare(cases, 3);
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, DecoderInvariantTest,
    ::testing::ValuesIn(AllCases()),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::get<0>(info.param) + "_" + models::NumberFormatName(std::get<1>(info.param)) + "_" +
             std::get<2>(info.param).name;
    });

}  // namespace
}  // namespace tsp::scheduler
