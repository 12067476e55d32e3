#include "scheduler/lowering/attention.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

using models::NumberFormat;

class AttentionLoweringTest : public ::testing::TestWithParam<NumberFormat> {};

// Three tokens through one layer's attention in one program: each appends
// its rotated key and its value to the caches, then its rotated queries
// attend over the tokens so far. The last token's output against the
// reference attention over the three cached tokens, stored as the format
// stores them (fp16, or int8 with a scale per token).
TEST_P(AttentionLoweringTest, TheKvUpdateAndAttentionMatchTheReference) {
  const NumberFormat format = GetParam();
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", format, 1));
  const models::ModelConfig& config = h->config();
  const int64_t head_dim = models::HeadDim(config);
  const int64_t heads = config.heads(), kv_heads = config.kv_heads();
  const int tokens = 3;
  std::vector<std::vector<float>> q(tokens), k(tokens), v(tokens);
  std::vector<Vec> out;
  for (int t = 0; t < tokens; ++t) {
    q[t] = Ramp(heads * head_dim, -0.8f + 0.1f * t, 0.05f);
    k[t] = Ramp(kv_heads * head_dim, 0.6f - 0.2f * t, -0.04f);
    v[t] = Ramp(kv_heads * head_dim, -1.1f + 0.3f * t, 0.07f);
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> qv, h->Input(0, q[t]));
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> kv, h->Input(0, k[t]));
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> vv, h->Input(0, v[t]));
    TSP_ASSERT_OK_AND_ASSIGN(out, AttendHeads(h->ctx(), h->rank(0), h->rank(0).layers[0].caches[0], qv, kv, vv, t));
  }
  TSP_ASSERT_OK(h->Run());
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> got, h->Read(0, out, heads * head_dim));
  auto head_of = [&](const std::vector<float>& packed, int64_t j) {
    return std::vector<float>(packed.begin() + j * head_dim, packed.begin() + (j + 1) * head_dim);
  };
  std::vector<float> expected;
  for (int64_t head = 0; head < heads; ++head) {
    const int64_t kv = head / (heads / kv_heads);
    std::vector<float> query = head_of(q[tokens - 1], head);
    models::Rotary(query, tokens - 1, config.rope_theta());
    std::vector<std::vector<float>> keys, values;
    for (int t = 0; t < tokens; ++t) {
      keys.push_back(head_of(k[t], kv));
      models::Rotary(keys.back(), t, config.rope_theta());
      values.push_back(head_of(v[t], kv));
    }
    std::vector<float> y;
    if (format == NumberFormat::kInt8) {
      std::vector<models::QuantizedVector> qk, qv;
      for (int t = 0; t < tokens; ++t) {
        qk.push_back(models::QuantizeInt8(keys[t]));
        qv.push_back(models::QuantizeInt8(values[t]));
      }
      y = models::AttendInt8(query, qk, qv);
    } else {
      std::vector<std::vector<uint16_t>> hk(tokens), hv(tokens);
      for (int t = 0; t < tokens; ++t) {
        for (float x : keys[t]) hk[t].push_back(models::ToFp16Bits(x));
        for (float x : values[t]) hv[t].push_back(models::ToFp16Bits(x));
      }
      y = models::AttendFp16(query, hk, hv);
    }
    expected.insert(expected.end(), y.begin(), y.end());
  }
  EXPECT_LT(RelativeError(got, expected), format == NumberFormat::kInt8 ? 2e-2 : 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Formats, AttentionLoweringTest, ::testing::Values(NumberFormat::kInt8, NumberFormat::kFp16),
                         [](const auto& info) { return std::string(models::NumberFormatName(info.param)); });

}  // namespace
}  // namespace tsp::scheduler::lowering
