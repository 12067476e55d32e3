#include "scheduler/chip_scheduler.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "isa/timing.h"

namespace tsp::scheduler {
namespace {

using ::testing::HasSubstr;

// The reservation rules one operation at a time: each test places a few
// operations and checks the cycle Place chose against the rule, not against
// a number the scheduler computed.
class ChipSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel model, isa::DefaultChipModel());
    chip_ = std::make_unique<isa::ChipModel>(std::move(model));
    scheduler_ = std::make_unique<ChipScheduler>(*chip_, 0);
    slice_ = *chip_->FindSlice("MEM_W3");
    queue_ = scheduler_->Queue(slice_);
  }
  // A Read (or Write) of the address on MEM_W3's queue, from `lower`.
  int64_t PlaceRead(int64_t address, int64_t lower) {
    absl::StatusOr<int64_t> t = scheduler_->Place(lower, "Read", [&](int64_t t, Claim& claim) {
      if (!claim.Read(slice_, address, t)) return false;  // Takes the slice's queue too.
      claim.Emit(queue_, t, isa::Opcode::kRead).set_address(address);
      return true;
    });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.value_or(-1);
  }
  int64_t PlaceWrite(int64_t address, int64_t lower) {
    absl::StatusOr<int64_t> t = scheduler_->Place(lower, "Write", [&](int64_t t, Claim& claim) {
      if (!claim.Write(slice_, address, t)) return false;
      claim.Emit(queue_, t, isa::Opcode::kWrite).set_address(address);
      return true;
    });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.value_or(-1);
  }

  std::unique_ptr<isa::ChipModel> chip_;
  std::unique_ptr<ChipScheduler> scheduler_;
  int slice_ = 0;
  int queue_ = 0;
};

TEST_F(ChipSchedulerTest, AReadWaitsForTheAddressesLastWriteToLand) {
  const int64_t write = PlaceWrite(7, 0);
  EXPECT_EQ(write, 0);
  const int64_t readable = scheduler_->ReadableAt(slice_, 7);
  EXPECT_GT(readable, write);  // Writes land some cycles after they issue.
  EXPECT_EQ(PlaceRead(7, 0), readable);
  // Another address is not held back.
  EXPECT_EQ(PlaceRead(8, 0), 1);  // Cycle 0 is the Write's on this queue.
}

TEST_F(ChipSchedulerTest, AWriteLandsAfterTheAddressesEarlierReads) {
  EXPECT_EQ(PlaceRead(9, 40), 40);
  const int64_t writable = scheduler_->WritableAt(slice_, 9);
  EXPECT_GT(writable, 40);
  PlaceWrite(9, 0);
  // It lands (the address is readable) after the read, as early as allowed.
  EXPECT_GT(scheduler_->ReadableAt(slice_, 9), 40);
  EXPECT_GE(scheduler_->ReadableAt(slice_, 9), writable);
}

TEST_F(ChipSchedulerTest, AQueueIssuesOneInstructionACycle) {
  EXPECT_EQ(PlaceRead(100, 5), 5);
  EXPECT_EQ(PlaceRead(101, 5), 6);
  EXPECT_EQ(PlaceRead(102, 0), 0);  // Earlier cycles are still free.
}

TEST_F(ChipSchedulerTest, ABankIsNotReadAndWrittenInOneCycle) {
  ASSERT_EQ(isa::MemBank(*chip_, 200), isa::MemBank(*chip_, 201));
  ASSERT_EQ(isa::MemBank(*chip_, 200), isa::MemBank(*chip_, 202));
  const int64_t read = PlaceRead(200, 30);
  // The write latency, from a write to another address of the bank (an
  // address is readable the cycle after its write lands).
  const int64_t write = PlaceWrite(201, 0);
  const int64_t latency = scheduler_->ReadableAt(slice_, 201) - 1 - write;
  ASSERT_GT(latency, 0);
  // A write of the bank that would land in the read's cycle lands a cycle later.
  const int64_t second = PlaceWrite(202, read - latency);
  EXPECT_EQ(second, read - latency + 1);
  EXPECT_EQ(scheduler_->ReadableAt(slice_, 202) - 1, read + 1);
}

TEST_F(ChipSchedulerTest, AStreamSlotHoldsOneValue) {
  auto place = [&](int64_t lower) {
    absl::StatusOr<int64_t> t = scheduler_->Place(lower, "value", [&](int64_t t, Claim& claim) {
      return claim.Streams(isa::EAST, chip_->streams_per_direction(), 40, t) >= 0;
    });
    EXPECT_TRUE(t.ok()) << t.status();
    return t.value_or(-1);
  };
  EXPECT_EQ(place(10), 10);
  EXPECT_EQ(place(10), 11);  // Every eastward stream at position 40 is taken in cycle 10.
}

TEST_F(ChipSchedulerTest, AnAbandonedCandidateGivesBackWhatItTook) {
  absl::StatusOr<int64_t> t = scheduler_->Place(0, "late", [&](int64_t t, Claim& claim) {
    const bool queue = claim.UseQueue(queue_, 0);  // Cycle 0 on every candidate...
    return queue && t >= 25;                       // ...kept only by the one at 25.
  });
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, 25);
  EXPECT_EQ(PlaceRead(300, 0), 1);  // Cycle 0 is held by the committed candidate only.
}

TEST_F(ChipSchedulerTest, NothingIsPlacedBeforeABarrier) {
  scheduler_->set_earliest(500);
  EXPECT_EQ(PlaceRead(400, 0), 500);
}

TEST_F(ChipSchedulerTest, AnOperationThatFitsNowhereIsAnErrorNamingIt) {
  absl::StatusOr<int64_t> t = scheduler_->Place(0, "an impossible MatVec", [](int64_t, Claim&) { return false; });
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.status().message(), HasSubstr("an impossible MatVec"));
  EXPECT_THAT(t.status().message(), HasSubstr("chip 0"));
}

TEST_F(ChipSchedulerTest, TheProgramListsEachQueueInCycleOrder) {
  PlaceRead(500, 50);
  PlaceRead(501, 10);
  PlaceRead(502, 30);
  const isa::Program program = scheduler_->Build();
  ASSERT_EQ(program.queues_size(), 1);
  const isa::QueueProgram& queue = program.queues(0);
  EXPECT_EQ(queue.queue(), "MEM_W3");
  ASSERT_EQ(queue.instructions_size(), 3);
  EXPECT_EQ(queue.instructions(0).cycle(), 10);
  EXPECT_EQ(queue.instructions(0).address(), 501);
  EXPECT_EQ(queue.instructions(1).cycle(), 30);
  EXPECT_EQ(queue.instructions(2).cycle(), 50);
  EXPECT_EQ(scheduler_->instruction_count(), 3);
}

}  // namespace
}  // namespace tsp::scheduler
