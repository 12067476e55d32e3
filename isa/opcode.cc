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
  // Operands whose width is not the element type's.
  if (opcode == Opcode::kGather || opcode == Opcode::kScatter) {
    return bit == kOpA ? ElementBytes(INT16) : 1;  // The map holds int16 addresses.
  }
  if (opcode == Opcode::kTranspose) return 16;
  if (opcode == Opcode::kAccumulate) return 4;  // int32 or fp32 results.
  if (opcode == Opcode::kConvert && bit == kOpDst) return ElementBytes(to_type);
  return ElementBytes(type);
}

}  // namespace tsp::isa
