#include "scheduler/lowering/projection.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

using models::NumberFormat;

class ProjectionLoweringTest : public ::testing::TestWithParam<NumberFormat> {};

// A column-parallel projection on one chip: the MLP's gate (640 x 320, two
// row tiles, one per MXM side) against the reference matrix-vector product.
TEST_P(ProjectionLoweringTest, ColumnParallelMatchesTheReferenceProduct) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", GetParam(), 1));
  const std::vector<float> x = Ramp(h->config().hidden_size(), -1.5f, 0.09f);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> in, h->Input(0, x));
  const Linear& gate = h->rank(0).layers[1].gate[0];
  ASSERT_EQ(gate.sides.size(), 2u);
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<Vec> out, Apply(h->ctx(), h->rank(0), gate, in));
  TSP_ASSERT_OK(h->Run());
  const std::vector<float> expected = models::MatVec(h->weights().layers[1].gate[0], x, GetParam());
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y, h->Read(0, out, h->config().ffn_size()));
  EXPECT_LT(RelativeError(y, expected), 1e-6);
}

// A row-parallel projection over two chips: o (320 x 320), each chip its
// heads' columns and their part of x; both end with the whole product, the
// one-chip definition's (int8 quantizes with the stage's largest magnitude).
TEST_P(ProjectionLoweringTest, RowParallelOverTwoChipsIsTheWholeProductOnBoth) {
  TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", GetParam(), 2));
  const int64_t width = h->config().heads() * models::HeadDim(h->config());
  const std::vector<float> x = Ramp(width, 2.0f, -0.13f);
  RankVectors parts(2);
  for (int r = 0; r < 2; ++r) {
    const std::vector<float> part(x.begin() + r * width / 2, x.begin() + (r + 1) * width / 2);
    TSP_ASSERT_OK_AND_ASSIGN(parts[r], h->Input(r, part));
  }
  TSP_ASSERT_OK_AND_ASSIGN(
      RankVectors out, RowParallel(h->ctx(), h->group(), {&h->rank(0).layers[0].o, &h->rank(1).layers[0].o}, parts));
  TSP_ASSERT_OK(h->Run());
  const std::vector<float> expected = models::MatVec(h->weights().layers[0].o, x, GetParam());
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y0, h->Read(0, out[0], h->config().hidden_size()));
  TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> y1, h->Read(1, out[1], h->config().hidden_size()));
  EXPECT_EQ(y0, y1);
  EXPECT_LT(RelativeError(y0, expected), GetParam() == NumberFormat::kInt8 ? 1e-6 : 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Formats, ProjectionLoweringTest, ::testing::Values(NumberFormat::kInt8, NumberFormat::kFp16),
                         [](const auto& info) { return std::string(models::NumberFormatName(info.param)); });

}  // namespace
}  // namespace tsp::scheduler::lowering
