#include "isa/assembler.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "isa/opcode.h"
#include "isa/status_matchers.h"

namespace tsp::isa {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

constexpr absl::string_view kProgram = R"(# A weight-streaming fragment.
chip tsp_v1
lane_map 0:1 0 -1
memory MEM_W0 16: 00ff10
queue MEM_W0
  @0 Read address=16 dst=E3
  @1 Repeat n=255 every=1 stride=1
queue VXM.0
  @12 Add.fp32 a=E0 b=W4 dst=E8
  @13 Convert.fp32 a=E0 to=fp16 dst=W0
queue MXM_W0.0
  @20 LoadWeights.int8 row=0 rows=32 a=E0
queue C2C_W
  @30 Send port=3 a=W7
)";

TEST(AssemblerTest, ProgramRoundTrips) {
  TSP_ASSERT_OK_AND_ASSIGN(Program program, ParseProgram(kProgram));
  ASSERT_EQ(program.queues_size(), 4);
  const Instruction& read = program.queues(0).instructions(0);
  EXPECT_EQ(InstructionOpcode(read), Opcode::kRead);
  EXPECT_EQ(read.address(), 16);
  EXPECT_EQ(read.dst().direction(), EAST);
  EXPECT_EQ(read.dst().index(), 3);
  EXPECT_EQ(program.queues(1).instructions(0).type(), FP32);
  EXPECT_EQ(program.queues(1).instructions(1).to_type(), FP16);
  EXPECT_EQ(program.memory(0).data(), std::string("\x00\xff\x10", 3));
  EXPECT_THAT(program.lane_maps(0).source_lane(), ::testing::ElementsAre(1, 0, -1));

  const std::string printed = PrintProgram(program);
  TSP_ASSERT_OK_AND_ASSIGN(Program reparsed, ParseProgram(printed));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(program, reparsed));
  EXPECT_EQ(PrintProgram(reparsed), printed);
  // Comments and blank lines aside, the canonical form is the input.
  EXPECT_THAT(printed, HasSubstr("queue VXM.0\n  @12 Add.fp32 a=E0 b=W4 dst=E8\n"));
}

// Every opcode of the table, with each operand it allows, prints and parses
// back to itself.
TEST(AssemblerTest, EveryOpcodeRoundTrips) {
  for (const OpcodeInfo& info : AllOpcodes()) {
    Instruction instruction;
    instruction.set_cycle(7);
    SetInstructionOpcode(info.opcode, &instruction);
    if (info.allowed_types != kUntyped) {
      for (ElementType type : {INT8, UINT8, INT16, INT32, FP16, BF16, FP32}) {
        if (info.allowed_types & TypeBit(type)) {
          instruction.set_type(type);
          break;
        }
      }
    }
    const uint32_t operands = info.required_operands | info.optional_operands;
    int value = 1;
    for (const OperandInfo& operand : AllOperands()) {
      if (!(operands & operand.bit)) continue;
      ++value;
      if (operand.is_stream) {
        StreamRef stream;
        stream.set_direction(value % 2 ? WEST : EAST);
        stream.set_index(value);
        switch (operand.bit) {
          case kOpA: *instruction.mutable_a() = stream; break;
          case kOpB: *instruction.mutable_b() = stream; break;
          case kOpC: *instruction.mutable_c() = stream; break;
          default: *instruction.mutable_dst() = stream; break;
        }
      } else if (operand.bit == kOpToType) {
        instruction.set_to_type(BF16);
      } else {
        switch (operand.bit) {
          case kOpPort: instruction.set_port(value); break;
          case kOpAddress: instruction.set_address(value); break;
          case kOpRow: instruction.set_row(value); break;
          case kOpRows: instruction.set_rows(value); break;
          case kOpAmount: instruction.set_amount(-value); break;
          case kOpMap: instruction.set_map(value); break;
          case kOpN: instruction.set_n(value); break;
          case kOpEvery: instruction.set_every(value); break;
          case kOpAccumulator: instruction.set_accumulator(value); break;
          default: instruction.set_stride(value); break;
        }
      }
    }
    TSP_ASSERT_OK(CheckSignature(instruction)) << info.mnemonic;
    const std::string text = PrintInstruction(instruction);
    TSP_ASSERT_OK_AND_ASSIGN(Instruction parsed, ParseInstruction(text));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(instruction, parsed)) << text;
    EXPECT_EQ(PrintInstruction(parsed), text);
  }
}

TEST(AssemblerTest, RejectsMalformedInstructionsWithTheLine) {
  EXPECT_THAT(ParseProgram("queue MEM_W0\n  @0 Raed address=1 dst=E0\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("line 2 '  @0 Raed address=1 dst=E0': unknown opcode 'Raed'")));
  EXPECT_THAT(ParseInstruction("@0 Read address=1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Read needs operand 'dst'")));
  EXPECT_THAT(ParseInstruction("@0 Read address=1 dst=E0 rows=2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Read takes no operand 'rows'")));
  EXPECT_THAT(ParseInstruction("@0 Add a=E0 b=E1 dst=E2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Add needs an element type suffix, one of: int8")));
  EXPECT_THAT(ParseInstruction("@0 Exp.int8 a=E0 dst=E2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(not int8)")));
  EXPECT_THAT(ParseInstruction("@0 Read.fp32 address=1 dst=E0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Read takes no element type")));
  EXPECT_THAT(ParseInstruction("@0 Read address=1 dst=X0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'X0' is not a stream")));
  EXPECT_THAT(ParseInstruction("@x Read address=1 dst=E0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'x' is not a cycle")));
  EXPECT_THAT(ParseInstruction("@-3 Nop n=1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
  EXPECT_THAT(ParseInstruction("@0 Read address=1 address=2 dst=E0"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
  EXPECT_THAT(ParseProgram("@0 Nop n=1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("before any 'queue")));
  EXPECT_THAT(ParseProgram("memory MEM_W0 0: 0g\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'0g' is not hex")));
  EXPECT_THAT(ParseProgram("lane_map 1: 0\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 0")));
}

}  // namespace
}  // namespace tsp::isa

namespace tsp::isa {
namespace {

constexpr absl::string_view kIntents = R"(chip tsp_v1
queue MEM_W0
  @0 Read address=16 dst=E0 memory<-initial
  @1 Read address=17 dst=E4 memory<-MEM_E0@0,initial,MEM_E0@9
  @2 Repeat n=2 every=1 stride=1
queue VXM.0
  @12 Add.fp32 a=E0 b=W4 dst=E8 a<-MEM_W0@0 b<-MEM_E0@1,MEM_E0@2,MEM_E0@3,MEM_E0@4
queue MXM_W1.1
  @30 InstallWeights loads<-MXM_W1.1@20*10
  @40 Multiply.int8 a=W1 weights<-MXM_W1.1@30
queue MXM_W1.2
  @80 Accumulate dst=E0 products<-MXM_W1.1@40*3
queue C2C_W
  @90 Receive port=1 dst=E0 sent<-chip12:C2C_E@3
queue MEM_E0
  @95 Write address=3 a=E0 a<-C2C_W@90
)";

TEST(AssemblerTest, IntentsRoundTripWithQueueNamesResolved) {
  absl::StatusOr<Program> program = ParseProgram(kIntents);
  TSP_ASSERT_OK(program);
  EXPECT_EQ(PrintProgram(*program), kIntents);
  // Sources name queues by their index in the program; later queues too.
  const Instruction& add = program->queues(1).instructions(0);
  EXPECT_EQ(add.intent().a().queue(0), 0);
  EXPECT_EQ(add.intent().b().queue_size(), 4);
  EXPECT_EQ(add.intent().b().queue(0), 5);  // MEM_E0, the last queue.
  EXPECT_EQ(program->queues(4).instructions(0).intent().sent().chip(), 12);
  // Without the program, a source shows its queue's index.
  EXPECT_EQ(PrintInstruction(program->queues(2).instructions(0)), "@30 InstallWeights loads<-%2@20*10");
}

TEST(AssemblerTest, RejectsMalformedIntents) {
  EXPECT_THAT(ParseProgram("queue MEM_W0\n  @0 Read address=0 dst=E0 memory<-MEM_W7@3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names queue 'MEM_W7', which this program")));
  EXPECT_THAT(ParseProgram("queue MEM_W0\n  @0 Read address=0 dst=E0 from<-MEM_W0@3\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not an intent")));
  EXPECT_THAT(ParseProgram("queue MEM_W0\n  @0 Read address=0 dst=E0 memory<-MEM_W0\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a source")));
}

TEST(AssemblerTest, SystemProgramTextRoundTrips) {
  SystemProgram system;
  system.set_predicted_last_event_cycle(1234);
  ASSERT_TRUE(ParseProgram("chip tsp_v1\nlane_map 0:1 0\nqueue MEM_W0\n  @0 Read address=0 dst=E0\n")
                  .ok());
  (*system.mutable_chips())[0] = *ParseProgram("chip tsp_v1\nlane_map 0:1 0\nqueue MEM_W0\n  @0 Read address=0 dst=E0\n");
  (*system.mutable_chips())[3] = *ParseProgram("chip tsp_v1\nlane_map 0:0 1\nqueue C2C_W\n  @0 Deskew port=0\n");
  const std::string text = PrintSystemProgram(system);
  EXPECT_TRUE(IsSystemProgramText(text));
  EXPECT_FALSE(IsSystemProgramText(kIntents));
  // Each chip's lane maps count from 0 again: the second chip's parse.
  absl::StatusOr<SystemProgram> again = ParseSystemProgram(text);
  TSP_ASSERT_OK(again);
  EXPECT_EQ(PrintSystemProgram(*again), text);
  EXPECT_EQ(again->predicted_last_event_cycle(), 1234);
  EXPECT_THAT(ParseSystemProgram("program 0\nqueue MEM_W0\n  @0 Bad\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("program 0 (from line 2), line 2")));
}

}  // namespace
}  // namespace tsp::isa
