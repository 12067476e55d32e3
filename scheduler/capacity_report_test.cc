#include "scheduler/capacity_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"

namespace tsp::scheduler {
namespace {

using ::testing::HasSubstr;

StageCapacity Stage(int stage, int first_layer, int layers, int64_t matrices, int64_t per_user) {
  StageCapacity c;
  c.stage = stage;
  c.first_layer = first_layer;
  c.layers = layers;
  c.matrix_bytes = matrices;
  c.kv_bytes_per_user = per_user;
  c.capacity_bytes = 100 << 20;
  c.users = 1 + c.free_bytes() / per_user;
  return c;
}

TEST(CapacityReportTest, EveryStageWithWhyItsUsersFitAndLikeStagesOnOneLine) {
  PartitionChoice choice;
  choice.partition.tensor_parallel = 8;
  choice.partition.stage_chips = {{0}, {1}, {2}, {3}};
  choice.chips_used = 32;
  // 100 MiB of room: 60 MiB of matrices + 4 MiB per user leave 36 MiB, 9
  // more users; the middle stages 90 + 2 leave 8, 4 more; the last 50 + 10
  // leaves 40, 4 more.
  choice.stages = {Stage(0, 0, 1, 60 << 20, 4 << 20), Stage(1, 1, 3, 90 << 20, 2 << 20),
                   Stage(2, 4, 3, 90 << 20, 2 << 20), Stage(3, 7, 1, 50 << 20, 10 << 20)};
  choice.max_users = 5;
  const FitReport report = CapacityOf(choice, *isa::DefaultChipModel());
  EXPECT_EQ(report.chips(), 32);
  EXPECT_EQ(report.pipeline_stages(), 4);
  EXPECT_EQ(report.sram_bytes_per_chip(), 230'686'720);  // 88 MEM slices x 2,621,440 bytes.
  ASSERT_EQ(report.stages_size(), 4);
  EXPECT_EQ(report.stages(0).users(), 10);
  EXPECT_EQ(report.stages(1).users(), 5);
  EXPECT_EQ(report.stages(3).users(), 5);
  EXPECT_EQ(report.stages(1).free_bytes(), 8 << 20);
  EXPECT_EQ(report.limiting_stage(), 1);
  const std::string text = CapacityText(report, "  ");
  EXPECT_THAT(text, HasSubstr("  per chip: 220.0 MiB of SRAM"));
  EXPECT_THAT(text, HasSubstr("  stage 0 (layers 0..0): matrices 60.0 MiB + KV 4.0 MiB per user of 100.0 MiB; "
                              "36.0 MiB free after one user / 4.0 MiB per user + 1 = 10 users"));
  EXPECT_THAT(text, HasSubstr("  stages 1..2 (layers 1..6, 3 each): matrices 90.0 MiB + KV 2.0 MiB per user"));
  EXPECT_THAT(text, HasSubstr("stage 3 (layers 7..7)"));
  EXPECT_THAT(text, HasSubstr("5 users' caches fit on every stage (stage 1 holds the fewest)"));
}

}  // namespace
}  // namespace tsp::scheduler
