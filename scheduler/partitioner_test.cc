#include "scheduler/partitioner.h"

#include <memory>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "scheduler/test_system.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"

namespace tsp::scheduler {
namespace {

class PartitionerTest : public SystemFixture<::testing::Test> {};

// tiny_wide (int8) on one chip, counted by hand in 320 x 320 tiles of 10
// addresses (32 rows a load) on 32 slices of 320-byte vectors per side:
// per layer q 4x4, k 1x4, v 1x4, o 4x4, gate 10x4, up 10x4, down 4x10 = 160
// tiles; per layer and user, 2 KV heads of K (512 tokens: 2 tiles) and V^T
// (2 tiles) = 8 tiles; embedding 4x3 and LM head 3x4 = 24 tiles. One user:
// 4 x (160 + 8) + 24 = 696 tiles = 6,960 addresses over the two sides.
TEST_F(PartitionerTest, TinyModelFitsOneChipAsCountedByHand) {
  Build(2);
  PartitionQuery request;
  request.config = *models::LoadModel("tiny_wide");
  request.chips = 1;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(choice.chips_used, 1);
  ASSERT_EQ(choice.footprints.size(), 1u);
  const StageFootprint& f = choice.footprints[0];
  EXPECT_EQ(f.weight_addresses[0] + f.weight_addresses[1], 6960);
  const int64_t fuller = std::max(f.weight_addresses[0], f.weight_addresses[1]);
  EXPECT_EQ(f.weight_bytes, 2 * fuller * 32 * 320);
  EXPECT_EQ(f.weight_capacity, 2 * 8192 * 32 * 320);
  // Each more user adds 4 layers x 2 heads x 2 tiles x 10 addresses = 160
  // addresses on each side (K west, V^T east).
  EXPECT_EQ(choice.max_users, 1 + (8192 - fuller) / 160);
}

TEST_F(PartitionerTest, TooManyUsersSaysByHowMuchAndTheFewestChips) {
  Build(2);
  PartitionQuery request;
  request.config = *models::LoadModel("tiny_wide");
  request.chips = 1;
  request.users = 40;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice one_user, [&] {
    PartitionQuery r = request;
    r.users = 1;
    return ChoosePartition(r, *chip_, *system_, *topology_);
  }());
  const int64_t fuller = std::max(one_user.footprints[0].weight_addresses[0],
                                  one_user.footprints[0].weight_addresses[1]);
  absl::StatusOr<PartitionChoice> choice = ChoosePartition(request, *chip_, *system_, *topology_);
  ASSERT_EQ(choice.status().code(), absl::StatusCode::kResourceExhausted);
  // 40 users: 39 x 160 more addresses on the fuller side.
  const int64_t needed = 2 * (fuller + 39 * 160) * 32 * 320;
  const int64_t capacity = 2 * 8192 * 32 * 320;
  EXPECT_NE(choice.status().message().find(absl::StrCat("needs ", needed, " bytes")), std::string::npos)
      << choice.status();
  EXPECT_NE(choice.status().message().find(absl::StrCat(needed - capacity, " more than its ", capacity)),
            std::string::npos)
      << choice.status();
  EXPECT_NE(choice.status().message().find("the fewest chips that fit"), std::string::npos) << choice.status();
  request.chips = 16;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice wider, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_GE(wider.max_users, 40);
}

// llama2_70b in int8 with a 4,096-token cache: one 8-way stage holds one
// layer (a second would need more than the streamed-matrix slices), so 576
// chips (72 stages) are too few and 640 (80 stages) fit.
TEST_F(PartitionerTest, Llama70bNeeds640ChipsAtEightWay) {
  Build(80);
  PartitionQuery request;
  request.config = *models::LoadModel("llama2_70b");
  request.context_tokens = 4096;
  request.chips = 576;
  absl::StatusOr<PartitionChoice> too_few = ChoosePartition(request, *chip_, *system_, *topology_);
  ASSERT_EQ(too_few.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_few.status().message().find("the fewest chips that fit: 640 (8-way x 80 stages)"),
            std::string::npos)
      << too_few.status();
  request.chips = 640;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(choice.partition.tensor_parallel, 8);
  EXPECT_EQ(choice.partition.stage_chips.size(), 80u);
  for (const StageFootprint& f : choice.footprints) EXPECT_EQ(f.bytes_short(), 0) << "stage " << f.stage;
  EXPECT_GE(choice.max_users, 1);
}

TEST_F(PartitionerTest, FixedPartitionsAreCheckedToo) {
  Build(2);
  PartitionQuery request;
  request.config = *models::LoadModel("tiny_moe");
  request.tensor_parallel = 4;
  request.stages = 2;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(choice.chips_used, 8);
  request.tensor_parallel = 3;  // 8 heads do not split three ways.
  EXPECT_FALSE(ChoosePartition(request, *chip_, *system_, *topology_).ok());
}

}  // namespace
}  // namespace tsp::scheduler
