#include "scheduler/lowering/mlp.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

TEST(MlpLoweringTest, SwiGluIsSiluOfGateTimesUp) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", models::NumberFormat::kInt8, 1));
  const int64_t ffn = h->config().ffn_size();
  const std::vector<float> gate = Ramp(ffn, -4.0f, 0.23f);
  const std::vector<float> up = Ramp(ffn, 0.5f, -0.07f);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> g, h->Input(0, gate));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> u, h->Input(0, up));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> out, SwiGlu(h->ctx(), h->rank(0), g, u));
  TSP_ASSERT_OK(h->Run());
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y, h->Read(0, out, ffn));
  std::vector<float> expected(ffn);
  for (int64_t i = 0; i < ffn; ++i) expected[i] = models::Silu(gate[i]) * up[i];
  EXPECT_LT(RelativeError(y, expected), 1e-6);
}

}  // namespace
}  // namespace tsp::scheduler::lowering
