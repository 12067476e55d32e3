// The intent checks (isa/README.md, "Intent") and the rules that came with
// them, each provoked beside its legal neighbour. Positions and latencies as
// in hazard_test.cc: MEM_W0 (47) reading at c puts E0 at MEM_E0 (49) in
// c + 7; a Write issued there at c lands at c + 5.

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
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// Two values pass MEM_E0 on E0, from MEM_W0's Reads at 0 and 1; the Write
// at 7 takes the first, and says which it means.
std::string WriteOfOneOfTwo(const std::string& intent) {
  return absl::StrCat("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Read address=1 dst=E0\n",
                      "queue MEM_E0\n  @7 Write address=5 a=E0 ", intent, "\n");
}

TEST(IntentTest, AStreamOperandReadsTheValueItNames) {
  ProgramRunner runner;
  TSP_EXPECT_OK(runner.Run(WriteOfOneOfTwo("a<-MEM_W0@0")));
  RunOptions timing;
  timing.functional = false;
  TSP_EXPECT_OK(runner.Run(WriteOfOneOfTwo("a<-MEM_W0@0"), timing));
  for (bool functional : {true, false}) {
    RunOptions options;
    options.functional = functional;
    EXPECT_THAT(runner.Run(WriteOfOneOfTwo("a<-MEM_W0@1"), options),
                StatusIs(kHazard, HasSubstr("queue MEM_E0, cycle 7, `@7 Write address=5 a=E0 a<-MEM_W0@1`: operand a "
                                            "(stream E0) reads the value of queue MEM_W0's `@0 Read address=0 "
                                            "dst=E0` (issued at cycle 0), not the intended queue MEM_W0's `@1 Read "
                                            "address=1 dst=E0` (issued at cycle 1)")));
  }
  // A source naming a queue the program does not have is refused up front.
  EXPECT_THAT(runner.Run(WriteOfOneOfTwo("a<-MEM_W9@0")), StatusIs(kInvalid, HasSubstr("names queue 'MEM_W9'")));
}

// The Write lands in MEM_E0 address 5 at cycle 12.
std::string ReadAfterWrite(int read_cycle, const std::string& intent) {
  return absl::StrCat("queue MEM_W0\n  @0 Read address=0 dst=E0\n",
                      "queue MEM_E0\n  @7 Write address=5 a=E0\n  @", read_cycle, " Read address=5 dst=E9 ", intent,
                      "\n");
}

TEST(IntentTest, AReadOfAnAddressWaitsForTheWriteItNames) {
  ProgramRunner runner;
  TSP_EXPECT_OK(runner.Run(ReadAfterWrite(13, "memory<-MEM_E0@7")));
  TSP_EXPECT_OK(runner.Run(ReadAfterWrite(10, "memory<-initial")));  // Before the write lands: the old value.
  EXPECT_THAT(runner.Run(ReadAfterWrite(10, "memory<-MEM_E0@7")),
              StatusIs(kHazard, HasSubstr("cycle 10, `@10 Read address=5 dst=E9 memory<-MEM_E0@7`: address 5 reads the "
                                          "value of the initial contents (no write), not the intended queue "
                                          "MEM_E0's `@7 Write address=5 a=E0` (issued at cycle 7), whose write "
                                          "lands at cycle 12")));
  EXPECT_THAT(runner.Run(ReadAfterWrite(13, "memory<-initial")),
              StatusIs(kHazard, HasSubstr("address 5 reads the value of queue MEM_E0's `@7 Write address=5 a=E0` "
                                          "(issued at cycle 7), not the intended initial contents")));
}

TEST(IntentTest, TheMxmTakesTheLoadsWeightsAndProductsItNames) {
  ProgramRunner runner;
  const std::string accumulate = "queue MXM_W1.2\n  @60 Accumulate dst=E0 products<-MXM_W1.1@26*1\n";
  TSP_EXPECT_OK(runner.Run(OneTile("loads<-MXM_W1.0@20*1", "weights<-MXM_W1.1@22", accumulate)));
  EXPECT_THAT(runner.Run(OneTile("loads<-MXM_W1.0@20*2", "", accumulate)),
              StatusIs(kHazard, HasSubstr("takes 1 LoadWeights since the last install, the last queue MXM_W1.0's "
                                          "`@20 LoadWeights.int8 row=0 a=W0` (issued at cycle 20); the intent is 2")));
  EXPECT_THAT(runner.Run(OneTile("", "weights<-MXM_W1.1@21", accumulate)),
              StatusIs(kHazard, HasSubstr("its weights reads the value of queue MXM_W1.1's `@22 InstallWeights` "
                                          "(issued at cycle 22), not the intended queue MXM_W1.1's issue at cycle 21")));
  // An Accumulate before all of its tile's products: two meant, one landed.
  EXPECT_THAT(runner.Run(OneTile("", "", "queue MXM_W1.2\n  @60 Accumulate dst=E0 products<-MXM_W1.1@26*2\n")),
              StatusIs(kHazard, HasSubstr("reads out 1 products, the last from queue MXM_W1.1's `@26 Multiply.int8 "
                                          "a=W1` (issued at cycle 26); the intent is 2")));
}

TEST(IntentTest, TheRunEndsWithEveryProductReadOutAndEveryLoadInstalled) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run(OneTile("", "", "")),
              StatusIs(kHazard, HasSubstr("chip 0, MXM_W1: the run ends with 1 Multiply result(s) in accumulator 0 never read out, "
                                          "the last from queue MXM_W1.1's `@26 Multiply.int8 a=W1`")));
  EXPECT_THAT(runner.Run("queue MEM_W43\n  @12 Read address=0 dst=W0\nqueue MXM_W1.0\n  @20 LoadWeights.int8 row=0 "
                         "a=W0\n"),
              StatusIs(kHazard, HasSubstr("chip 0, MXM_W1: the run ends with 1 LoadWeights never installed")));
}

// Vectors arrive at C2C_W port 0 at cycles 10 and 40; the port holds one.
absl::StatusOr<RunResult> ReceiveTwo(ProgramRunner& runner, int first_receive) {
  RunOptions options;
  options.functional = false;
  for (int64_t arrival : {10, 40}) options.inbound.push_back({"C2C_W", 0, arrival, ""});
  return runner.Run(absl::StrCat("queue C2C_W\n  @0 Deskew port=0\n  @", first_receive,
                                 " Receive port=0 dst=E0\n  @60 Receive port=0 dst=E1\n"),
                    options);
}

TEST(IntentTest, AReceiveComesBeforeItsPortOverflows) {
  ProgramRunner runner;
  TSP_EXPECT_OK(ReceiveTwo(runner, 39));
  EXPECT_THAT(ReceiveTwo(runner, 40),
              StatusIs(kHazard, HasSubstr("cycle 40, `@40 Receive port=0 dst=E0`: takes the vector that arrived on "
                                          "port 0 at cycle 10, but the port holds 1 vector(s) "
                                          "(c2c.receive_buffer_vectors) and another arrived at cycle 40, so it was "
                                          "lost; receive by cycle 39")));
}

}  // namespace
}  // namespace tsp::emulator
