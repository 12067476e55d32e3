#include "scheduler/lowering/all_reduce.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

// Sum and max over a stage of two and of four chips: every rank holds the
// same totals, those of the ranks' partials in rank order.
TEST(AllReduceLoweringTest, EveryRankHoldsTheTotalsInRankOrder) {
  for (int ranks : {2, 4}) {
    TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", models::NumberFormat::kFp16, ranks));
    const int64_t n = 3 * h->lanes();  // Three vectors: owners 0, 1, 2 % ranks.
    RankVectors partials(ranks);
    std::vector<std::vector<float>> values(ranks);
    for (int r = 0; r < ranks; ++r) {
      values[r] = Ramp(n, 0.3f * static_cast<float>(r) - 1.0f, 0.013f * static_cast<float>(r + 1));
      TSP_ASSERT_OK_AND_ASSIGN(partials[r], h->Input(r, values[r]));
    }
    TSP_ASSERT_OK_AND_ASSIGN(RankVectors sums, AllReduceStage(h->ctx(), h->group(), partials));
    TSP_ASSERT_OK_AND_ASSIGN(RankVectors maxima, AllReduceStage(h->ctx(), h->group(), partials, isa::Opcode::kMax));
    TSP_ASSERT_OK(h->Run());
    std::vector<float> sum(n), largest(n);
    for (int64_t i = 0; i < n; ++i) {
      sum[i] = values[0][i];
      largest[i] = values[0][i];
      for (int r = 1; r < ranks; ++r) {
        sum[i] += values[r][i];
        largest[i] = std::max(largest[i], values[r][i]);
      }
    }
    for (int r = 0; r < ranks; ++r) {
      TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> got_sum, h->Read(r, sums[r], n));
      TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> got_max, h->Read(r, maxima[r], n));
      EXPECT_EQ(got_sum, sum) << ranks << " ranks, rank " << r;
      EXPECT_EQ(got_max, largest) << ranks << " ranks, rank " << r;
    }
  }
}

}  // namespace
}  // namespace tsp::scheduler::lowering
