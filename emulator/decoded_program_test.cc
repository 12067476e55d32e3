#include "emulator/decoded_program.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

using ::testing::HasSubstr;

class DecodedProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel model, isa::DefaultChipModel());
    chip_ = std::make_unique<isa::ChipModel>(std::move(model));
  }
  // Parses `text` into program_ and decodes it.
  absl::StatusOr<DecodedProgram> Decode(const std::string& text) {
    absl::StatusOr<isa::Program> program = isa::ParseProgram(text);
    if (!program.ok()) return program.status();
    program_ = *std::move(program);
    return DecodeProgram(*chip_, program_, "chip 3");
  }
  // `count` vectors of one hex digit pair, as the text form writes memory.
  std::string Vectors(int count, char digit) const { return std::string(2 * count * chip_->lanes(), digit); }

  std::unique_ptr<isa::ChipModel> chip_;
  isa::Program program_;
};

TEST_F(DecodedProgramTest, ResolvesQueuesSlicesStreamsAndImages) {
  const std::string text = "memory MEM_E0 4: " + Vectors(2, '1') +
                           "\n"
                           "queue VXM.0\n"
                           "  @6 Add.int16 a=E0 b=W1 dst=E2\n"
                           "queue MEM_W0\n"
                           "  @0 Read address=0 dst=E0\n"
                           "  @1 Repeat n=3 every=2 stride=1\n";
  TSP_ASSERT_OK_AND_ASSIGN(DecodedProgram decoded, Decode(text));
  ASSERT_EQ(decoded.queues.size(), 2u);
  // Sorted by queue index: MEM_W0's queue comes before the VXM's.
  EXPECT_LT(decoded.queues[0].queue, decoded.queues[1].queue);
  const DecodedQueue& mem = decoded.queues[0];
  EXPECT_EQ(chip_->queues()[mem.queue].name, "MEM_W0");
  EXPECT_EQ(chip_->slices()[mem.slice].name, "MEM_W0");
  ASSERT_EQ(mem.instructions.size(), 2u);
  EXPECT_EQ(mem.instructions[0].opcode, isa::Opcode::kRead);
  EXPECT_EQ(mem.instructions[1].opcode, isa::Opcode::kRepeat);
  EXPECT_EQ(mem.instructions[1].n, 3);
  EXPECT_EQ(mem.instructions[1].every, 2);
  EXPECT_EQ(mem.instructions[1].index, 1);
  const DecodedInstruction& add = decoded.queues[1].instructions[0];
  EXPECT_EQ(add.cycle, 6);
  // An int16 operand is two byte planes: two streams.
  EXPECT_EQ(add.a.direction, isa::EAST);
  EXPECT_EQ(add.a.first, 0);
  EXPECT_EQ(add.a.width, 2);
  EXPECT_EQ(add.b.direction, isa::WEST);
  EXPECT_EQ(add.b.first, 1);
  EXPECT_EQ(add.dst.first, 2);
  EXPECT_EQ(add.c.width, 0);  // Absent.
  ASSERT_EQ(decoded.memory.size(), 1u);
  EXPECT_EQ(chip_->slices()[decoded.memory[0].slice].name, "MEM_E0");
  EXPECT_EQ(decoded.memory[0].address, 4);
  EXPECT_EQ(decoded.memory[0].data->size(), 2u * chip_->lanes());
}

// Each program that cannot run on the chip is refused before running, with
// the chip, the queue, the cycle and the instruction named, and the cause.
TEST_F(DecodedProgramTest, RefusesWhatDoesNotFitTheChipAndSaysWhere) {
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"queue MEM_X9\n  @0 Read address=0 dst=E0\n", "chip 3: chip 'tsp_v1' has no queue 'MEM_X9'"},
      {"queue MEM_W0\n  @0 Read address=0 dst=E0\nqueue MEM_W0\n  @2 Read address=1 dst=E0\n",
       "queue MEM_W0 appears twice"},
      {"queue MEM_W0\n  @0 Add.int8 a=E0 b=W1 dst=E2\n",
       "chip 3, queue MEM_W0, cycle 0, `@0 Add.int8 a=E0 b=W1 dst=E2`: Add is a VXM instruction; slice MEM_W0 is "
       "MEM and does not have it"},
      {"queue MEM_W0\n  @0 Read address=0 dst=E40\n", "beyond the chip's 32 streams per direction"},
      {"queue MEM_W0\n  @4 Repeat n=3 every=1 stride=1\n",
       "Repeat repeats the queue's previous instruction, and "
       "there is none"},
      {"queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=0 every=1 stride=1\n",
       "Repeat needs n >= 1 and every >= 1"},
      {"queue SXM_W.0\n  @0 Permute.int8 a=E0 map=0 dst=E1\n", "lane map 0 does not exist (the program has 0)"},
      {"lane_map 0: 3 2 1 0\nqueue SXM_W.0\n  @0 Permute.int8 a=E0 map=0 dst=E1\n", "lane map 0 has 4 entries"},
      {"queue VXM.0\n  @0 Shl.int8 a=E0 amount=8 dst=E1\n", "shift amount 8 is outside 0..7"},
      {"queue MEM_W0\n  @0 Nop n=0\n", "Nop needs n >= 1"},
      {"queue MEM_W0\n  @0 Read address=4294967296 dst=E0\n",
       "address=4294967296 does not fit in 32 bits (-2147483648..2147483647)"},
      {"queue MEM_W0\n  @0 Read address=0 dst=E40000\n", "operand dst uses streams 40000..40000, beyond"},
      {"memory VXM 0: " + Vectors(1, '0') + "\n", "memory image 0 (VXM address 0): no MEM slice of that name"},
      {"memory MEM_W0 8191: " + Vectors(2, '0') + "\n", "2 vectors do not fit in addresses 0..8191"},
      {"chip tsp_v9\n", "the program was written for chip 'tsp_v9' and cannot run on 'tsp_v1'"},
  };
  for (const Case& test : cases) {
    absl::StatusOr<DecodedProgram> decoded = Decode(test.text);
    ASSERT_FALSE(decoded.ok()) << test.text;
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << test.text;
    EXPECT_THAT(decoded.status().message(), HasSubstr(test.error)) << test.text;
  }
}

}  // namespace
}  // namespace tsp::emulator
