// The verifier says what the emulator says: on programs that break each rule
// it covers (and their legal neighbours), from the program alone, the same
// error or none.

#include "emulator/program_verifier.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "emulator/emulator_test_util.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

std::string WriteThenRead(int read_cycle, int read_address, const std::string& intent = "") {
  return absl::StrCat("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Read address=1 dst=E0\n",
                      "queue MEM_E0\n  @7 Write address=5 a=E0\n  @", read_cycle, " Read address=", read_address,
                      " dst=E9 ", intent, "\n");
}

class ProgramVerifierTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProgramVerifierTest, SaysWhatTheEmulatorSays) {
  ProgramRunner runner;
  TSP_ASSERT_OK_AND_ASSIGN(const isa::Program program, isa::ParseProgram(GetParam()));
  RunOptions timing;
  timing.functional = false;
  const absl::Status emulated = runner.Run(GetParam(), timing).status();
  const absl::Status verified = VerifyChipProgram(runner.chip(), program);
  EXPECT_EQ(verified, emulated) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Rules, ProgramVerifierTest,
    ::testing::Values(
        // Two values in one stream-register slot, and its neighbours.
        "queue MEM_W1\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @1 Read address=0 dst=E0\n",
        "queue MEM_W1\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @2 Read address=0 dst=E0\n",
        "queue MEM_W0\n  @1 Read address=0 dst=E0\nqueue MEM_W1\n  @0 Read address=0 dst=E0\n",
        "queue MEM_W1\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @1 Read address=0 dst=W0\n",
        // A stream operand with no value: none written, or written downstream.
        "queue VXM.0\n  @4 Add.int8 a=E0 b=E1 dst=E2\n",
        "queue MEM_W0\n  @0 Read address=0 dst=W3\nqueue VXM.0\n  @6 Relu.int8 a=W3 dst=E2\n",
        // A read of a bank in the cycle a write lands there, and beside it.
        WriteThenRead(12, 6), WriteThenRead(11, 6), WriteThenRead(13, 6), WriteThenRead(12, 4096 + 6),
        // SRAM addresses, a Repeat's stride walking off the end.
        "queue MEM_W0\n  @0 Read address=8192 dst=E0\n",
        "queue MEM_W0\n  @0 Read address=8189 dst=E0\n  @1 Repeat n=3 every=1 stride=1\n",
        "queue MEM_W0\n  @0 Read address=8188 dst=E0\n  @1 Repeat n=3 every=1 stride=1\n",
        // A queue's order and occupancy.
        "queue MEM_W0\n  @5 Read address=0 dst=E0\n  @5 Read address=1 dst=E1\n",
        "queue MEM_W0\n  @5 Read address=0 dst=E0\n  @4 Read address=1 dst=E1\n",
        "queue MEM_W0\n  @5 Read address=0 dst=E0\n  @6 Repeat n=3 every=2 stride=1\n  @10 Read address=9 dst=E1\n",
        // Intents: a stream operand's producer, a word's last write.
        WriteThenRead(13, 5, "memory<-MEM_E0@7"), WriteThenRead(10, 5, "memory<-initial"),
        WriteThenRead(10, 5, "memory<-MEM_E0@7"), WriteThenRead(13, 5, "memory<-initial"),
        WriteThenRead(13, 5, "memory<-initial:4"),
        "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Read address=1 dst=E0\n"
        "queue MEM_E0\n  @7 Write address=5 a=E0 a<-MEM_W0@1\n",
        "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Read address=1 dst=E0\n"
        "queue MEM_E0\n  @7 Write address=5 a=E0 a<-MEM_W0@0\n",
        // Sync and Notify: released in time, too late, never.
        "queue MEM_W0\n  @0 Sync\n  @5 Read address=0 dst=E0\nqueue MEM_W1\n  @2 Notify\n",
        "queue MEM_W0\n  @0 Sync\n  @5 Read address=0 dst=E0\nqueue MEM_W1\n  @4 Notify\n",
        "queue MEM_W0\n  @0 Sync\n  @5 Read address=0 dst=E0\nqueue MEM_W1\n  @6 Notify\n",
        "queue MEM_W0\n  @0 Sync\n  @5 Read address=0 dst=E0\n",
        // The MXM: an install before its load lands, a Multiply before its
        // install, an Accumulate before its product, and their neighbours.
        MultiplyAfterInstall(22, 26), MultiplyAfterInstall(22, 25), MultiplyAfterInstall(21, 26),
        MultiplyAfterInstall(22, 26, 49), MultiplyAfterInstall(22, 26, 50),
        "queue MXM_W1.1\n  @5 InstallWeights\n", "queue MXM_W1.2\n  @5 Accumulate dst=E0\n",
        "queue MXM_W1.0\n  @0 LoadWeights.fp16 row=0 rows=17 a=W0\n",
        // A Multiply of another type than the weights installed.
        absl::StrReplaceAll(MultiplyAfterInstall(22, 26), {{"Multiply.int8", "Multiply.uint8"}}),
        // The MXM's intents: the loads an install takes, a Multiply's
        // weights, an Accumulate's products; and what the run ends with.
        OneTile("loads<-MXM_W1.0@20*1", "weights<-MXM_W1.1@22",
                "queue MXM_W1.2\n  @60 Accumulate dst=E0 products<-MXM_W1.1@26*1\n"),
        OneTile("loads<-MXM_W1.0@20*2", "", "queue MXM_W1.2\n  @60 Accumulate dst=E0\n"),
        OneTile("", "weights<-MXM_W1.1@21", "queue MXM_W1.2\n  @60 Accumulate dst=E0\n"),
        OneTile("", "", "queue MXM_W1.2\n  @60 Accumulate dst=E0 products<-MXM_W1.1@26*2\n"),
        OneTile("", "", ""),
        "queue MEM_W43\n  @12 Read address=0 dst=W0\nqueue MXM_W1.0\n  @20 LoadWeights.int8 row=0 a=W0\n",
        // Ports: used before a Deskew, a Receive with nothing due.
        "queue C2C_W\n  @5 Send port=0 a=E0\n", "queue C2C_W\n  @0 Deskew port=0\n  @5 Receive port=0 dst=E0\n",
        "queue C2C_W\n  @0 Deskew port=1\n  @5 Receive port=0 dst=E0\n",
        // Declared outputs: written by the write named, by another, or not at all.
        WriteThenRead(13, 5) + "output MEM_E0 5<-MEM_E0@7\n", WriteThenRead(13, 5) + "output MEM_E0 5<-MEM_E0@8\n",
        WriteThenRead(13, 5) + "output MEM_E0 6<-MEM_E0@7\n"));

// Vectors arrive at C2C_W port 0 at cycles 10 and 40 (the port holds one),
// and are received at `receives`.
class ArrivalsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ArrivalsTest, SaysWhatTheEmulatorSays) {
  ProgramRunner runner;
  const std::string text = absl::StrCat("queue C2C_W\n  @0 Deskew port=0\n", GetParam());
  TSP_ASSERT_OK_AND_ASSIGN(const isa::Program program, isa::ParseProgram(text));
  RunOptions timing;
  timing.functional = false;
  for (int64_t arrival : {10, 40}) timing.inbound.push_back({"C2C_W", 0, arrival, ""});
  const std::vector<InboundVector> inbound = timing.inbound;
  const absl::Status emulated = runner.Run(text, timing).status();
  EXPECT_EQ(VerifyChipProgram(runner.chip(), program, "chip 0", inbound), emulated) << text;
}

INSTANTIATE_TEST_SUITE_P(Ports, ArrivalsTest,
                         ::testing::Values("  @39 Receive port=0 dst=E0\n  @60 Receive port=0 dst=E1\n",
                                           "  @40 Receive port=0 dst=E0\n  @60 Receive port=0 dst=E1\n",
                                           "  @9 Receive port=0 dst=E0\n  @60 Receive port=0 dst=E1\n",
                                           "  @39 Receive port=0 dst=E0\n  @45 Receive port=0 dst=E1\n"
                                           "  @50 Receive port=0 dst=E2\n",
                                           "  @15 Receive port=0 dst=E0\n"));

// What decoding refuses, the verifier refuses in the same words.
TEST(ProgramVerifierTest, RefusesWhatDecodingRefuses) {
  ProgramRunner runner;
  const std::string text = "queue MEM_W0\n  @0 Add.int8 a=E0 b=E1 dst=E2\n";
  TSP_ASSERT_OK_AND_ASSIGN(const isa::Program program, isa::ParseProgram(text));
  EXPECT_EQ(VerifyChipProgram(runner.chip(), program), runner.Run(text).status());
}

// A program whose repetitions would not fit the verifier's lists in memory is
// refused up front, not allocated for.
TEST(ProgramVerifierTest, RefusesProgramsTooLargeToHold) {
  ProgramRunner runner;
  TSP_ASSERT_OK_AND_ASSIGN(
      const isa::Program program,
      isa::ParseProgram("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=2000000000 every=1 stride=0\n"));
  const absl::Status verified = VerifyChipProgram(runner.chip(), program);
  EXPECT_EQ(verified.code(), absl::StatusCode::kResourceExhausted) << verified;
  EXPECT_NE(verified.message().find("2000000001 instructions"), std::string::npos) << verified;
}

}  // namespace
}  // namespace tsp::emulator
