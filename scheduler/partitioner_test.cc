#include "scheduler/partitioner.h"

#include <algorithm>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "scheduler/test_system.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"

namespace tsp::scheduler {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

class PartitionerTest : public SystemFixture<::testing::Test> {};

// tiny_wide (int8) on one chip, counted by hand in 320 x 320 tiles of 10
// addresses (32 rows a load) on 32 slices of 320-byte vectors per side:
// per layer q 4x4, k 1x4, v 1x4, o 4x4, gate 10x4, up 10x4, down 4x10 = 160
// tiles; per layer and user, 2 KV heads of K (512 tokens: 2 tiles) and V^T
// (2 tiles) = 8 tiles; embedding 4x3 and LM head 3x4 = 24 tiles. One user:
// 4 x (160 + 8) + 24 = 696 tiles = 6,960 addresses over the two sides.
// Room for matrices: the 32 weight slices a side and, once those are full,
// the 12 activation slices above their low 3/8 (3,072 addresses): 8,192 +
// 12 x 5,120 / 32 = 10,112 addresses of 32 slices a side.
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
  EXPECT_EQ(f.weight_capacity, 2 * 10112 * 32 * 320);
  EXPECT_FALSE(f.spread);
  // Each more user adds 4 layers x 2 heads x 2 tiles x 10 addresses = 160
  // addresses on each side (K west, V^T east).
  EXPECT_EQ(choice.max_users, 1 + (10112 - fuller) / 160);
  // The stage's account says the same in bytes: the caches of one user are
  // 2 x 160 addresses x 32 slices x 320 bytes; the matrices the rest.
  ASSERT_EQ(choice.stages.size(), 1u);
  const StageCapacity& c = choice.stages[0];
  EXPECT_EQ(c.first_layer, 0);
  EXPECT_EQ(c.layers, 4);
  EXPECT_EQ(c.kv_bytes_per_user, 2 * 160 * 32 * 320);
  EXPECT_EQ(c.matrix_bytes + c.kv_bytes_per_user, f.weight_bytes);
  EXPECT_EQ(c.capacity_bytes, f.weight_capacity);
  EXPECT_EQ(c.users, choice.max_users);
  EXPECT_EQ(c.users, 1 + c.free_bytes() / c.kv_bytes_per_user);
  // And that many do fit, spread over the activation slices; one more does not.
  request.users = choice.max_users;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice full, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_TRUE(full.footprints[0].spread);
  EXPECT_EQ(full.footprints[0].bytes_short(), 0);
  request.users = choice.max_users + 1;
  EXPECT_EQ(ChoosePartition(request, *chip_, *system_, *topology_).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(PartitionerTest, TooManyUsersSaysByHowMuchAndTheFewestChips) {
  Build(2);
  PartitionQuery request;
  request.config = *models::LoadModel("tiny_wide");
  request.chips = 1;
  request.users = 60;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice one_user, [&] {
    PartitionQuery r = request;
    r.users = 1;
    return ChoosePartition(r, *chip_, *system_, *topology_);
  }());
  const int64_t fuller = std::max(one_user.footprints[0].weight_addresses[0],
                                  one_user.footprints[0].weight_addresses[1]);
  absl::StatusOr<PartitionChoice> choice = ChoosePartition(request, *chip_, *system_, *topology_);
  ASSERT_EQ(choice.status().code(), absl::StatusCode::kResourceExhausted);
  // 60 users: 59 x 160 more addresses on the fuller side.
  const int64_t needed = 2 * (fuller + 59 * 160) * 32 * 320;
  const int64_t capacity = 2 * 10112 * 32 * 320;
  EXPECT_NE(choice.status().message().find(absl::StrCat("needs ", needed, " bytes")), std::string::npos)
      << choice.status();
  EXPECT_NE(choice.status().message().find(absl::StrCat(needed - capacity, " more than its ", capacity)),
            std::string::npos)
      << choice.status();
  EXPECT_NE(choice.status().message().find("the fewest chips that fit: 2 (2-way x 1 stages)"), std::string::npos)
      << choice.status();
  // 10 heads split 2 ways, not 16: 16 chips are refused, 8 (2-way x 4) used whole.
  request.chips = 16;
  EXPECT_THAT(ChoosePartition(request, *chip_, *system_, *topology_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("uses exactly 16 chips")));
  request.chips = 8;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice wider, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(wider.chips_used, 8);
  EXPECT_GE(wider.max_users, 60);
}

// llama2_70b in int8 with a 4,096-token cache. A 16-way chip holds per layer
// 624 tiles of 102,400 bytes (q 2x26, k and v 1x26 each, o 26x2, gate and up
// 6x26, down 26x6) = 63,897,600 bytes, and 26 tiles of KV cache: 3 layers
// need 199,680,000 bytes, past the 167,772,160 of the weight slices but within
// the 207,093,760 with the activation slices' upper addresses. So 576 chips
// hold 16-way x 36 stages: the end stages (which also embed or decode the
// vocabulary) take 2 layers, 8 middle ones 3. 8-way stages hold only one
// layer (a second needs 284,876,800 bytes), so 8-way needs 640 chips; the
// fewest chips are 448 (16-way x 28 stages: 26 middle stages x 3 + 2 x 2 >= 80).
TEST_F(PartitionerTest, Llama70bFits576ChipsSpreadingMatricesAnd448AtFewest) {
  Build(80);
  PartitionQuery request;
  request.config = *models::LoadModel("llama2_70b");
  request.context_tokens = 4096;
  request.chips = 432;
  absl::StatusOr<PartitionChoice> too_few = ChoosePartition(request, *chip_, *system_, *topology_);
  ASSERT_EQ(too_few.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_few.status().message().find("the fewest chips that fit: 448 (16-way x 28 stages)"),
            std::string::npos)
      << too_few.status();
  EXPECT_NE(too_few.status().message().find("a stage of 2 layers needs 284876800 bytes"), std::string::npos)
      << too_few.status();
  request.chips = 576;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(choice.partition.tensor_parallel, 16);
  ASSERT_EQ(choice.partition.stage_chips.size(), 36u);
  EXPECT_EQ(choice.partition.stage_layers.front(), 2);
  EXPECT_EQ(choice.partition.stage_layers.back(), 2);
  EXPECT_EQ(std::count(choice.partition.stage_layers.begin(), choice.partition.stage_layers.end(), 3), 8);
  for (const StageFootprint& f : choice.footprints) {
    EXPECT_EQ(f.bytes_short(), 0) << "stage " << f.stage;
    EXPECT_EQ(f.weight_capacity, 207'093'760);
    EXPECT_EQ(f.spread, f.layers == 3) << "stage " << f.stage;
    if (f.layers == 3) EXPECT_EQ(f.weight_bytes, 3 * (624 + 26) * 102'400);
  }
  EXPECT_EQ(choice.max_users, 1);
  request.chips = 640;
  request.tensor_parallel = 8;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice eight, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(eight.partition.stage_chips.size(), 80u);
  request.chips = 576;
  EXPECT_EQ(ChoosePartition(request, *chip_, *system_, *topology_).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// The fewest chips, found by the same costs and confirmed in full, are the
// figure the error above gives.
TEST_F(PartitionerTest, FewestChipsOfLlama70bAre448Confirmed) {
  Build(72);
  PartitionQuery request;
  request.config = *models::LoadModel("llama2_70b");
  request.context_tokens = 4096;
  TSP_ASSERT_OK_AND_ASSIGN(FewestChips fewest, FindFewestChips(request, *chip_, *system_, *topology_, 2304));
  EXPECT_EQ(fewest.tensor_parallel, 16);
  EXPECT_EQ(fewest.stages, 28);
  EXPECT_EQ(fewest.chips(), 448);
  ASSERT_TRUE(fewest.confirmed);
  EXPECT_EQ(fewest.choice.chips_used, 448);
  EXPECT_EQ(fewest.choice.max_users, 1);
  int layers = 0;
  for (const StageCapacity& c : fewest.choice.stages) {
    EXPECT_EQ(c.first_layer, layers);
    layers += c.layers;
    EXPECT_GE(c.users, 1) << "stage " << c.stage;
    EXPECT_GE(c.free_bytes(), 0) << "stage " << c.stage;
  }
  EXPECT_EQ(layers, 80);
  EXPECT_THAT(FindFewestChips(request, *chip_, *system_, *topology_, 440),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("fits no partition of at most 440 chips")));
}

TEST_F(PartitionerTest, AnExactChipCountNoShapeMakesSaysTheNearest) {
  Build(2);
  PartitionQuery request;
  request.config = *models::LoadModel("tiny_dense");  // 2 layers; 4 heads, 2 KV heads, FFN 640.
  request.chips = 3;
  EXPECT_THAT(ChoosePartition(request, *chip_, *system_, *topology_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no partition of tiny_dense uses exactly 3 chips: a tensor-parallel width that "
                                 "splits it (4, 2, 1) times at most 2 stages (its layers); the nearest counts "
                                 "that do: 2 or 4")));
  request.chips = 8;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice eight, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(eight.chips_used, 8);
  // The whole system (no count): as many stages as layers, not more.
  request.chips = 0;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice whole, ChoosePartition(request, *chip_, *system_, *topology_));
  EXPECT_EQ(whole.chips_used, 8);
  EXPECT_EQ(whole.partition.stage_chips.size(), 2u);
  EXPECT_THAT(CheckWidth(request.config, 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tiny_dense: 4 heads, 2 KV heads (neither split nor each on whole groups of "
                                 "chips), FFN size 640 do not split 3 ways")));
  TSP_EXPECT_OK(CheckWidth(request.config, 4));
  EXPECT_EQ(WidthsToTry(request.config, 8), (std::vector<int>{4, 2, 1}));
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
