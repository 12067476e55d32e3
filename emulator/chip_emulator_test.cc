// Instructions one at a time on the default chip (isa/specs/tsp_v1.textproto).
// Positions: C2C_W 0, MXM_W1 1, MXM_W0 2, SXM_W 3, MEM_W43..MEM_W0 4..47,
// VXM 48, MEM_E0..MEM_E43 49..92, SXM_E 93, MXM_E0 94, MXM_E1 95, C2C_E 96.
// Latencies: Read 5, Write 5, Gather 7, Add 3, Convert 3, Exp 8, Shift 4,
// Permute 6, Transpose 8, Send 4, Receive 4, Notify 1. A value moves one
// position per cycle, so a Write consumes it exactly at its arrival cycle;
// one cycle early or late it finds no value, which makes every value check
// below a timing check too.

#include "emulator/chip_emulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "emulator/emulator_test_util.h"
#include "isa/element_type.h"
#include "isa/numeric.h"
#include "isa/opcode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::emulator {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

std::string Ramp(int lanes, int start, int step) {
  std::string bytes(lanes, 0);
  for (int i = 0; i < lanes; ++i) bytes[i] = static_cast<char>(start + step * i);
  return bytes;
}

// MEM_W0 reads address 3 at cycle 0 onto E5: on the stream at position 47 in
// cycle 0 + 5, at MEM_E0 (49) in cycle 7.
std::string ReadThenWrite(int write_cycle) {
  return MemoryLine("MEM_W0", 3, Ramp(320, 1, 3)) +
         absl::StrCat("queue MEM_W0\n  @0 Read address=3 dst=E5\n",
                      "queue MEM_E0\n  @", write_cycle, " Write address=9 a=E5\n");
}

TEST(ChipEmulatorTest, ReadAndWriteMoveAVectorWithExactTiming) {
  ProgramRunner runner;
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, runner.Run(ReadThenWrite(7)));
  EXPECT_EQ(runner.Memory("MEM_E0", 9), Ramp(320, 1, 3));
  EXPECT_EQ(result.last_event_cycle, 12);        // Write issued at 7 lands at 7 + 5.
  EXPECT_EQ(result.completion_cycle, 12 + 19 + 1);  // 20 superlanes, one cycle apart.
  EXPECT_EQ(result.instructions_issued, 2);
  EXPECT_EQ(result.busy_cycles[*runner.chip().FindSlice("MEM_W0")], 1);
  // One cycle early the value is still at position 48; one late it has moved on.
  for (int cycle : {6, 8}) {
    EXPECT_THAT(runner.Run(ReadThenWrite(cycle)),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(absl::StrCat("chip 0, queue MEM_E0, cycle ", cycle,
                                                ", `@", cycle,
                                                " Write address=9 a=E5`: operand a: stream E5 "
                                                "holds no value at position 49 (MEM_E0)"))));
  }
}

// ---- VXM --------------------------------------------------------------------

struct VectorCase {
  std::string instruction;  // Opcode, type and non-stream operands.
  isa::ElementType type;
  isa::ElementType out_type;
  bool binary;
  bool select;
  // Expected raw output of one lane from raw inputs.
  uint32_t (*reference)(uint32_t a, uint32_t b, uint32_t c);
};

uint32_t LaneValue(int lane, int operand, int width) {
  // Mixed-sign values with some extremes, deterministic per lane and operand.
  uint32_t state = static_cast<uint32_t>(lane * 2654435761u + operand * 40503u + 12345u);
  state ^= state >> 13;
  state *= 0x5bd1e995u;
  state ^= state >> 15;
  if (width == 4 && lane % 7 == 3) state = (state & 0x807FFFFFu) | 0x3F000000u;  // Near 1.0f.
  if (width == 4 && lane % 7 == 5) state = (state & 0x807FFFFFu) | 0x40800000u;  // Near 4.0f.
  if (width == 2 && lane % 5 == 1) state = (state & 0x83FFu) | 0x3C00u;          // Near 1.0 (fp16).
  if (width == 2 && lane % 5 == 2) state = (state & 0x807Fu) | 0x3F80u;          // Near 1.0 (bf16).
  if (lane == 0) state = 0;
  return width == 4 ? state : (state & ((1u << (8 * width)) - 1));
}

std::string Planes(int operand, int width, int plane) {
  std::string bytes(320, 0);
  for (int lane = 0; lane < 320; ++lane) {
    // Groups wider than an element (Transpose's 16 streams) get independent planes.
    bytes[lane] = static_cast<char>(width > 4 ? LaneValue(lane, operand * 100 + plane, 1)
                                              : LaneValue(lane, operand, width) >> (8 * plane));
  }
  return bytes;
}

class VectorOpTest : public ::testing::TestWithParam<VectorCase> {};

// Plane k of a comes from MEM_W<k> (position 47 - k) on E<k>, of b from
// MEM_E<k> (49 + k) on W<k>: each arrives at the VXM (48) 5 + 1 + k cycles
// after its Read, so reads at 14 - k meet the ALU at cycle 20. c (Select)
// comes from MEM_W<4+k> on E<4+k>, read at 10 - k. The result lands at
// 20 + d_func on E8.. and reaches MEM_E<4+k> (53 + k) 5 + k cycles later.
TEST_P(VectorOpTest, ComputesEachLaneAndDeliversOnTime) {
  const VectorCase& test = GetParam();
  ProgramRunner runner;
  const int width = isa::ElementBytes(test.type);
  const int out_width = isa::ElementBytes(test.out_type);
  const int64_t latency = runner.chip().latency_cycles(*isa::FindOpcode(
      test.instruction.substr(0, test.instruction.find_first_of(". "))));
  std::string text;
  std::string queues;
  for (int k = 0; k < width; ++k) {
    text += MemoryLine(absl::StrCat("MEM_W", k), 0, Planes(0, width, k));
    queues += absl::StrCat("queue MEM_W", k, "\n  @", 14 - k, " Read address=0 dst=E", k, "\n");
    if (test.binary) {
      text += MemoryLine(absl::StrCat("MEM_E", k), 0, Planes(1, width, k));
      queues += absl::StrCat("queue MEM_E", k, "\n  @", 14 - k, " Read address=0 dst=W", k, "\n");
    }
    if (test.select) {
      text += MemoryLine(absl::StrCat("MEM_W", 4 + k), 0, Planes(2, width, k));
      queues += absl::StrCat("queue MEM_W", 4 + k, "\n  @", 10 - k, " Read address=0 dst=E",
                             4 + k, "\n");
    }
  }
  const int64_t result_cycle = 20 + latency;
  for (int k = 0; k < out_width; ++k) {
    queues += absl::StrCat("queue MEM_E", 4 + k, "\n  @", result_cycle + 5 + k,
                           " Write address=100 a=E", 8 + k, "\n");
  }
  queues += absl::StrCat("queue VXM.0\n  @20 ", test.instruction, " a=E0",
                         test.binary ? " b=W0" : "", test.select ? " c=E4" : "", " dst=E8\n");
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, runner.Run(text + queues));
  EXPECT_EQ(result.last_event_cycle, result_cycle + 5 + (out_width - 1) + 5);
  std::vector<std::string> out;
  for (int k = 0; k < out_width; ++k) out.push_back(runner.Memory(absl::StrCat("MEM_E", 4 + k), 100));
  for (int lane = 0; lane < 320; ++lane) {
    uint32_t actual = 0;
    for (int k = 0; k < out_width; ++k) actual |= static_cast<uint32_t>(static_cast<uint8_t>(out[k][lane])) << (8 * k);
    const uint32_t expected = test.reference(LaneValue(lane, 0, width), LaneValue(lane, 1, width),
                                             LaneValue(lane, 2, width));
    ASSERT_EQ(actual, expected) << test.instruction << " lane " << lane;
  }
}

float F32(uint32_t bits) { return isa::BitsToFloat(bits); }
uint32_t B32(float value) { return isa::FloatToBits(value); }
float H(uint32_t bits) { return isa::Fp16ToFloat(static_cast<uint16_t>(bits)); }
uint32_t ToH(float value) { return isa::FloatToFp16(value); }
float BF(uint32_t bits) { return isa::Bf16ToFloat(static_cast<uint16_t>(bits)); }
uint32_t ToBF(float value) { return isa::FloatToBf16(value); }
uint32_t I8(int64_t value) { return static_cast<uint8_t>(value); }
uint32_t I16(int64_t value) { return static_cast<uint16_t>(value); }
int8_t S8(uint32_t raw) { return static_cast<int8_t>(raw); }
int16_t S16(uint32_t raw) { return static_cast<int16_t>(raw); }
int32_t S32(uint32_t raw) { return static_cast<int32_t>(raw); }

INSTANTIATE_TEST_SUITE_P(
    AllVectorOps, VectorOpTest,
    ::testing::Values(
        VectorCase{"Add.int8", isa::INT8, isa::INT8, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return I8(S8(a) + S8(b)); }},
        VectorCase{"Sub.int16", isa::INT16, isa::INT16, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return I16(S16(a) - S16(b)); }},
        VectorCase{"Mul.int32", isa::INT32, isa::INT32, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return a * b; }},
        VectorCase{"Max.int8", isa::INT8, isa::INT8, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return I8(std::max(S8(a), S8(b))); }},
        VectorCase{"Min.uint8", isa::UINT8, isa::UINT8, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return std::min(a, b); }},
        VectorCase{"CmpLt.int16", isa::INT16, isa::INT16, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return S16(a) < S16(b) ? 1u : 0u; }},
        VectorCase{"CmpEq.int8", isa::INT8, isa::INT8, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return a == b ? 1u : 0u; }},
        VectorCase{"Select.int32", isa::INT32, isa::INT32, true, true,
                   [](uint32_t a, uint32_t b, uint32_t c) { return c != 0 ? a : b; }},
        VectorCase{"Shl.int16 amount=3", isa::INT16, isa::INT16, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return (a << 3) & 0xFFFFu; }},
        VectorCase{"Shr.int8 amount=2", isa::INT8, isa::INT8, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return I8(S8(a) >> 2); }},
        VectorCase{"Shr.uint8 amount=2", isa::UINT8, isa::UINT8, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return a >> 2; }},
        VectorCase{"Neg.int32", isa::INT32, isa::INT32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return 0u - a; }},
        VectorCase{"Abs.int8", isa::INT8, isa::INT8, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return I8(S8(a) < 0 ? -S8(a) : S8(a)); }},
        VectorCase{"Relu.int16", isa::INT16, isa::INT16, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return S16(a) < 0 ? 0u : a; }},
        VectorCase{"Add.fp32", isa::FP32, isa::FP32, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return B32(F32(a) + F32(b)); }},
        VectorCase{"Mul.fp32", isa::FP32, isa::FP32, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return B32(F32(a) * F32(b)); }},
        VectorCase{"Max.fp32", isa::FP32, isa::FP32, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) {
                     return std::isnan(F32(a)) || std::isnan(F32(b))
                                ? B32(std::numeric_limits<float>::quiet_NaN())
                                : B32(std::max(F32(a), F32(b)));
                   }},
        VectorCase{"Exp.fp32", isa::FP32, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(std::exp(F32(a))); }},
        VectorCase{"Tanh.fp32", isa::FP32, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(std::tanh(F32(a))); }},
        VectorCase{"Rsqrt.fp32", isa::FP32, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(1.0f / std::sqrt(F32(a))); }},
        VectorCase{"Recip.fp32", isa::FP32, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(1.0f / F32(a)); }},
        VectorCase{"Relu.fp32", isa::FP32, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return F32(a) > 0 ? a : B32(0.0f); }},
        VectorCase{"Add.fp16", isa::FP16, isa::FP16, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return ToH(H(a) + H(b)); }},
        VectorCase{"Mul.bf16", isa::BF16, isa::BF16, true, false,
                   [](uint32_t a, uint32_t b, uint32_t) { return ToBF(BF(a) * BF(b)); }},
        VectorCase{"Convert.fp32 to=fp16", isa::FP32, isa::FP16, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return ToH(F32(a)); }},
        VectorCase{"Convert.fp16 to=fp32", isa::FP16, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(H(a)); }},
        VectorCase{"Convert.fp32 to=int8", isa::FP32, isa::INT8, false, false,
                   [](uint32_t a, uint32_t, uint32_t) {
                     const float v = F32(a);
                     if (std::isnan(v)) return 0u;
                     if (v >= 127.0f) return 127u;
                     if (v <= -128.0f) return 0x80u;
                     return I8(static_cast<int64_t>(std::nearbyint(v)));
                   }},
        VectorCase{"Convert.int32 to=int16", isa::INT32, isa::INT16, false, false,
                   [](uint32_t a, uint32_t, uint32_t) {
                     return I16(std::min<int64_t>(32767, std::max<int64_t>(-32768, S32(a))));
                   }},
        VectorCase{"Convert.int8 to=fp32", isa::INT8, isa::FP32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) { return B32(static_cast<float>(S8(a))); }},
        VectorCase{"Convert.bf16 to=int32", isa::BF16, isa::INT32, false, false,
                   [](uint32_t a, uint32_t, uint32_t) {
                     const double v = BF(a);
                     if (std::isnan(v)) return 0u;
                     if (v >= 2147483647.0) return 0x7FFFFFFFu;
                     if (v <= -2147483648.0) return 0x80000000u;
                     return static_cast<uint32_t>(static_cast<int64_t>(std::nearbyint(v)));
                   }}));

TEST(ChipEmulatorTest, MaxAndNarrowingCastNeedALargeAlu) {
  ProgramRunner runner;
  EXPECT_THAT(runner.Run("queue VXM.1\n  @0 Max.fp32 a=E0 b=E4 dst=E8\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("VXM ALU 1 is a small ALU; this operation needs a large one")));
  EXPECT_THAT(runner.Run("queue VXM.3\n  @0 Convert.fp32 a=E0 to=fp16 dst=E8\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("VXM ALU 3 is a small ALU")));
}

// ---- SXM --------------------------------------------------------------------

// Input plane k from MEM_W<43-k> (position 4 + k) on W<k>: at SXM_W (3) 5 + 1 + k
// cycles after the Read; reads at 34 - k meet the SXM at 40. The result on
// E<16+k> reaches MEM_W<43-k> 1 + k cycles after it lands at 40 + d_func.
struct SwitchRun {
  RunResult result;
  std::vector<std::string> out;
};

SwitchRun RunSwitch(ProgramRunner& runner, const std::string& instruction, int in_width,
                    int out_width, const std::string& lane_maps = "") {
  std::string text = lane_maps;
  std::string queues;
  const int64_t latency = runner.chip().latency_cycles(
      *isa::FindOpcode(instruction.substr(0, instruction.find_first_of(". "))));
  for (int k = 0; k < std::max(in_width, out_width); ++k) {
    const std::string slice = absl::StrCat("MEM_W", 43 - k);
    queues += absl::StrCat("queue ", slice, "\n");
    if (k < in_width) {
      text += MemoryLine(slice, 0, Planes(3, in_width, k));
      queues += absl::StrCat("  @", 34 - k, " Read address=0 dst=W", k, "\n");
    }
    if (k < out_width) {
      queues += absl::StrCat("  @", 40 + latency + 1 + k, " Write address=100 a=E", 16 + k, "\n");
    }
  }
  queues += absl::StrCat("queue SXM_W.0\n  @40 ", instruction, " a=W0 dst=E16\n");
  SwitchRun run;
  absl::StatusOr<RunResult> result = runner.Run(text + queues);
  EXPECT_THAT(result, ::tsp::testing::IsOk());
  if (!result.ok()) return run;
  run.result = *result;
  for (int k = 0; k < out_width; ++k) run.out.push_back(runner.Memory(absl::StrCat("MEM_W", 43 - k), 100));
  return run;
}

uint32_t OutLane(const SwitchRun& run, int width, int lane) {
  uint32_t raw = 0;
  for (int k = 0; k < width; ++k) raw |= static_cast<uint32_t>(static_cast<uint8_t>(run.out[k][lane])) << (8 * k);
  return raw;
}

TEST(ChipEmulatorTest, ShiftMovesWholeElementsNorthWithZeroFill) {
  ProgramRunner runner;
  SwitchRun run = RunSwitch(runner, "Shift.int16 amount=5", 2, 2);
  ASSERT_EQ(run.out.size(), 2u);
  for (int lane = 0; lane < 320; ++lane) {
    EXPECT_EQ(OutLane(run, 2, lane), lane < 5 ? 0u : LaneValue(lane - 5, 3, 2)) << lane;
  }
  // Shift at 40 (d_func 4) lands at 44; plane 1 reaches MEM_W42 at 46 and is
  // written at 46 + 5.
  EXPECT_EQ(run.result.last_event_cycle, 51);
}

TEST(ChipEmulatorTest, RotateSouthWraps) {
  ProgramRunner runner;
  SwitchRun run = RunSwitch(runner, "Rotate.int8 amount=-7", 1, 1);
  ASSERT_EQ(run.out.size(), 1u);
  for (int lane = 0; lane < 320; ++lane) {
    EXPECT_EQ(OutLane(run, 1, lane), LaneValue((lane + 7) % 320, 3, 1)) << lane;
  }
}

TEST(ChipEmulatorTest, PermuteAndDistributeFollowTheirLaneMaps) {
  std::string reverse = "lane_map 0:";
  for (int lane = 0; lane < 320; ++lane) absl::StrAppend(&reverse, " ", lane % 10 == 9 ? -1 : 319 - lane);
  std::string spread = "\nlane_map 1: 0 0 0 0 5 5 5 5 15 14 13 12 -1 -1 1 2\n";
  ProgramRunner runner;
  SwitchRun permuted = RunSwitch(runner, "Permute.fp32 map=0", 4, 4, reverse + spread);
  ASSERT_EQ(permuted.out.size(), 4u);
  for (int lane = 0; lane < 320; ++lane) {
    EXPECT_EQ(OutLane(permuted, 4, lane), lane % 10 == 9 ? 0u : LaneValue(319 - lane, 3, 4));
  }
  const int map[16] = {0, 0, 0, 0, 5, 5, 5, 5, 15, 14, 13, 12, -1, -1, 1, 2};
  SwitchRun distributed = RunSwitch(runner, "Distribute.int8 map=1", 1, 1, reverse + spread);
  ASSERT_EQ(distributed.out.size(), 1u);
  for (int lane = 0; lane < 320; ++lane) {
    const int source = map[lane % 16];
    EXPECT_EQ(OutLane(distributed, 1, lane),
              source < 0 ? 0u : LaneValue(lane - lane % 16 + source, 3, 1));
  }
  EXPECT_THAT(runner.Run(reverse + spread + "queue SXM_W.0\n  @0 Distribute.int8 map=0 a=W0 dst=E1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("lane map 0 has 320 entries; Distribute needs 16")));
}

TEST(ChipEmulatorTest, TransposeSwapsStreamsAndLanesWithinEachSuperlane) {
  ProgramRunner runner;
  SwitchRun run = RunSwitch(runner, "Transpose", 16, 16);
  ASSERT_EQ(run.out.size(), 16u);
  for (int k = 0; k < 16; ++k) {
    for (int lane = 0; lane < 320; ++lane) {
      const int base = lane - lane % 16;
      // Output stream k, lane base + j = input stream j, lane base + k.
      const std::string input = Planes(3, 16, lane % 16);
      EXPECT_EQ(run.out[k][lane], input[base + k]) << "stream " << k << " lane " << lane;
    }
  }
}

// ---- MEM Gather and Scatter -------------------------------------------------

TEST(ChipEmulatorTest, GatherReadsOneAddressPerTile) {
  ProgramRunner runner;
  std::string text;
  for (int address = 0; address < 20; ++address) {
    text += MemoryLine("MEM_E0", address, Ramp(320, address * 7, 1));
  }
  // Tile s reads address (3 s + 1) % 20; int16 map: low bytes on E0 from
  // MEM_W0 (47, 2 hops to MEM_E0), high bytes on E1 from MEM_W1 (46, 3 hops).
  std::string low(320, 0), high(320, 0);
  for (int tile = 0; tile < 20; ++tile) low[tile * 16] = static_cast<char>((3 * tile + 1) % 20);
  text += MemoryLine("MEM_W0", 0, low) + MemoryLine("MEM_W1", 0, high);
  text += "queue MEM_W0\n  @13 Read address=0 dst=E0\n"
          "queue MEM_W1\n  @12 Read address=0 dst=E1\n"
          "queue MEM_E0\n  @20 Gather a=E0 dst=E2\n"
          // Gather at 20 lands at 27 on E2 at 49; MEM_E1 (50) writes it at 28.
          "queue MEM_E1\n  @28 Write address=200 a=E2\n";
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, runner.Run(text));
  const std::string gathered = runner.Memory("MEM_E1", 200);
  for (int lane = 0; lane < 320; ++lane) {
    const int address = (3 * (lane / 16) + 1) % 20;
    EXPECT_EQ(static_cast<uint8_t>(gathered[lane]), static_cast<uint8_t>(address * 7 + lane)) << lane;
  }
  EXPECT_EQ(result.last_event_cycle, 33);
}

TEST(ChipEmulatorTest, ScatterWritesOneAddressPerTile) {
  ProgramRunner runner;
  std::string low(320, 0), high(320, 0);
  for (int tile = 0; tile < 20; ++tile) {
    low[tile * 16] = static_cast<char>(tile % 2 == 0 ? 0x10 : 0x20);
    high[tile * 16] = static_cast<char>(0x10);  // Addresses 0x1010 and 0x1020: bank 1.
  }
  std::string text = MemoryLine("MEM_W0", 0, low) + MemoryLine("MEM_W1", 0, high) +
                     MemoryLine("MEM_W2", 0, Ramp(320, 9, 1));
  // Map planes and data reach MEM_E0 (49) at cycle 20: Reads at 20-7, 20-8, 20-9.
  text += "queue MEM_W0\n  @13 Read address=0 dst=E0\n"
          "queue MEM_W1\n  @12 Read address=0 dst=E1\n"
          "queue MEM_W2\n  @11 Read address=0 dst=E2\n"
          "queue MEM_E0\n  @20 Scatter a=E0 b=E2\n";
  TSP_ASSERT_OK(runner.Run(text));
  const std::string even = runner.Memory("MEM_E0", 0x1010);
  const std::string odd = runner.Memory("MEM_E0", 0x1020);
  for (int lane = 0; lane < 320; ++lane) {
    const bool even_tile = (lane / 16) % 2 == 0;
    EXPECT_EQ(static_cast<uint8_t>((even_tile ? even : odd)[lane]), static_cast<uint8_t>(9 + lane));
    EXPECT_EQ((even_tile ? odd : even)[lane], 0) << lane;
  }
}

// ---- C2C --------------------------------------------------------------------

TEST(ChipEmulatorTest, SendAndReceiveCrossTheChipEdge) {
  ProgramRunner runner;
  RunOptions options;
  options.inbound.push_back({"C2C_W", 1, 10, Ramp(320, 5, 2)});
  // MEM_E43 (92) reads at 0: at C2C_E (96) at 0 + 5 + 4 = 9; Send leaves at 13.
  // The inbound vector arrives at 10; Receive at 10 lands on E0 at 14 at C2C_W
  // (0) and reaches MEM_W43 (4) at 18.
  const std::string text = MemoryLine("MEM_E43", 0, Ramp(320, 100, 1)) +
                           "queue MEM_E43\n  @0 Read address=0 dst=E3\n"
                           "queue C2C_E\n  @0 Deskew port=2\n  @9 Send port=2 a=E3\n"
                           "queue C2C_W\n  @0 Deskew port=1\n  @10 Receive port=1 dst=E0\n"
                           "queue MEM_W43\n  @18 Write address=7 a=E0\n";
  TSP_ASSERT_OK_AND_ASSIGN(RunResult result, runner.Run(text, options));
  ASSERT_EQ(result.sent.size(), 1u);
  EXPECT_EQ(result.sent[0].slice, "C2C_E");
  EXPECT_EQ(result.sent[0].port, 2);
  EXPECT_EQ(result.sent[0].departure_cycle, 13);
  EXPECT_EQ(result.sent[0].data, Ramp(320, 100, 1));
  EXPECT_EQ(runner.Memory("MEM_W43", 7), Ramp(320, 5, 2));

  // No back pressure: a Receive one cycle before the arrival is an error ...
  std::string early = text;
  early.replace(early.find("@10 Receive"), 3, "@9 ");
  early.replace(early.find("@18 Write"), 3, "@17");
  EXPECT_THAT(runner.Run(early, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("queue C2C_W, cycle 9, `@9 Receive port=1 dst=E0`: receives on "
                                 "port 1 before any vector has arrived there (the next arrives "
                                 "at cycle 10")));
  // ... and so is an arrival that nothing receives.
  // Without its Deskew, the port carries nothing.
  std::string undeskewed = text;
  undeskewed.replace(undeskewed.find("  @0 Deskew port=1\n"), 19, "");
  EXPECT_THAT(runner.Run(undeskewed, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("uses port 1 of C2C_W before a Deskew aligned it")));
  options.inbound.push_back({"C2C_W", 1, 30, Ramp(320, 0, 0)});
  EXPECT_THAT(runner.Run(text, options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("C2C_W port 1, cycle 30: a vector arrived and no Receive took it")));
}

// ---- ICU --------------------------------------------------------------------

TEST(ChipEmulatorTest, NopHoldsTheQueue) {
  ProgramRunner runner;
  TSP_EXPECT_OK(runner.Run("queue MEM_W0\n  @0 Nop n=4\n  @4 Read address=0 dst=E0\n"));
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Nop n=4\n  @3 Read address=0 dst=E0\n"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cycle 3, `@3 Read address=0 dst=E0`: the queue is busy until "
                                 "cycle 4 with `@0 Nop n=4`")));
}

TEST(ChipEmulatorTest, RepeatEqualsItsExpansion) {
  ProgramRunner runner;
  RunOptions options;
  options.record_trace = true;
  std::string memory;
  for (int a = 0; a < 8; ++a) memory += MemoryLine("MEM_W0", 10 + 2 * a, Ramp(320, a, 1));
  // Reads of 10, 12, ..., 24 at cycles 0, 3, ..., 21; written at MEM_E0 two
  // hops east, 5 + 2 cycles after each read.
  std::string repeated = memory + "queue MEM_W0\n  @0 Read address=10 dst=E0\n  @3 Repeat n=7 every=3 stride=2\n"
                                  "queue MEM_E0\n  @7 Write address=0 a=E0\n  @10 Repeat n=7 every=3 stride=1\n";
  std::string expanded = memory + "queue MEM_W0\n";
  for (int a = 0; a < 8; ++a) absl::StrAppend(&expanded, "  @", 3 * a, " Read address=", 10 + 2 * a, " dst=E0\n");
  expanded += "queue MEM_E0\n";
  for (int a = 0; a < 8; ++a) absl::StrAppend(&expanded, "  @", 7 + 3 * a, " Write address=", a, " a=E0\n");
  TSP_ASSERT_OK_AND_ASSIGN(RunResult with_repeat, runner.Run(repeated, options));
  const std::string repeat_memory = runner.Memory("MEM_E0", 0, 8);
  TSP_ASSERT_OK_AND_ASSIGN(RunResult without, runner.Run(expanded, options));
  EXPECT_EQ(runner.Memory("MEM_E0", 0, 8), repeat_memory);
  EXPECT_EQ(with_repeat.last_event_cycle, without.last_event_cycle);
  EXPECT_EQ(with_repeat.instructions_issued, 16);
  EXPECT_EQ(without.instructions_issued, 16);
  ASSERT_EQ(with_repeat.trace.size(), without.trace.size());
  for (size_t i = 0; i < without.trace.size(); ++i) {
    EXPECT_EQ(with_repeat.trace[i].cycle, without.trace[i].cycle);
    EXPECT_EQ(with_repeat.trace[i].kind, without.trace[i].kind);
  }
  for (int a = 0; a < 8; ++a) EXPECT_EQ(runner.Memory("MEM_E0", a), Ramp(320, a, 1));
  // The queue is busy through the last repetition (cycle 21).
  EXPECT_THAT(runner.Run(memory + "queue MEM_W0\n  @0 Read address=10 dst=E0\n  @3 Repeat n=7 every=3 stride=2\n  @21 Nop n=1\n"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("busy until cycle 22")));
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Repeat n=2 every=1\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Repeat repeats the queue's previous instruction")));
}

TEST(ChipEmulatorTest, SyncParksAQueueUntilANotifyReleasesIt) {
  ProgramRunner runner;
  // Notify at 3 releases at 3 + 1 = 4.
  TSP_EXPECT_OK(runner.Run("queue MEM_W0\n  @0 Sync\n  @4 Read address=0 dst=E0\nqueue MEM_W1\n  @3 Notify\n"));
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Sync\n  @3 Read address=0 dst=E0\nqueue MEM_W1\n  @3 Notify\n"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cycle 3, `@3 Read address=0 dst=E0`: the queue is parked by the "
                                 "Sync at cycle 0 and no Notify has released it (the next "
                                 "release is at cycle 4)")));
  EXPECT_THAT(runner.Run("queue MEM_W0\n  @0 Sync\n  @9 Read address=0 dst=E0\n"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("(none issued since)")));
}

}  // namespace
}  // namespace tsp::emulator
