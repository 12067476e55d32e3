#include "scheduler/lowering/experts.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/projection.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

using models::NumberFormat;

// tiny_moe's first layer on one chip, fp16: the router's logits, the route
// (top 2 of 4, softmax among them) and the weighed experts, against the
// reference arithmetic written out here.
TEST(ExpertsLoweringTest, RouteAndExpertsMatchTheReferenceMixture) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_moe", NumberFormat::kFp16, 1));
  const models::ModelConfig& config = h->config();
  const models::LayerWeights& w = h->weights().layers[0];
  const std::vector<float> x = Ramp(config.hidden_size(), -0.9f, 0.05f);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> in, h->Input(0, x));
  ChipResidents& c = h->rank(0);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> logits, Apply(h->ctx(), c, c.layers[0].router, in));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> weights, RouteWeights(h->ctx(), c, logits));
  ASSERT_EQ(static_cast<int64_t>(weights.size()), config.experts());
  TSP_ASSERT_OK_AND_ASSIGN(RankVectors out, Experts(h->ctx(), h->group(), 0, {in}, {weights}));
  TSP_ASSERT_OK(h->Run());

  const std::vector<float> reference_logits = models::MatVec(w.router, x, NumberFormat::kFp16);
  std::vector<int64_t> order(config.experts());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return reference_logits[a] > reference_logits[b]; });
  order.resize(config.experts_per_token());
  std::sort(order.begin(), order.end());
  float largest = -INFINITY, total = 0.0f;
  for (int64_t e : order) largest = std::max(largest, reference_logits[e]);
  std::vector<float> route(config.experts(), 0.0f);
  for (int64_t e : order) total += route[e] = std::exp(reference_logits[e] - largest);
  for (float& p : route) p *= 1.0f / total;
  for (int64_t e = 0; e < config.experts(); ++e) {
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> lanes, h->Read(0, {weights[e]}, h->lanes()));
    for (float lane : lanes) EXPECT_NEAR(lane, route[e], 1e-5) << "expert " << e;
  }
  std::vector<float> expected(config.hidden_size(), 0.0f);
  for (int64_t e : order) {
    std::vector<float> gate = models::MatVec(w.gate[e], x, NumberFormat::kFp16);
    const std::vector<float> up = models::MatVec(w.up[e], x, NumberFormat::kFp16);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = models::Silu(gate[i]) * up[i];
    const std::vector<float> y = models::MatVec(w.down[e], gate, NumberFormat::kFp16);
    for (size_t i = 0; i < y.size(); ++i) expected[i] += route[e] * y[i];
  }
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> got, h->Read(0, out[0], config.hidden_size()));
  EXPECT_LT(RelativeError(got, expected), 1e-3);
}

}  // namespace
}  // namespace tsp::scheduler::lowering
