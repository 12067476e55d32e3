#include "models/reference_decoder.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"

namespace tsp::models {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::Pointwise;

TEST(ReferenceOpsTest, Int8QuantizationRoundsHalfToEven) {
  const QuantizedVector v = QuantizeInt8({1.0f, -0.5f, 0.25f, 0.0f});
  // r = 127: 127, -63.5 -> -64 (even), 31.75 -> 32, 0.
  EXPECT_THAT(v.q, ElementsAre(127, -64, 32, 0));
  EXPECT_EQ(v.scale, 1.0f / 127.0f);
  EXPECT_EQ(QuantizeInt8({0.0f, 0.0f}).scale, 1.0f);
}

TEST(ReferenceOpsTest, MatVecInBothFormats) {
  Matrix w;
  w.out = 2;
  w.in = 2;
  w.q = {1, 2, 3, -4};
  w.scale = {0.5f, 2.0f};
  // x = (127, 63.5): scale 1, q = (127, 64); acc = (255, 125);
  // y = (255 x 1 x 0.5, 125 x 1 x 2).
  EXPECT_THAT(MatVec(w, {127.0f, 63.5f}, NumberFormat::kInt8), ElementsAre(127.5f, 250.0f));
  Matrix h;
  h.out = 1;
  h.in = 3;
  h.half = {ToFp16Bits(1.0f), ToFp16Bits(0.5f), ToFp16Bits(-2.0f)};
  // x rounds to fp16 first: 1/3 -> 0.333251953125.
  EXPECT_EQ(MatVec(h, {2.0f, 4.0f, 1.0f / 3.0f}, NumberFormat::kFp16)[0],
            static_cast<float>(2.0 + 2.0 - 2.0 * 0.333251953125));
  EXPECT_EQ(ToFp16Bits(65520.0f), 0x7C00);  // Rounds to infinity.
}

TEST(ReferenceOpsTest, NormRotaryAttention) {
  // ms = (9 + 16) / 2 = 12.5.
  EXPECT_THAT(RmsNorm({3.0f, 4.0f}, {1.0f, 2.0f}, 0.0),
              Pointwise(FloatNear(1e-6), std::vector<float>{3.0f / std::sqrt(12.5f), 8.0f / std::sqrt(12.5f)}));
  // The sum order changes only rounding: sixteen 1s then 4096^2 = 2^24 keep
  // the 1s; 2^24 first loses each (fp32 has 24 bits).
  std::vector<float> ones(17, 1.0f);
  ones.back() = 4096.0f;
  const std::vector<float> unit(17, 1.0f);
  const float forward = RmsNorm(ones, unit, 0.0, SumOrder::kForward).back();
  const float reversed = RmsNorm(ones, unit, 0.0, SumOrder::kReversed).back();
  EXPECT_NE(forward, reversed);
  EXPECT_NEAR(forward / reversed, 1.0, 1e-6);
  std::vector<float> head = {1.0f, 0.0f, 2.0f, 0.0f};
  Rotary(head, 0, 10000.0);
  EXPECT_THAT(head, ElementsAre(1.0f, 0.0f, 2.0f, 0.0f));  // Position 0: identity.
  // Position 1, head size 4: pairs (0, 2) at angle 1 and (1, 3) at 10000^(-1/2).
  Rotary(head, 1, 10000.0);
  EXPECT_FLOAT_EQ(head[0], std::cos(1.0f) - 2.0f * std::sin(1.0f));
  EXPECT_FLOAT_EQ(head[2], 2.0f * std::cos(1.0f) + std::sin(1.0f));
  // One key: all weight on its value. Two equal keys: the mean.
  EXPECT_THAT(Attend({1.0f, 2.0f}, {{0.5f, 0.5f}}, {{3.0f, -1.0f}}), ElementsAre(3.0f, -1.0f));
  EXPECT_THAT(Attend({1.0f, 2.0f}, {{0.5f, 0.5f}, {0.5f, 0.5f}}, {{3.0f, -1.0f}, {1.0f, 1.0f}}),
              ElementsAre(2.0f, 0.0f));
  EXPECT_EQ(Argmax({1.0f, 3.0f, 3.0f, 2.0f}), 1);
  EXPECT_FLOAT_EQ(Silu(0.0f), 0.0f);
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(aa * bb);
}

class ReferenceDecoderTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ReferenceDecoderTest, DeterministicFromTheSeed) {
  const ModelConfig config = *LoadModel(GetParam());
  ReferenceDecoder a(config, NumberFormat::kInt8, 7), b(config, NumberFormat::kInt8, 7),
      c(config, NumberFormat::kInt8, 8);
  for (int64_t token : {1, 5, 9}) {
    const std::vector<float> la = a.Step(token);
    EXPECT_EQ(la, b.Step(token));
    EXPECT_NE(la, c.Step(token));
  }
  EXPECT_EQ(a.position(), 3);
}

// Both formats come from one int8 draw, so they describe nearly one model; the
// int8 activations' rounding keeps the logits within a small angle.
TEST_P(ReferenceDecoderTest, FormatsAgreeClosely) {
  const ModelConfig config = *LoadModel(GetParam());
  ReferenceDecoder int8(config, NumberFormat::kInt8, 3), fp16(config, NumberFormat::kFp16, 3);
  for (int64_t token : {2, 40, 7, 100, 3, 11}) {
    const std::vector<float> a = int8.Step(token);
    const std::vector<float> b = fp16.Step(token);
    EXPECT_GT(Cosine(a, b), 0.99) << "token " << token;
  }
}

TEST_P(ReferenceDecoderTest, AttentionUsesTheCache) {
  const ModelConfig config = *LoadModel(GetParam());
  ReferenceDecoder with_history(config, NumberFormat::kFp16, 5), fresh(config, NumberFormat::kFp16, 5);
  with_history.Step(17);
  // The same token at position 1 after a history, and at position 0 alone.
  EXPECT_NE(with_history.Step(23), fresh.Step(23));
  // Greedy generation is reproducible.
  ReferenceDecoder again(config, NumberFormat::kFp16, 5);
  ReferenceDecoder once_more(config, NumberFormat::kFp16, 5);
  const std::vector<int64_t> tokens = again.Generate({1, 2, 3}, 16);
  EXPECT_EQ(tokens.size(), 16u);
  EXPECT_EQ(once_more.Generate({1, 2, 3}, 16), tokens);
  for (int64_t token : tokens) EXPECT_LT(token, config.vocab_size());
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ReferenceDecoderTest,
                         ::testing::Values("tiny_dense", "tiny_wide", "tiny_moe"));

}  // namespace
}  // namespace tsp::models
