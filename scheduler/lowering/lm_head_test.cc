#include "scheduler/lowering/lm_head.h"

#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "scheduler/lowering/lowering_test_harness.h"
#include "scheduler/lowering/test_values.h"

namespace tsp::scheduler::lowering {
namespace {

// Logits over 640 tokens split between two chips; the largest placed on
// either chip, and a tie across the chips: every rank's token slot gets the
// largest's index, the lowest one on a tie.
TEST(LmHeadLoweringTest, ArgmaxFindsTheLowestIndexOfTheLargestLogitOverTheStage) {
  struct Case {
    std::vector<int64_t> largest;  // Tokens holding the largest logit.
    int64_t expected;
  };
  for (const Case& test : {Case{{17}, 17}, Case{{600}, 600}, Case{{500, 40}, 40}, Case{{320, 319}, 319}}) {
    TSP_ASSERT_OK_AND_ASSIGN(auto h, LoweringHarness::Create("tiny_dense", models::NumberFormat::kInt8, 2));
    const int64_t vocab = h->config().vocab_size();
    std::vector<float> logits = Ramp(vocab, -3.0f, 0.05f);
    for (int64_t token : test.largest) logits[token] = 9.5f;
    RankVectors shards(2);
    std::vector<ChipResidents> first_stage;
    for (int r = 0; r < 2; ++r) {
      const ChipResidents& c = h->rank(r);
      const std::vector<float> shard(logits.begin() + c.vocab_first, logits.begin() + c.vocab_first + c.vocab_local);
      TSP_ASSERT_OK_AND_ASSIGN(shards[r], h->Input(r, shard));
      first_stage.push_back(c);
    }
    TSP_ASSERT_OK(ArgmaxToFirstStage(h->ctx(), h->group(), shards, first_stage));
    TSP_ASSERT_OK(h->Run());
    for (int r = 0; r < 2; ++r) {
      TSP_ASSERT_OK_AND_ASSIGN(std::vector<float> token, h->Read(r, {h->rank(r).tokens[0]}, h->lanes()));
      for (float lane : token) EXPECT_EQ(lane, static_cast<float>(test.expected)) << "rank " << r;
    }
  }
}

}  // namespace
}  // namespace tsp::scheduler::lowering
