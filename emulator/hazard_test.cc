// Each hazard of isa/README.md provoked at the exact cycle where it happens,
// with the legal neighbour (one cycle away, or another bank) beside it. The
// default chip's positions and latencies are listed in chip_emulator_test.cc.

#include <string>

#include "emulator/chip_emulator.h"
#include "emulator/emulator_test_util.h"
#include "emulator/kernels/matvec_kernel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

constexpr auto kHazard = absl::StatusCode::kFailedPrecondition;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

// MEM_W0 (47) reading at cycle c lands on E0 at 47 in c + 5: diagonal 42 - c.
// MEM_W1 (46) reading at 0 lands at 46 in cycle 5: diagonal 41. They share a
// slot when MEM_W0 reads at 1, meeting at position 47 in cycle 6.
TEST(HazardTest, TwoValuesInOneStreamRegisterSlot) {
  ProgramRunner runner;
  auto program = [](int w0_cycle) {
    return absl::StrCat("queue MEM_W1\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @", w0_cycle,
                        " Read address=0 dst=E0\n");
  };
  EXPECT_THAT(runner.Run(program(1)),
              StatusIs(kHazard, HasSubstr("chip 0, queue MEM_W0, cycle 6, `@1 Read address=0 "
                                          "dst=E0`: two values in one stream-register slot: its "
                                          "result on E0 meets the value from queue MEM_W1's `@0 "
                                          "Read address=0 dst=E0` (issued at cycle 0) at position "
                                          "47 (MEM_W0) in cycle 6")));
  TSP_EXPECT_OK(runner.Run(program(0)));
  TSP_EXPECT_OK(runner.Run(program(2)));
  // Same cycle, opposite directions or other streams: no conflict.
  TSP_EXPECT_OK(runner.Run(
      "queue MEM_W1\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @1 Read address=0 dst=W0\n"));
}

TEST(HazardTest, ReadOfASlotWithoutValue) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue VXM.0\n  @4 Add.int8 a=E0 b=E1 dst=E2\n"),
              StatusIs(kHazard, HasSubstr("chip 0, queue VXM.0, cycle 4, `@4 Add.int8 a=E0 b=E1 "
                                          "dst=E2`: operand a: stream E0 holds no value at "
                                          "position 48 (VXM) in cycle 4")));
  // A westward value never travels east: MEM_W0 (47) puts W3 at 47 in cycle 5,
  // and it is at the VXM (48) never.
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Read address=0 dst=W3\nqueue VXM.0\n  @6 Relu.int8 a=W3 dst=E2\n"),
              StatusIs(kHazard, HasSubstr("stream W3 holds no value at position 48")));
}

// MEM_W0 reads at 0: at MEM_E0 (49) in cycle 7, written there; the write lands
// in bank 0 in cycle 12.
std::string WriteThenRead(int read_cycle, int read_address) {
  return absl::StrCat("queue MEM_W0\n  @0 Read address=0 dst=E0\n",
                      "queue MEM_E0\n  @7 Write address=5 a=E0\n  @", read_cycle,
                      " Read address=", read_address, " dst=E9\n");
}

TEST(HazardTest, ReadAndWriteOfOneBankInOneCycle) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run(WriteThenRead(12, 6)),
              StatusIs(kHazard, HasSubstr("queue MEM_E0, cycle 12, `@12 Read address=6 dst=E9`: "
                                          "reads bank 0 in the cycle a write lands in it (queue "
                                          "MEM_E0's `@7 Write address=5 a=E0` (issued at cycle "
                                          "7))")));
  TSP_EXPECT_OK(runner.Run(WriteThenRead(11, 6)));
  TSP_EXPECT_OK(runner.Run(WriteThenRead(13, 6)));
  TSP_EXPECT_OK(runner.Run(WriteThenRead(12, 4096 + 6)));  // Bank 1.
  // The reverse order: a read at 12, then a write landing at 12.
  EXPECT_THAT(
      runner.Run("queue MEM_W0\n  @0 Read address=0 dst=E0\nqueue MEM_E0\n  @2 Read address=1 "
                 "dst=E9\n  @7 Write address=5 a=E0\n  @12 Read address=2 dst=E9\n"),
      StatusIs(kHazard, HasSubstr("cycle 12, `@12 Read address=2 dst=E9`: reads bank 0")));
}

TEST(HazardTest, SramAddressOutOfRange) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Read address=8192 dst=E0\n"),
              StatusIs(kHazard, HasSubstr("`@0 Read address=8192 dst=E0`: SRAM address 8192 is "
                                          "outside 0..8191")));
  TSP_EXPECT_OK(runner.Run("queue MEM_W0\n  @0 Read address=8191 dst=E0\n"));
  // A Repeat's stride walks off the end at its third repetition (cycle 3).
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Read address=8189 dst=E0\n  @1 Repeat n=3 every=1 stride=1\n"),
              StatusIs(kHazard, HasSubstr("cycle 3, `@0 Read address=8189 dst=E0` (repetition 2 "
                                          "of a Repeat): SRAM address 8192 is outside")));
}

TEST(HazardTest, MultiplyBeforeWeightsAreInstalled) {
  ProgramRunner runner;
  // LoadWeights lands at 22; InstallWeights at 22 lands at 26.
  TSP_EXPECT_OK(runner.Run(MultiplyAfterInstall(22, 26)));
  EXPECT_THAT(runner.Run(MultiplyAfterInstall(22, 25)),
              StatusIs(kHazard, HasSubstr("queue MXM_W1.1, cycle 25, `@25 Multiply.int8 a=W1`: "
                                          "multiplies before weights are installed on MXM_W1")));
  EXPECT_THAT(runner.Run(MultiplyAfterInstall(21, 26)),
              StatusIs(kHazard, HasSubstr("`@21 InstallWeights`: installs the weight buffer "
                                          "before a LoadWeights issued at cycle 20 has landed; "
                                          "the install takes the buffer as it is when it "
                                          "issues, so issue it at cycle 22 or later")));
  EXPECT_THAT(runner.Run("queue MXM_W1.1\n  @5 InstallWeights\n"),
              StatusIs(kHazard, HasSubstr("installs an empty weight buffer")));
  EXPECT_THAT(runner.Run("queue MXM_W1.2\n  @5 Accumulate dst=E0\n"),
              StatusIs(kHazard, HasSubstr("reads out accumulator 0, which no Multiply has reached")));
}

TEST(HazardTest, AccumulateBeforeTheProductLands) {
  ProgramRunner runner;
  // Multiply at 26 (d_func 24) lands at 50.
  TSP_EXPECT_OK(runner.Run(MultiplyAfterInstall(22, 26, 50)));
  EXPECT_THAT(runner.Run(MultiplyAfterInstall(22, 26, 49)),
              StatusIs(kHazard, HasSubstr("(1 Multiply results still in flight; a Multiply's "
                                          "result lands d_func = 24 cycles after it issues)")));
}

TEST(HazardTest, Fp16UsesThePairsFirstPlane) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue MXM_W0.0\n  @0 LoadWeights.fp16 row=0 rows=16 a=W0\n"),
              StatusIs(kInvalid, HasSubstr("loaded through the pair's first plane, MXM_W1, not MXM_W0")));
  EXPECT_THAT(runner.Run("queue MXM_W1.0\n  @0 LoadWeights.fp16 row=0 rows=17 a=W0\n"),
              StatusIs(kInvalid, HasSubstr("uses streams 0..33, beyond the chip's 32 streams")));
}

TEST(HazardTest, TwoIssuesFromOneQueueInOneCycle) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @5 Read address=0 dst=E0\n  @5 Read address=1 dst=E1\n"),
              StatusIs(kHazard, HasSubstr("queue MEM_W0, cycle 5, `@5 Read address=1 dst=E1`: two "
                                          "issues from one queue in one cycle; `@5 Read address=0 "
                                          "dst=E0` also issues at cycle 5")));
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @5 Read address=0 dst=E0\n  @4 Read address=1 dst=E1\n"),
              StatusIs(kHazard, HasSubstr("a queue issues in program order")));
  TSP_EXPECT_OK(runner.Run("queue MEM_W0\n  @5 Read address=0 dst=E0\n  @6 Read address=1 dst=E1\n"));
}

TEST(HazardTest, InstructionTheSliceDoesNotHave) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Add.int8 a=E0 b=E1 dst=E2\n"),
              StatusIs(kInvalid, HasSubstr("chip 0, queue MEM_W0, cycle 0, `@0 Add.int8 a=E0 b=E1 "
                                           "dst=E2`: Add is a VXM instruction; slice MEM_W0 is MEM "
                                           "and does not have it")));
  EXPECT_THAT(runner.Run("queue VXM.0\n  @0 Send port=0 a=E0\n"),
              StatusIs(kInvalid, HasSubstr("Send is a C2C instruction; slice VXM is VXM")));
  EXPECT_THAT(runner.Run("queue VXM.16\n  @0 Nop n=1\n"),
              StatusIs(kInvalid, HasSubstr("has no queue 'VXM.16'")));
  EXPECT_THAT(runner.Run("chip other\nqueue VXM.0\n  @0 Nop n=1\n"),
              StatusIs(kInvalid, HasSubstr("written for chip 'other'")));
}

TEST(HazardTest, CycleLimitStopsARunawayProgram) {
  ProgramRunner runner;
  RunOptions options;
  options.cycle_limit = 1000;
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=100000 every=1\n", options),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("cycle limit 1000")));
}

// ---- Determinism ------------------------------------------------------------

TEST(DeterminismTest, SameProgramGivesBitIdenticalTraceAndResults) {
  ProgramRunner runner;
  std::vector<uint16_t> w(640 * 640), x(640);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint16_t>((i * 37 + 11) % 256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<uint16_t>((i * 13 + 5) % 256);
  auto kernel = kernels::BuildMatvecKernel(runner.chip(), {2, 2, isa::INT8}, w, x);
  ASSERT_THAT(kernel, ::tsp::testing::IsOk());
  const std::string text = isa::PrintProgram(kernel->program);
  RunOptions options;
  options.record_trace = true;
  std::string first_trace, first_output;
  for (int run = 0; run < 2; ++run) {
    TSP_ASSERT_OK_AND_ASSIGN(RunResult result, runner.Run(text, options));
    const std::string trace = runner.emulator().FormatTrace(result.trace);
    std::string output;
    for (const std::string& slice : kernel->output_slices) output += runner.Memory(slice, 0, 2);
    if (run == 0) {
      first_trace = trace;
      first_output = output;
      EXPECT_GT(result.trace.size(), 1000u);
    } else {
      EXPECT_EQ(trace, first_trace);
      EXPECT_EQ(output, first_output);
    }
  }
  // Timing-only mode issues the same instructions at the same cycles.
  options.functional = false;
  TSP_ASSERT_OK_AND_ASSIGN(RunResult timing, runner.Run(text, options));
  EXPECT_EQ(runner.emulator().FormatTrace(timing.trace), first_trace);
}

}  // namespace
}  // namespace tsp::emulator
