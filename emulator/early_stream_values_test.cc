// Timing-only runs put stream values on the streams when their instruction
// issues and take a Read's Repeat as one batch
// (RunOptions::early_stream_values); these programs put such values next to
// everything they can meet - values of other reads and results, writes
// landing in a batch's bank in a later repetition's cycle, busy cycles
// counted twice, a bank boundary, the cycle limit - and check that the early
// run and the run event by event agree on every result and every error, word
// for word. Positions and latencies of the default chip are in
// chip_emulator_test.cc.

#include <string>

#include "emulator/chip_emulator.h"
#include "emulator/emulator_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

constexpr auto kHazard = absl::StatusCode::kFailedPrecondition;

RunOptions Timing(bool early) {
  RunOptions options;
  options.functional = false;
  options.early_stream_values = early;
  return options;
}

// Runs `text` both ways; returns the batched run's status after checking
// that both runs end alike.
absl::StatusOr<RunResult> RunBothWays(const std::string& text, RunOptions options = Timing(true)) {
  ProgramRunner runner;
  RunOptions single = options;
  single.early_stream_values = false;
  absl::StatusOr<RunResult> one_by_one = runner.Run(text, single);
  options.early_stream_values = true;
  absl::StatusOr<RunResult> batched = runner.Run(text, options);
  EXPECT_EQ(batched.status(), one_by_one.status());
  if (batched.ok() && one_by_one.ok()) {
    EXPECT_EQ(batched->last_event_cycle, one_by_one->last_event_cycle);
    EXPECT_EQ(batched->completion_cycle, one_by_one->completion_cycle);
    EXPECT_EQ(batched->instructions_issued, one_by_one->instructions_issued);
    EXPECT_EQ(batched->busy_cycles, one_by_one->busy_cycles);
  }
  return batched;
}

// MEM_W0 (47) reads addresses 0..9 at cycles 0..9 onto E0 (at 47 in cycles
// 5..14); the VXM (48) takes each a cycle later.
constexpr char kStreamedRows[] =
    "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n"
    "queue VXM.0\n  @6 Relu.int8 a=E0 dst=E2\n  @7 Repeat n=9 every=1\n";

TEST(EarlyStreamValuesTest, SameResultsAsOneRepetitionAtATime) {
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, RunBothWays(kStreamedRows));
  // The last Relu (cycle 15) lands its result in cycle 18.
  EXPECT_EQ(result.last_event_cycle, 18);
  EXPECT_EQ(result.instructions_issued, 20);
  ProgramRunner runner;
  const isa::ChipModel& chip = runner.chip();
  EXPECT_EQ(result.busy_cycles[*chip.FindSlice("MEM_W0")], 10);
  EXPECT_EQ(result.busy_cycles[*chip.FindSlice("VXM")], 10);
  // The Repeat two cycles after its Read: the Read alone, then the batch.
  TSP_ASSERT_OK_AND_ASSIGN(result, RunBothWays("queue MEM_W0\n  @0 Read address=0 dst=E0\n"
                                               "  @2 Repeat n=9 every=1 stride=1\n"
                                               "queue VXM.0\n  @6 Relu.int8 a=E0 dst=E2\n"
                                               "  @8 Repeat n=9 every=1\n"));
  EXPECT_EQ(result.last_event_cycle, 19);
  EXPECT_EQ(result.busy_cycles[*chip.FindSlice("MEM_W0")], 10);
  EXPECT_THAT(RunBothWays("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @2 Repeat n=9 every=1 stride=1\n"
                          "queue MEM_W1\n  @6 Read address=0 dst=E0\n"),
              StatusIs(kHazard, HasSubstr("queue MEM_W0, cycle 12, `@0 Read address=0 dst=E0` "
                                          "(repetition 5 of a Repeat): two values")));
  // The batch's last value is read where it lands plus one: a cycle later
  // the VXM finds nothing.
  EXPECT_THAT(RunBothWays("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n"
                          "queue VXM.0\n  @16 Relu.int8 a=E0 dst=E2\n"),
              StatusIs(kHazard, HasSubstr("stream E0 holds no value at position 48 (VXM) in cycle 16")));
}

TEST(EarlyStreamValuesTest, AValueOfAnotherReadOnALaterRepetitionsSlot) {
  // MEM_W1 (46) reading at cycle 4 puts a value on diagonal 46 - 9 = 37,
  // the diagonal of MEM_W0's read at cycle 5 (47 - 10): they meet at 47 in
  // cycle 10. The batch recorded its value at cycle 1; the error is still
  // the one-at-a-time run's, at repetition 4 in cycle 10.
  EXPECT_THAT(
      RunBothWays("queue MEM_W1\n  @4 Read address=0 dst=E0\n"
                  "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n"),
      StatusIs(kHazard, HasSubstr("chip 0, queue MEM_W0, cycle 10, `@0 Read address=0 dst=E0` "
                                  "(repetition 4 of a Repeat): two values in one stream-register "
                                  "slot: its result on E0 meets the value from queue MEM_W1's `@4 "
                                  "Read address=0 dst=E0` (issued at cycle 4) at position 47 "
                                  "(MEM_W0) in cycle 10")));
  // A cycle later MEM_W1's value follows the batch's last one: no meeting.
  TSP_EXPECT_OK(RunBothWays("queue MEM_W1\n  @10 Read address=0 dst=E0\n"
                            "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n"));
}

// MEM_W0 reads at 1 (at MEM_E0, 49, in cycle 8); MEM_E0 writes it at 8 to
// bank 0, landing in cycle 13, and then reads `address` from cycle 10 with a
// Repeat of 9 from cycle 11.
std::string WriteIntoABatch(int address) {
  return absl::StrCat("queue MEM_W0\n  @1 Read address=0 dst=E0\n",
                      "queue MEM_E0\n  @8 Write address=5 a=E0\n  @10 Read address=", address,
                      " dst=E9\n  @11 Repeat n=9 every=1 stride=1\n");
}

TEST(EarlyStreamValuesTest, AWriteLandingInTheBankOfALaterRepetition) {
  EXPECT_THAT(RunBothWays(WriteIntoABatch(20)),
              StatusIs(kHazard, HasSubstr("chip 0, queue MEM_E0, cycle 13, `@10 Read address=20 "
                                          "dst=E9` (repetition 2 of a Repeat): reads bank 0 in the "
                                          "cycle a write lands in it (queue MEM_E0's `@8 Write "
                                          "address=5 a=E0` (issued at cycle 8))")));
  // The other bank: no conflict.
  TSP_EXPECT_OK(RunBothWays(WriteIntoABatch(4096 + 20)));
  // Across the bank boundary (4090..4099): run one repetition at a time.
  EXPECT_THAT(RunBothWays(WriteIntoABatch(4088)),
              StatusIs(kHazard, HasSubstr("(repetition 2 of a Repeat): reads bank 0")));
  TSP_EXPECT_OK(RunBothWays(WriteIntoABatch(4093)));
}

// MEM_W1 (46) reads at 0: E1 at the VXM (48) in cycle 7, where an Add puts
// its result on E0 in cycle 10 (diagonal 38), the diagonal of MEM_W0's read
// at 4 (47 - 9): they meet at the VXM in cycle 10. Early, the Add's result is
// on the stream from cycle 7, before the read's value lands; the error is
// still the event-by-event run's.
TEST(EarlyStreamValuesTest, AResultMeetsAValueThatLandsBeforeIt) {
  auto program = [](int read_cycle) {
    return absl::StrCat("queue MEM_W1\n  @0 Read address=0 dst=E1\nqueue VXM.0\n  @7 Add.int8 a=E1 b=E1 dst=E0\n",
                        "queue MEM_W0\n  @", read_cycle, " Read address=0 dst=E0\n");
  };
  EXPECT_THAT(RunBothWays(program(4)),
              StatusIs(kHazard, HasSubstr("chip 0, queue VXM.0, cycle 10, `@7 Add.int8 a=E1 b=E1 dst=E0`: "
                                          "two values in one stream-register slot: its result on E0 meets "
                                          "the value from queue MEM_W0's `@4 Read address=0 dst=E0` (issued "
                                          "at cycle 4) at position 48 (VXM) in cycle 10")));
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, RunBothWays(program(5)));
  EXPECT_EQ(result.last_event_cycle, 10);
}

TEST(EarlyStreamValuesTest, TheCycleLimitAndTheSramEnd) {
  RunOptions limited = Timing(true);
  limited.cycle_limit = 12;
  EXPECT_THAT(RunBothWays(kStreamedRows, limited),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("past the cycle limit 12")));
  EXPECT_THAT(RunBothWays("queue MEM_W0\n  @0 Read address=8185 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n"),
              StatusIs(kHazard, HasSubstr("(repetition 6 of a Repeat): SRAM address 8192 is outside")));
  // Long and sparse Repeats run one repetition at a time.
  TSP_EXPECT_OK(RunBothWays("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=200 every=1 stride=1\n"));
  TSP_EXPECT_OK(RunBothWays("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @2 Repeat n=9 every=2 stride=1\n"));
}

}  // namespace
}  // namespace tsp::emulator
