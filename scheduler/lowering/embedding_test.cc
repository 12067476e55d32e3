#include "scheduler/lowering/embedding.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "scheduler/lowering/all_reduce.h"
#include "scheduler/lowering/lowering_test_harness.h"

namespace tsp::scheduler::lowering {
namespace {

using models::NumberFormat;

class EmbeddingLoweringTest : public ::testing::TestWithParam<NumberFormat> {};

// The vocabulary split over two chips: a token of either chip's half is the
// embedding's row on both after the all-reduce.
TEST_P(EmbeddingLoweringTest, EveryRankHoldsTheTokensRow) {
  for (int64_t token : {int64_t{5}, int64_t{321}, int64_t{639}}) {
    TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", GetParam(), 2));
    RankVectors partials(2);
    for (int r = 0; r < 2; ++r) {
      h->SetToken(r, token);
      TSP_ASSERT_OK_AND_ASSIGN(partials[r], Embed(h->ctx(), h->rank(r)));
    }
    TSP_ASSERT_OK_AND_ASSIGN(RankVectors rows, AllReduceStage(h->ctx(), h->group(), partials));
    TSP_ASSERT_OK(h->Run());
    const std::vector<float> expected = h->weights().embedding.Row(token);
    for (int r = 0; r < 2; ++r) {
      TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> row, h->Read(r, rows[r], h->config().hidden_size()));
      EXPECT_LT(RelativeError(row, expected), 1e-6) << "token " << token << ", rank " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, EmbeddingLoweringTest, ::testing::Values(NumberFormat::kInt8, NumberFormat::kFp16),
                         [](const auto& info) { return std::string(models::NumberFormatName(info.param)); });

}  // namespace
}  // namespace tsp::scheduler::lowering
