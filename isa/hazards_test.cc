#include "isa/hazards.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "isa/timing.h"

namespace tsp::isa {
namespace {

TEST(HazardsTest, AQueueIssuesOnceACycleInOrderAndWaitsOutNopAndRepeat) {
  const Holder previous{7, 3, 10};
  EXPECT_TRUE(QueueIssue(11, 10, 11, previous).ok());
  const Hazard same = QueueIssue(10, 10, 11, previous);
  EXPECT_EQ(same.kind, HazardKind::kQueueSameCycle);
  EXPECT_EQ(same.clears_at, 11);
  EXPECT_EQ(same.holder.instruction, 3);
  EXPECT_EQ(QueueIssue(9, 10, 11, previous).kind, HazardKind::kQueueOutOfOrder);
  // A Nop 5 at cycle 10 holds the queue through cycle 14.
  const Hazard busy = QueueIssue(13, 10, QueueFreeCycle(Opcode::kNop, 10, 5, 0), previous);
  EXPECT_EQ(busy.kind, HazardKind::kQueueBusy);
  EXPECT_EQ(busy.clears_at, 15);
  EXPECT_EQ(QueueCycle(4, true).clears_at, 5);
  EXPECT_TRUE(QueueCycle(4, false).ok());
}

TEST(HazardsTest, ABankDoesOneAccessACycle) {
  const Holder write{1, 2, 3};
  EXPECT_TRUE(BankRead(20, false, write).ok());
  const Hazard read = BankRead(20, true, write);
  EXPECT_EQ(read.kind, HazardKind::kBankReadMeetsWrite);
  EXPECT_EQ(read.clears_at, 21);
  EXPECT_EQ(read.holder.queue, 1);
  EXPECT_EQ(BankWrite(20, true, {}, true, {}).kind, HazardKind::kBankWriteMeetsRead);  // The read named first.
  EXPECT_EQ(BankWrite(20, false, {}, true, {}).kind, HazardKind::kBankWritesMeet);
  EXPECT_TRUE(BankWrite(20, false, {}, false, {}).ok());
}

TEST(HazardsTest, MxmOrder) {
  EXPECT_EQ(InstallWeights(10, 12, {}).kind, HazardKind::kInstallBeforeLoadLanded);
  EXPECT_EQ(InstallWeights(10, 12, {}).clears_at, 12);
  EXPECT_TRUE(InstallWeights(12, 12, {}).ok());
  EXPECT_TRUE(InstallWeights(12, INT64_MIN, {}).ok());
  EXPECT_EQ(EarliestInstall(12), 12);
  EXPECT_EQ(Multiply(5, INT64_MAX).kind, HazardKind::kMultiplyBeforeInstall);
  EXPECT_TRUE(Multiply(9, 9).ok());
  EXPECT_EQ(EarliestMultiply(9), 9);
  EXPECT_EQ(Accumulate(5, INT64_MAX).kind, HazardKind::kAccumulateBeforeProducts);
  EXPECT_TRUE(Accumulate(5, 4).ok());
}

TEST(HazardsTest, LinksSerializeAndVectorsArriveAfterTheirFlight) {
  EXPECT_EQ(LinkFreeCycle(100, 20), 120);
  EXPECT_EQ(LinkArrivalCycle(100, 20, 200), 320);
  const Hazard busy = LinkDeparture(110, 120, {-1, -1, 100});
  EXPECT_EQ(busy.kind, HazardKind::kLinkBusy);
  EXPECT_EQ(busy.clears_at, 120);
  EXPECT_EQ(busy.holder.cycle, 100);
  EXPECT_TRUE(LinkDeparture(120, 120, {}).ok());
  EXPECT_EQ(Receive(319, 320).kind, HazardKind::kReceiveBeforeArrival);
  EXPECT_TRUE(Receive(320, 320).ok());
  EXPECT_EQ(StreamSlot(7, true, {}).kind, HazardKind::kStreamSlotTaken);
  for (HazardKind kind : {HazardKind::kQueueBusy, HazardKind::kLinkBusy, HazardKind::kStreamSlotTaken}) {
    EXPECT_NE(HazardKindName(kind), "?");
  }
}

}  // namespace
}  // namespace tsp::isa
