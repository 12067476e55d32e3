// A plane's accumulators (isa/README.md, "MXM"): one installed tile
// multiplies a batch of vectors, each into its own accumulator, and each is
// read out on its own; the rules that come with them, each beside its legal
// neighbour, in the emulator's words and the verifier's alike. Positions and
// latencies as in hazard_test.cc: MEM_W43 (4) reads at c put a vector at
// MXM_W1 (1) in c + 8; LoadWeights at 20 lands at 22, the install at 22 at 26.

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/chip_emulator.h"
#include "emulator/emulator_test_util.h"
#include "emulator/program_verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

constexpr auto kHazard = absl::StatusCode::kFailedPrecondition;

// Weight row 0 of all ones (the other rows zero), so output lane 0 of a
// product is the sum of the vector's lanes: address 0 of MEM_W43 holds the
// row, addresses 1.. the batch. `vectors` int8 vectors x_b, lane j = b + 1
// for j < 3 and zero elsewhere: lane 0 of W x_b is 3 (b + 1).
std::string Memory(const ProgramRunner& runner, int vectors) {
  std::string text = MemoryLine("MEM_W43", 0, std::string(runner.chip().lanes(), '\x01'));
  for (int b = 0; b < vectors; ++b) {
    std::string x(runner.chip().lanes(), '\0');
    for (int j = 0; j < 3; ++j) x[j] = static_cast<char>(b + 1);
    absl::StrAppend(&text, MemoryLine("MEM_W43", 1 + b, x));
  }
  return text;
}

// The tile installed at 22 (usable at 26) multiplies x_0 .. x_{n} at 26 ..
// 26 + n into accumulators `first`, first + stride, ...; `accumulate` reads
// them out (the products land from 50 on).
std::string Batch(int vectors, int first, int stride, const std::string& accumulate) {
  std::string text = absl::StrCat("queue MEM_W43\n  @12 Read address=0 dst=W0\n  @18 Read address=1 dst=W1\n");
  if (vectors > 1) absl::StrAppend(&text, "  @19 Repeat n=", vectors - 1, " every=1 stride=1\n");
  absl::StrAppend(&text, "queue MXM_W1.0\n  @20 LoadWeights.int8 row=0 a=W0\n",
                  "queue MXM_W1.1\n  @22 InstallWeights\n  @26 Multiply.int8 a=W1 accumulator=", first, "\n");
  if (vectors > 1) absl::StrAppend(&text, "  @27 Repeat n=", vectors - 1, " every=1 stride=", stride, "\n");
  absl::StrAppend(&text, "queue MXM_W1.2\n", accumulate);
  return text;
}

// Accumulators 0 .. n-1 read out at 50 .. onto E0..E3; their four byte
// planes are written at MEM_W42..MEM_W39 (positions 5..8) as they pass,
// accumulator b to address 10 + b.
std::string ReadOutAndWrite(int vectors) {
  std::string text = "  @50 Accumulate dst=E0 accumulator=0\n";
  if (vectors > 1) absl::StrAppend(&text, "  @51 Repeat n=", vectors - 1, " every=1 stride=1\n");
  // Accumulate at t lands at MXM_W1 (1) at t + 4; then one position a cycle.
  for (int q = 0; q < 4; ++q) {
    absl::StrAppend(&text, "queue MEM_W", 42 - q, "\n  @", 50 + 4 + 4 + q, " Write address=10 a=E", q, "\n");
    if (vectors > 1) absl::StrAppend(&text, "  @", 50 + 4 + 4 + q + 1, " Repeat n=", vectors - 1, " every=1 stride=1\n");
  }
  return text;
}

// Lane 0 of the int32 read out of accumulator b.
int32_t Lane0(const ProgramRunner& runner, int b) {
  uint32_t value = 0;
  for (int q = 0; q < 4; ++q) {
    value |= static_cast<uint32_t>(static_cast<uint8_t>(runner.Memory(absl::StrCat("MEM_W", 42 - q), 10 + b)[0]))
             << (8 * q);
  }
  int32_t result;
  std::memcpy(&result, &value, sizeof(result));
  return result;
}

// The emulator's verdict (timing-only) and the verifier's, which must agree.
absl::Status Verdict(ProgramRunner& runner, const std::string& text) {
  RunOptions timing;
  timing.functional = false;
  const absl::Status emulated = runner.Run(text, timing).status();
  absl::StatusOr<isa::Program> program = isa::ParseProgram(text);
  EXPECT_TRUE(program.ok()) << program.status();
  if (program.ok()) EXPECT_EQ(VerifyChipProgram(runner.chip(), *program), emulated) << text;
  return emulated;
}

TEST(AccumulatorsTest, OneInstallMultipliesABatchEachIntoItsOwnAccumulator) {
  ProgramRunner runner;
  for (int vectors : {1, 4}) {
    const std::string text = Memory(runner, vectors) + Batch(vectors, 0, 1, ReadOutAndWrite(vectors));
    TSP_ASSERT_OK(runner.Run(text).status()) << text;
    for (int b = 0; b < vectors; ++b) EXPECT_EQ(Lane0(runner, b), 3 * (b + 1)) << "accumulator " << b;
    TSP_EXPECT_OK(Verdict(runner, text));
  }
  EXPECT_GE(runner.chip().mxm_accumulators(), 4);
}

TEST(AccumulatorsTest, AnAccumulatorOutsideThePlaneIsAnError) {
  ProgramRunner runner;
  const int last = runner.chip().mxm_accumulators() - 1;
  TSP_EXPECT_OK(Verdict(runner, Batch(1, last, 1, absl::StrCat("  @50 Accumulate dst=E0 accumulator=", last, "\n"))));
  EXPECT_THAT(Verdict(runner, Batch(1, last + 1, 1, "")),
              StatusIs(kHazard, HasSubstr(absl::StrCat("`@26 Multiply.int8 a=W1 accumulator=", last + 1,
                                                       "`: accumulator ", last + 1, " is outside the plane's 0..",
                                                       last, " (mxm.accumulator_vectors; a Repeat's stride steps it)"))));
  // A Repeat's stride walks off the end at its second repetition (cycle 28).
  EXPECT_THAT(Verdict(runner, Batch(3, last - 1, 1, "")),
              StatusIs(kHazard, HasSubstr(absl::StrCat("cycle 28, `@26 Multiply.int8 a=W1 accumulator=", last - 1,
                                                       "` (repetition 1 of a Repeat): accumulator ", last + 1,
                                                       " is outside"))));
  EXPECT_THAT(Verdict(runner, "queue MXM_W1.2\n  @5 Accumulate dst=E0 accumulator=-1\n"),
              StatusIs(kHazard, HasSubstr("accumulator -1 is outside the plane's")));
}

TEST(AccumulatorsTest, EachAccumulatorIsReadOutOnlyOnceItsProductsLand) {
  ProgramRunner runner;
  // Products into 0, 2, 4 land at 50, 51, 52; accumulator 4 read at 51 is early.
  const std::string early = Batch(3, 0, 2,
                                  "  @50 Accumulate dst=E0 accumulator=0\n  @51 Accumulate dst=E4 accumulator=4\n"
                                  "  @52 Accumulate dst=E8 accumulator=2\n");
  EXPECT_THAT(Verdict(runner, early),
              StatusIs(kHazard, HasSubstr("cycle 51, `@51 Accumulate dst=E4 accumulator=4`: reads out accumulator 4, "
                                          "which no Multiply has reached since it was last read out (1 Multiply "
                                          "results still in flight")));
  TSP_EXPECT_OK(Verdict(runner, Batch(3, 0, 2,
                                      "  @50 Accumulate dst=E0 accumulator=0\n  @51 Accumulate dst=E4 accumulator=2\n"
                                      "  @52 Accumulate dst=E8 accumulator=4\n")));
  // An accumulator that no Multiply reaches, beside one that does.
  EXPECT_THAT(Verdict(runner, Batch(1, 0, 1, "  @50 Accumulate dst=E0 accumulator=1\n")),
              StatusIs(kHazard, HasSubstr("reads out accumulator 1, which no Multiply has reached")));
}

TEST(AccumulatorsTest, ProductsLeftInAnyAccumulatorAtTheEndAreAnError) {
  ProgramRunner runner;
  // Accumulators 0, 1, 2 hold products; 0 and 2 are read out.
  EXPECT_THAT(Verdict(runner, Batch(3, 0, 1, "  @60 Accumulate dst=E0 accumulator=0\n  @61 Repeat n=1 every=1 stride=2\n")),
              StatusIs(kHazard, HasSubstr("chip 0, MXM_W1: the run ends with 1 Multiply result(s) in accumulator 1 "
                                          "never read out, the last from queue MXM_W1.1's `@26 Multiply.int8 a=W1 "
                                          "accumulator=0` (issued at cycle 27")));
  // Products that reach one accumulator from two Multiplies add up there.
  TSP_EXPECT_OK(Verdict(runner, Batch(2, 5, 0, "  @60 Accumulate dst=E0 accumulator=5\n")));
}

}  // namespace
}  // namespace tsp::emulator
