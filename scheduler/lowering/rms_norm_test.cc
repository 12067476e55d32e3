#include "scheduler/lowering/rms_norm.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

TEST(RmsNormLoweringTest, MatchesTheReferenceNorm) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", models::NumberFormat::kInt8, 1));
  const int64_t hidden = h->config().hidden_size();
  const std::vector<float> x = Ramp(hidden, -2.5f, 0.17f);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> in, h->Input(0, x));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> out,
                           RmsNorm(h->ctx(), h->rank(0), in, h->rank(0).layers[0].attention_norm));
  TSP_ASSERT_OK(h->Run());
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y, h->Read(0, out, hidden));
  const std::vector<float> expected =
      models::RmsNorm(x, h->weights().layers[0].attention_norm, h->config().norm_epsilon());
  EXPECT_LT(RelativeError(y, expected), 1e-5);
}

}  // namespace
}  // namespace tsp::scheduler::lowering
