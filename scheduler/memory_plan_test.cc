#include "scheduler/memory_plan.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/operator_graph.h"

namespace tsp::scheduler {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

PartitionRequest Request(const char* model, int64_t tp, int64_t stages, int64_t context, int64_t users) {
  PartitionRequest request;
  request.model = *models::LoadModel(model);
  request.tensor_parallel = tp;
  request.pipeline_stages = stages;
  request.context_tokens = context;
  request.users = users;
  return request;
}

TEST(MemoryPlanTest, TinyModelByHand) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  TSP_ASSERT_OK_AND_ASSIGN(MemoryPlan plan, PlanMemory(Request("tiny_dense", 1, 1, 100, 3), chip));
  ASSERT_EQ(plan.stages.size(), 1u);
  // int8 matrices in 320 x 320 tiles plus a 4-byte scale per row (in whole
  // 320-byte vectors): fused QKV 640 x 320 rows (320 + 2 x 160) = 204,800 +
  // 2,560; O 102,400 + 1,280; fused gate-up 1,280 x 320 = 409,600 + 5,120;
  // down 320 x 640 = 204,800 + 1,280; two fp32 norms 1,280 each: 934,400 a
  // layer. Embedding and LM head 640 x 320 = 204,800 + 2,560 each; final norm 1,280.
  EXPECT_EQ(plan.stages[0].weight_bytes, 2 * 934'400 + 2 * 207'360 + 1'280);
  // Per token and layer: 2 KV heads x (K, V) x (80 bytes -> one vector + a
  // scale vector) = 2,560; x 2 layers x 100 tokens x 3 users.
  EXPECT_EQ(plan.stages[0].kv_cache_bytes, 2'560 * 2 * 100 * 3);
  // 3 users x fp32 (hidden 320 + gate and up 1,280) = 6,400 bytes each.
  EXPECT_EQ(plan.stages[0].activation_bytes, 3 * 6'400);
  EXPECT_EQ(plan.chip_bytes, 88LL * 2'621'440);
  EXPECT_EQ(plan.peak_bytes(), 2 * 934'400 + 2 * 207'360 + 1'280 + 1'536'000 + 19'200);
}

TEST(MemoryPlanTest, SaysWhatDoesNotFitAndByHowMuch) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  EXPECT_THAT(PlanMemory(Request("llama2_70b", 8, 1, 4096, 1), chip),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("llama2_70b (int8) on 1 stages x 8 chips: stage 0 (layers 0..79) needs")));
  EXPECT_THAT(PlanMemory(Request("llama2_70b", 8, 1, 4096, 1), chip),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("; a chip has 230686720 bytes (220.0 MiB), short by")));
  EXPECT_THAT(PlanMemory(Request("llama2_70b", 3, 1, 0, 1), chip),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("width 3 does not split 64 attention heads")));
  EXPECT_THAT(PlanMemory(Request("tiny_dense", 1, 3, 0, 1), chip),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 pipeline stages of 1 chips is not a partition of 2 layers")));
}

TEST(MemoryPlanTest, FewestChipsForLlama2_70b) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  PartitionRequest request = Request("llama2_70b", 1, 1, 4096, 1);
  TSP_ASSERT_OK_AND_ASSIGN(PartitionRequest fewest, FewestChips(request, chip, 8, 2304));
  const int64_t chips = fewest.tensor_parallel * fewest.pipeline_stages;
  // The weights alone: 68,976,648,192 parameters at a byte each need more
  // than 299 chips of 230,686,720 bytes.
  EXPECT_GT(chips, models::ParameterCount(request.model) / (88LL * 2'621'440));
  // Press reports put Llama-2-70B in int8 on about 576 chips (72 stages of 8
  // would hold two layers on 8 of them). With this layout two layers do not
  // fit 8-way: a chip's share of one layer is 114,649,856 bytes (fused QKV
  // 1,280 x 8,320 and gate-up 7,360 x 8,320 rows and columns, O 8,320 x
  // 1,280 and down 8,320 x 3,840 after padding to 320, scales, norms), so two
  // layers and a 4,096-token cache exceed 230,686,720. Hence one layer per
  // stage: 80 stages of 8.
  EXPECT_EQ(fewest.tensor_parallel, 8);
  EXPECT_EQ(fewest.pipeline_stages, 80);
  TSP_EXPECT_OK(PlanMemory(fewest, chip));
  // One stage fewer at the same width does not fit.
  fewest.pipeline_stages -= 1;
  EXPECT_THAT(PlanMemory(fewest, chip), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("short by")));
  // fp16 needs about twice as many, and one layer's shard at 8-way tensor
  // parallelism is more than a chip holds, so the groups must be wider.
  request.format = models::NumberFormat::kFp16;
  EXPECT_THAT(FewestChips(request, chip, 8, 2304),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no partition of at most 2304 chips")));
  TSP_ASSERT_OK_AND_ASSIGN(PartitionRequest fp16, FewestChips(request, chip, 16, 2304));
  EXPECT_EQ(fp16.tensor_parallel, 16);
  EXPECT_GT(fp16.tensor_parallel * fp16.pipeline_stages, 2 * chips - chips / 4);
  EXPECT_THAT(FewestChips(request, chip, 8, 64),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no partition of at most 64 chips")));
}

}  // namespace
}  // namespace tsp::scheduler
