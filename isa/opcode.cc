#include "isa/opcode.h"

#include <array>

namespace tsp::isa {
namespace {

constexpr OpcodeInfo kOpcodes[] = {
#define TSP_OPCODE_INFO(name, mnemonic, kind, required, optional, types, large) \
  {Opcode::name, mnemonic, kind, required, optional, types, large},
    TSP_OPCODES(TSP_OPCODE_INFO)
#undef TSP_OPCODE_INFO
};

constexpr OperandInfo kOperands[] = {
    {kOpPort, "port", false},     {kOpAddress, "address", false}, {kOpRow, "row", false},
    {kOpRows, "rows", false},     {kOpA, "a", true},              {kOpB, "b", true},
    {kOpC, "c", true},            {kOpAmount, "amount", false},   {kOpMap, "map", false},
    {kOpToType, "to", false},     {kOpN, "n", false},             {kOpEvery, "every", false},
    {kOpStride, "stride", false}, {kOpDst, "dst", true},
};

}  // namespace

absl::Span<const OpcodeInfo> AllOpcodes() { return kOpcodes; }

const OpcodeInfo& GetOpcodeInfo(Opcode opcode) { return kOpcodes[static_cast<int>(opcode)]; }

std::optional<Opcode> FindOpcode(absl::string_view mnemonic) {
  for (const OpcodeInfo& info : kOpcodes) {
    if (info.mnemonic == mnemonic) return info.opcode;
  }
  return std::nullopt;
}

absl::Span<const OperandInfo> AllOperands() { return kOperands; }

int StreamGroupWidth(Opcode opcode, ElementType type, ElementType to_type, OperandBit bit) {
  switch (opcode) {
    case Opcode::kGather:
    case Opcode::kScatter:
      // The map holds int16 addresses, one per tile; the data is bytes.
      return bit == kOpA ? ElementBytes(INT16) : 1;
    case Opcode::kTranspose:
      return 16;
    case Opcode::kAccumulate:
      return 4;  // int32 or fp32 results.
    case Opcode::kConvert:
      return ElementBytes(bit == kOpDst ? to_type : type);
    case Opcode::kSelect:
    case Opcode::kRead:
    case Opcode::kWrite:
    case Opcode::kAdd:
    case Opcode::kSub:
    case Opcode::kMul:
    case Opcode::kMax:
    case Opcode::kMin:
    case Opcode::kCmpLt:
    case Opcode::kCmpEq:
    case Opcode::kShl:
    case Opcode::kShr:
    case Opcode::kNeg:
    case Opcode::kAbs:
    case Opcode::kRelu:
    case Opcode::kExp:
    case Opcode::kTanh:
    case Opcode::kRsqrt:
    case Opcode::kRecip:
    case Opcode::kLoadWeights:
    case Opcode::kInstallWeights:
    case Opcode::kMultiply:
    case Opcode::kShift:
    case Opcode::kRotate:
    case Opcode::kPermute:
    case Opcode::kDistribute:
    case Opcode::kSend:
    case Opcode::kReceive:
    case Opcode::kDeskew:
    case Opcode::kNop:
    case Opcode::kRepeat:
    case Opcode::kSync:
    case Opcode::kNotify:
      return ElementBytes(type);
  }
  return 1;
}

}  // namespace tsp::isa
