// Values where the schedule changes shape: functional steps at KV positions
// 318-322, 638-642 and 958-962, where attention goes from one 320-token tile
// to two, three and four (the last token of a tile, the first of the next),
// checked against the independent reference. The reference runs every step
// before the window itself (tiny models run fast in plain C++); the chips
// start each window from the reference's caches, written where the compiled
// steps read them (DecodeSession::StartAt), and run the window's steps back
// to back, greedy.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "isa/test_scale.h"
#include "models/model_registry.h"
#include "models/reference_decoder.h"
#include "scheduler/decode_session.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/logits_tolerance.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

using models::NumberFormat;

struct Case {
  std::string model;
  NumberFormat format;
  int tensor_parallel;
  int stages;
  int stage_stride;
};

class DeepContextTest : public SystemFixture<::testing::TestWithParam<Case>> {
 protected:
  void SetUp() override { Build(2); }
};

TEST_P(DeepContextTest, StepsAcrossAttentionTilesMatchTheReference) {
  const Case& c = GetParam();
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(c.model));
  const models::ModelWeights weights = models::SyntheticWeights(config, c.format, 11);
  models::ReferenceDecoder reference(config, c.format, 11);
  models::ReferenceDecoder reordered(config, c.format, 11, models::SumOrder::kReversed);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition,
                           EvenPartition(config, c.tensor_parallel, c.stages, c.stage_stride));
  DecoderOptions options;
  options.format = c.format;
  options.weights = &weights;
  options.context_tokens = 1024;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  pipeline::SystemRunOptions run;
  run.threads = 2;
  // The context before each window: synthetic keys and values (the
  // reference's own steps would take minutes); then the window's steps, with
  // host tokens, on both sides.
  auto token_at = [&](int64_t t) { return (t * 7919 + 3) % config.vocab_size(); };
  for (const int64_t first : {318, 638, 958}) {
    reference.FillCache(first - reference.position(), 100 + first);
    reordered.FillCache(first - reordered.position(), 100 + first);
    DecodeSession session(compiler, *chip_, *system_, *topology_, run);
    TSP_ASSERT_OK(session.StartAt(first, lowering::CachedBy(reference)));
    for (int64_t position = first; position < first + 5; ++position) {
      TSP_ASSERT_OK_AND_ASSIGN(StepResult result, session.Step(token_at(position)));
      const std::vector<float> expected = reference.Step(token_at(position));
      const double move = LogitsError(reordered.Step(token_at(position)), expected);
      ASSERT_EQ(result.position, position);
      EXPECT_EQ(result.predicted_last_cycle, result.emulated_last_cycle) << "position " << position;
      ASSERT_EQ(result.logits.size(), expected.size());
      const double error = LogitsError(result.logits, expected);
      std::cout << c.model << " " << models::NumberFormatName(c.format) << " at position " << position << " ("
                << (position + 320) / 320 << " tiles): " << result.emulated_last_cycle << " cycles, logits error "
                << error << " (the reordered reference moves " << move << ")\n";
      EXPECT_LT(error, LogitsTolerance(c.format, move)) << "position " << position;
      // The chips' argmax, checked against the host's over their logits.
      EXPECT_EQ(result.next_token, models::Argmax(result.logits)) << "position " << position;
    }
  }
}

// Under AddressSanitizer every second case (isa/test_scale.h).
INSTANTIATE_TEST_SUITE_P(Tiny, DeepContextTest,
                         ::testing::ValuesIn(::tsp::testing::SanitizerShare(
                             std::vector<Case>{Case{"tiny_dense", NumberFormat::kInt8, 1, 1, 8},
                                               Case{"tiny_dense", NumberFormat::kFp16, 4, 2, 8},
                                               Case{"tiny_moe", NumberFormat::kInt8, 2, 1, 8},
                                               Case{"tiny_moe", NumberFormat::kFp16, 1, 1, 8},
                                               Case{"tiny_wide", NumberFormat::kInt8, 2, 2, 2},
                                               Case{"tiny_wide", NumberFormat::kFp16, 2, 1, 8}},
                             2)),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.model + "_" + models::NumberFormatName(info.param.format) + "_" +
                                  std::to_string(info.param.tensor_parallel) + "x" + std::to_string(info.param.stages) + "_stride" + std::to_string(info.param.stage_stride);
                         });

// Starting a session mid-sequence is refused where it does not apply.
TEST_F(DeepContextTest, StartAtRefusesWhatDoesNotApply) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_dense"));
  const models::ModelWeights weights = models::SyntheticWeights(config, NumberFormat::kInt8, 11);
  models::ReferenceDecoder reference(config, NumberFormat::kInt8, 11);
  models::ReferenceDecoder fp16(config, NumberFormat::kFp16, 11);
  reference.FillCache(4, 1);
  fp16.FillCache(4, 1);
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, 1, 1, 8));
  DecoderOptions options;
  options.weights = &weights;
  options.context_tokens = 24;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  pipeline::SystemRunOptions timing;
  timing.functional = false;
  DecodeSession timing_only(compiler, *chip_, *system_, *topology_, timing);
  EXPECT_EQ(timing_only.StartAt(4, lowering::CachedBy(reference)).code(), absl::StatusCode::kFailedPrecondition);
  pipeline::SystemRunOptions run;
  DecodeSession session(compiler, *chip_, *system_, *topology_, run);
  EXPECT_EQ(session.StartAt(24, lowering::CachedBy(reference)).code(), absl::StatusCode::kOutOfRange);
  const absl::Status wrong_format = session.StartAt(4, lowering::CachedBy(fp16));
  EXPECT_EQ(wrong_format.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_format.message().find("the step's number format"), std::string::npos) << wrong_format;
  TSP_ASSERT_OK(session.StartAt(4, lowering::CachedBy(reference)));
  EXPECT_EQ(session.position(), 4);
  // The chips hold no token of their own yet: the host gives the first.
  EXPECT_EQ(session.Step(-1).status().code(), absl::StatusCode::kFailedPrecondition);
  TSP_ASSERT_OK_AND_ASSIGN(StepResult result, session.Step(5));
  EXPECT_EQ(result.position, 4);
  EXPECT_EQ(session.StartAt(8, lowering::CachedBy(reference)).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace tsp::scheduler
