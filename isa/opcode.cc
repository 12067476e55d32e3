#include "isa/opcode.h"

#include <array>

#include "absl/container/flat_hash_map.h"

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
    {kOpStride, "stride", false}, {kOpDst, "dst", true},           {kOpAccumulator, "accumulator", false},
};

}  // namespace

absl::Span<const OpcodeInfo> AllOpcodes() { return kOpcodes; }

const OpcodeInfo& GetOpcodeInfo(Opcode opcode) { return kOpcodes[static_cast<int>(opcode)]; }

std::optional<Opcode> FindOpcode(absl::string_view mnemonic) {
  // Looked up for every instruction compiled and decoded: hashed, not scanned.
  static const auto* const by_mnemonic = [] {
    auto* map = new absl::flat_hash_map<absl::string_view, Opcode>();
    for (const OpcodeInfo& info : kOpcodes) map->emplace(info.mnemonic, info.opcode);
    return map;
  }();
  auto it = by_mnemonic->find(mnemonic);
  if (it == by_mnemonic->end()) return std::nullopt;
  return it->second;
}

std::optional<Opcode> InstructionOpcode(const Instruction& instruction) {
  const int32_t code = instruction.opcode() - 1;
  if (code < 0 || code >= static_cast<int32_t>(std::size(kOpcodes))) return std::nullopt;
  return static_cast<Opcode>(code);
}

void SetInstructionOpcode(Opcode opcode, Instruction* instruction) {
  instruction->set_opcode(static_cast<int32_t>(opcode) + 1);
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
