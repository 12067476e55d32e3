#include "scheduler/lowering/rotary.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

TEST(RotaryLoweringTest, MatchesTheReferenceRotationAtSeveralPositions) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", models::NumberFormat::kFp16, 1));
  const int64_t head_dim = models::HeadDim(h->config());
  const std::vector<float> head = Ramp(head_dim, 1.25f, -0.11f);
  const std::vector<int64_t> positions = {0, 1, 7, 23};
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> in, h->Input(0, head));
  std::vector<Vec> out;
  for (int64_t position : positions) {
    TSP_ASSERT_OK_AND_ASSIGN(Vec rotated, Rotary(h->ctx(), h->rank(0), in[0], position));
    out.push_back(rotated);
  }
  TSP_ASSERT_OK(h->Run());
  for (size_t i = 0; i < positions.size(); ++i) {
    std::vector<float> expected = head;
    models::Rotary(expected, positions[i], h->config().rope_theta());
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y, h->Read(0, {out[i]}, head_dim));
    EXPECT_LT(RelativeError(y, expected), 1e-6) << "position " << positions[i];
    if (positions[i] > 0) EXPECT_NE(y, head);
  }
}

}  // namespace
}  // namespace tsp::scheduler::lowering
