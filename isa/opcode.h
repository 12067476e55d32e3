#ifndef TSP_ISA_OPCODE_H_
#define TSP_ISA_OPCODE_H_

// The instruction set, defined once. The enum, mnemonic lookup, operand
// signature used by the assembler and the decoder, and the slice kind that
// issues each opcode all come from the TSP_OPCODES table below; its
// functional latency comes from the ChipSpec's timing table by mnemonic.

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "isa/chip_spec.pb.h"
#include "isa/element_type.h"
#include "isa/program.pb.h"

namespace tsp::isa {

// Operand fields of an Instruction (program.proto), as bits of a set.
enum OperandBit : uint32_t {
  kOpPort = 1u << 0,
  kOpAddress = 1u << 1,
  kOpRow = 1u << 2,
  kOpRows = 1u << 3,
  kOpA = 1u << 4,
  kOpB = 1u << 5,
  kOpC = 1u << 6,
  kOpAmount = 1u << 7,
  kOpMap = 1u << 8,
  kOpToType = 1u << 9,
  kOpN = 1u << 10,
  kOpEvery = 1u << 11,
  kOpStride = 1u << 12,
  kOpDst = 1u << 13,
  kOpAccumulator = 1u << 14,
};

inline constexpr uint32_t kIntTypes =
    TypeBit(INT8) | TypeBit(UINT8) | TypeBit(INT16) | TypeBit(INT32);
inline constexpr uint32_t kFloatTypes = TypeBit(FP16) | TypeBit(BF16) | TypeBit(FP32);
inline constexpr uint32_t kAllTypes = kIntTypes | kFloatTypes;
inline constexpr uint32_t kMxmTypes = TypeBit(INT8) | TypeBit(UINT8) | TypeBit(FP16);
inline constexpr uint32_t kUntyped = 0;

// X(enum, mnemonic, slice kind, required operands, optional operands,
//   allowed element types (kUntyped: none), needs a large VXM ALU)
// Semantics and timing of each: isa/README.md.
#define TSP_OPCODES(X)                                                                     \
  /* MEM */                                                                                \
  X(kRead, "Read", SLICE_MEM, kOpAddress | kOpDst, 0, kUntyped, false)                     \
  X(kWrite, "Write", SLICE_MEM, kOpAddress | kOpA, 0, kUntyped, false)                     \
  X(kGather, "Gather", SLICE_MEM, kOpA | kOpDst, 0, kUntyped, false)                       \
  X(kScatter, "Scatter", SLICE_MEM, kOpA | kOpB, 0, kUntyped, false)                       \
  /* VXM */                                                                                \
  X(kAdd, "Add", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, false)                     \
  X(kSub, "Sub", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, false)                     \
  X(kMul, "Mul", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, false)                     \
  X(kMax, "Max", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, true)                      \
  X(kMin, "Min", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, true)                      \
  X(kCmpLt, "CmpLt", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, false)                 \
  X(kCmpEq, "CmpEq", SLICE_VXM, kOpA | kOpB | kOpDst, 0, kAllTypes, false)                 \
  X(kSelect, "Select", SLICE_VXM, kOpA | kOpB | kOpC | kOpDst, 0, kAllTypes, false)        \
  X(kShl, "Shl", SLICE_VXM, kOpA | kOpAmount | kOpDst, 0, kIntTypes, false)                \
  X(kShr, "Shr", SLICE_VXM, kOpA | kOpAmount | kOpDst, 0, kIntTypes, false)                \
  X(kNeg, "Neg", SLICE_VXM, kOpA | kOpDst, 0, kAllTypes, false)                            \
  X(kAbs, "Abs", SLICE_VXM, kOpA | kOpDst, 0, kAllTypes, false)                            \
  X(kRelu, "Relu", SLICE_VXM, kOpA | kOpDst, 0, kAllTypes, false)                          \
  X(kConvert, "Convert", SLICE_VXM, kOpA | kOpToType | kOpDst, 0, kAllTypes, false)        \
  X(kExp, "Exp", SLICE_VXM, kOpA | kOpDst, 0, kFloatTypes, false)                          \
  X(kTanh, "Tanh", SLICE_VXM, kOpA | kOpDst, 0, kFloatTypes, false)                        \
  X(kRsqrt, "Rsqrt", SLICE_VXM, kOpA | kOpDst, 0, kFloatTypes, false)                      \
  X(kRecip, "Recip", SLICE_VXM, kOpA | kOpDst, 0, kFloatTypes, false)                      \
  /* MXM */                                                                                \
  X(kLoadWeights, "LoadWeights", SLICE_MXM, kOpRow | kOpA, kOpRows, kMxmTypes, false)      \
  X(kInstallWeights, "InstallWeights", SLICE_MXM, 0, 0, kUntyped, false)                   \
  X(kMultiply, "Multiply", SLICE_MXM, kOpA, kOpAccumulator, kMxmTypes, false)              \
  X(kAccumulate, "Accumulate", SLICE_MXM, kOpDst, kOpAccumulator, kUntyped, false)         \
  /* SXM */                                                                                \
  X(kShift, "Shift", SLICE_SXM, kOpA | kOpAmount | kOpDst, 0, kAllTypes, false)            \
  X(kRotate, "Rotate", SLICE_SXM, kOpA | kOpAmount | kOpDst, 0, kAllTypes, false)          \
  X(kPermute, "Permute", SLICE_SXM, kOpA | kOpMap | kOpDst, 0, kAllTypes, false)           \
  X(kDistribute, "Distribute", SLICE_SXM, kOpA | kOpMap | kOpDst, 0, kAllTypes, false)     \
  X(kTranspose, "Transpose", SLICE_SXM, kOpA | kOpDst, 0, kUntyped, false)                 \
  /* C2C */                                                                                \
  X(kSend, "Send", SLICE_C2C, kOpPort | kOpA, 0, kUntyped, false)                          \
  X(kReceive, "Receive", SLICE_C2C, kOpPort | kOpDst, 0, kUntyped, false)                  \
  X(kDeskew, "Deskew", SLICE_C2C, kOpPort, 0, kUntyped, false)                             \
  /* ICU: every queue */                                                                   \
  X(kNop, "Nop", SLICE_ICU, kOpN, 0, kUntyped, false)                                      \
  X(kRepeat, "Repeat", SLICE_ICU, kOpN | kOpEvery, kOpStride, kUntyped, false)             \
  X(kSync, "Sync", SLICE_ICU, 0, 0, kUntyped, false)                                       \
  X(kNotify, "Notify", SLICE_ICU, 0, 0, kUntyped, false)

enum class Opcode : int {
#define TSP_OPCODE_ENUM(name, mnemonic, kind, required, optional, types, large) name,
  TSP_OPCODES(TSP_OPCODE_ENUM)
#undef TSP_OPCODE_ENUM
};

struct OpcodeInfo {
  Opcode opcode;
  absl::string_view mnemonic;
  SliceKind kind;
  uint32_t required_operands;
  uint32_t optional_operands;
  uint32_t allowed_types;  // kUntyped: the instruction takes no type suffix.
  bool needs_large_alu;
};

// Every opcode, in table order.
absl::Span<const OpcodeInfo> AllOpcodes();
const OpcodeInfo& GetOpcodeInfo(Opcode opcode);
std::optional<Opcode> FindOpcode(absl::string_view mnemonic);
// The opcode an Instruction holds (none when unset or out of range).
std::optional<Opcode> InstructionOpcode(const Instruction& instruction);
void SetInstructionOpcode(Opcode opcode, Instruction* instruction);

// The width in streams of the stream group operand `bit` of an instruction of
// `opcode` with element type `type` (and result type `to_type` for Convert):
// e.g. 4 for Add.fp32's a, 2 for Gather's map (int16 addresses), 16 for
// Transpose, 4 for Accumulate's dst (int32 or fp32 results).
int StreamGroupWidth(Opcode opcode, ElementType type, ElementType to_type, OperandBit bit);

// The operand fields, in the order the text form prints them.
struct OperandInfo {
  OperandBit bit;
  absl::string_view key;  // As written in the text form: "address", "dst", ...
  bool is_stream;
};
absl::Span<const OperandInfo> AllOperands();

}  // namespace tsp::isa

#endif  // TSP_ISA_OPCODE_H_
