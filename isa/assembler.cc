#include "isa/assembler.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "isa/element_type.h"
#include "isa/opcode.h"
#include "isa/status_macros.h"

namespace tsp::isa {
namespace {

// The Instruction field that holds an operand: its text key is the field's
// name, except `to`, which is to_type.
const google::protobuf::FieldDescriptor* OperandField(const OperandInfo& operand) {
  // Looked up once: decoding calls this for every operand of every instruction.
  static const auto* const fields = [] {
    auto* table = new std::vector<const google::protobuf::FieldDescriptor*>();
    for (const OperandInfo& info : AllOperands()) {
      const std::string name = info.bit == kOpToType ? "to_type" : std::string(info.key);
      table->push_back(Instruction::descriptor()->FindFieldByName(name));
    }
    return table;
  }();
  return (*fields)[&operand - AllOperands().data()];
}

// The operands an instruction has, as a set of bits, from the generated
// accessors: decoding checks every operand of every instruction of every
// program, and reflection costs several times more.
uint32_t PresentOperands(const Instruction& i) {
  auto bit = [](bool present, OperandBit operand) { return present ? operand : 0u; };
  return bit(i.has_port(), kOpPort) | bit(i.has_address(), kOpAddress) | bit(i.has_row(), kOpRow) |
         bit(i.has_rows(), kOpRows) | bit(i.has_a(), kOpA) | bit(i.has_b(), kOpB) |
         bit(i.has_c(), kOpC) | bit(i.has_amount(), kOpAmount) | bit(i.has_map(), kOpMap) |
         bit(i.to_type() != ELEMENT_TYPE_UNSPECIFIED, kOpToType) | bit(i.has_n(), kOpN) |
         bit(i.has_every(), kOpEvery) | bit(i.has_stride(), kOpStride) | bit(i.has_dst(), kOpDst);
}

bool HasOperand(const Instruction& instruction, const OperandInfo& operand) {
  return (PresentOperands(instruction) & operand.bit) != 0;
}

int64_t IntOperand(const Instruction& instruction, const OperandInfo& operand) {
  return Instruction::GetReflection()->GetInt64(instruction, OperandField(operand));
}

void SetIntOperand(const OperandInfo& operand, int64_t value, Instruction* instruction) {
  Instruction::GetReflection()->SetInt64(instruction, OperandField(operand), value);
}

const StreamRef& GetStream(const Instruction& instruction, const OperandInfo& operand) {
  return static_cast<const StreamRef&>(
      Instruction::GetReflection()->GetMessage(instruction, OperandField(operand)));
}

StreamRef* MutableStream(const OperandInfo& operand, Instruction* instruction) {
  return static_cast<StreamRef*>(
      Instruction::GetReflection()->MutableMessage(instruction, OperandField(operand)));
}

std::string TypeList(uint32_t types) {
  std::vector<std::string> names;
  for (ElementType type : {INT8, UINT8, INT16, INT32, FP16, BF16, FP32}) {
    if (types & TypeBit(type)) names.emplace_back(ElementTypeName(type));
  }
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<StreamRef> ParseStreamRef(absl::string_view text) {
  StreamRef stream;
  if (text.size() < 2 || (text[0] != 'E' && text[0] != 'W')) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a stream; write E<n> (eastward) or W<n> (westward)"));
  }
  int32_t index;
  if (!absl::SimpleAtoi(text.substr(1), &index) || index < 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no valid stream number"));
  }
  stream.set_direction(text[0] == 'E' ? EAST : WEST);
  stream.set_index(index);
  return stream;
}

absl::Status LineError(int line_number, absl::string_view line, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("line ", line_number, " '", line, "': ", status.message()));
}

absl::StatusOr<std::string> ParseHex(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd number of hex digits");
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = digit(hex[i]);
    const int low = digit(hex[i + 1]);
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", hex.substr(i, 2), "' is not hex"));
    }
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

}  // namespace

std::string PrintStreamRef(const StreamRef& stream) {
  return absl::StrCat(stream.direction() == WEST ? "W" : "E", stream.index());
}

absl::Status CheckSignature(const Instruction& instruction) {
  std::optional<Opcode> opcode = InstructionOpcode(instruction);
  if (!opcode.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown opcode number ", instruction.opcode(),
                                                   " (isa/README.md lists the opcodes)"));
  }
  const OpcodeInfo& info = GetOpcodeInfo(*opcode);
  const uint32_t present_operands = PresentOperands(instruction);
  // The common case, checked without walking the operand table.
  const bool operands_ok = (info.required_operands & ~present_operands) == 0 &&
                           (present_operands & ~(info.required_operands | info.optional_operands)) == 0 &&
                           (!instruction.has_a() || instruction.a().direction() != DIRECTION_UNSPECIFIED) &&
                           (!instruction.has_b() || instruction.b().direction() != DIRECTION_UNSPECIFIED) &&
                           (!instruction.has_c() || instruction.c().direction() != DIRECTION_UNSPECIFIED) &&
                           (!instruction.has_dst() || instruction.dst().direction() != DIRECTION_UNSPECIFIED);
  for (const OperandInfo& operand : AllOperands()) {
    if (operands_ok) break;
    const bool present = (present_operands & operand.bit) != 0;
    if ((info.required_operands & operand.bit) && !present) {
      return absl::InvalidArgumentError(
          absl::StrCat(info.mnemonic, " needs operand '", operand.key, "'"));
    }
    if (!((info.required_operands | info.optional_operands) & operand.bit) && present) {
      return absl::InvalidArgumentError(
          absl::StrCat(info.mnemonic, " takes no operand '", operand.key, "'"));
    }
    if (operand.is_stream && present &&
        GetStream(instruction, operand).direction() == DIRECTION_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat(info.mnemonic, " operand '", operand.key, "' has no direction"));
    }
  }
  if (info.allowed_types == kUntyped) {
    if (instruction.type() != ELEMENT_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat(info.mnemonic, " takes no element type, but has .",
                       ElementTypeName(instruction.type())));
    }
  } else if (!(info.allowed_types & TypeBit(instruction.type()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        info.mnemonic, " needs an element type suffix, one of: ", TypeList(info.allowed_types),
        instruction.type() == ELEMENT_TYPE_UNSPECIFIED
            ? std::string()
            : absl::StrCat(" (not ", ElementTypeName(instruction.type()), ")")));
  }
  if (instruction.cycle() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("issue cycle ", instruction.cycle(), " is negative"));
  }
  return absl::OkStatus();
}

std::string PrintInstruction(const Instruction& instruction) {
  std::optional<Opcode> opcode = InstructionOpcode(instruction);
  std::string text = absl::StrCat("@", instruction.cycle(), " ",
                                  opcode.has_value() ? absl::string_view(GetOpcodeInfo(*opcode).mnemonic)
                                                     : absl::string_view("?"));
  if (instruction.type() != ELEMENT_TYPE_UNSPECIFIED) {
    absl::StrAppend(&text, ".", ElementTypeName(instruction.type()));
  }
  for (const OperandInfo& operand : AllOperands()) {
    if (!HasOperand(instruction, operand)) continue;
    absl::StrAppend(&text, " ", operand.key, "=");
    if (operand.is_stream) {
      absl::StrAppend(&text, PrintStreamRef(GetStream(instruction, operand)));
    } else if (operand.bit == kOpToType) {
      absl::StrAppend(&text, ElementTypeName(instruction.to_type()));
    } else {
      absl::StrAppend(&text, IntOperand(instruction, operand));
    }
  }
  return text;
}

absl::StatusOr<Instruction> ParseInstruction(absl::string_view line) {
  std::vector<absl::string_view> tokens =
      absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (tokens.size() < 2 || !absl::ConsumePrefix(&tokens[0], "@")) {
    return absl::InvalidArgumentError("an instruction is '@<cycle> <Opcode>[.<type>] key=value ...'");
  }
  Instruction instruction;
  int64_t cycle;
  if (!absl::SimpleAtoi(tokens[0], &cycle)) {
    return absl::InvalidArgumentError(absl::StrCat("'", tokens[0], "' is not a cycle number"));
  }
  instruction.set_cycle(cycle);
  std::vector<absl::string_view> opcode_parts = absl::StrSplit(tokens[1], '.');
  if (opcode_parts.size() > 2) {
    return absl::InvalidArgumentError(absl::StrCat("'", tokens[1], "' has more than one suffix"));
  }
  std::optional<Opcode> opcode = FindOpcode(opcode_parts[0]);
  if (!opcode.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown opcode '", opcode_parts[0], "' (isa/README.md lists them)"));
  }
  SetInstructionOpcode(*opcode, &instruction);
  if (opcode_parts.size() == 2) {
    std::optional<ElementType> type = ParseElementType(opcode_parts[1]);
    if (!type.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown element type '", opcode_parts[1],
                                                     "' (int8, uint8, int16, int32, fp16, bf16, fp32)"));
    }
    instruction.set_type(*type);
  }
  uint32_t seen = 0;
  for (size_t i = 2; i < tokens.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> key_value =
        absl::StrSplit(tokens[i], absl::MaxSplits('=', 1));
    const OperandInfo* operand = nullptr;
    for (const OperandInfo& candidate : AllOperands()) {
      if (candidate.key == key_value.first) operand = &candidate;
    }
    if (operand == nullptr || key_value.second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", tokens[i], "' is not an operand (key=value with key one of port, "
                                       "address, row, rows, a, b, c, amount, map, to, n, every, "
                                       "stride, dst)"));
    }
    if (seen & operand->bit) {
      return absl::InvalidArgumentError(absl::StrCat("operand '", operand->key, "' given twice"));
    }
    seen |= operand->bit;
    if (operand->is_stream) {
      ASSIGN_OR_RETURN(*MutableStream(*operand, &instruction), ParseStreamRef(key_value.second));
    } else if (operand->bit == kOpToType) {
      std::optional<ElementType> type = ParseElementType(key_value.second);
      if (!type.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown element type '", key_value.second, "'"));
      }
      instruction.set_to_type(*type);
    } else {
      int64_t value;
      if (!absl::SimpleAtoi(key_value.second, &value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("operand '", operand->key, "': '", key_value.second, "' is not an integer"));
      }
      SetIntOperand(*operand, value, &instruction);
    }
  }
  RETURN_IF_ERROR(CheckSignature(instruction));
  return instruction;
}

absl::StatusOr<Program> ParseProgram(absl::string_view text) {
  Program program;
  QueueProgram* queue = nullptr;
  int line_number = 0;
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = raw_line;
    if (size_t comment = line.find('#'); comment != absl::string_view::npos) {
      line = line.substr(0, comment);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "chip ")) {
      program.set_chip(std::string(absl::StripAsciiWhitespace(line)));
    } else if (absl::ConsumePrefix(&line, "queue ")) {
      queue = program.add_queues();
      queue->set_queue(std::string(absl::StripAsciiWhitespace(line)));
    } else if (absl::ConsumePrefix(&line, "lane_map ")) {
      std::pair<absl::string_view, absl::string_view> head_lanes =
          absl::StrSplit(line, absl::MaxSplits(':', 1));
      int index;
      if (!absl::SimpleAtoi(head_lanes.first, &index) || index != program.lane_maps_size()) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError(absl::StrCat(
                             "lane maps must be numbered in order; expected ",
                             program.lane_maps_size())));
      }
      LaneMap* map = program.add_lane_maps();
      for (absl::string_view lane :
           absl::StrSplit(head_lanes.second, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
        int32_t source;
        if (!absl::SimpleAtoi(lane, &source)) {
          return LineError(line_number, raw_line,
                           absl::InvalidArgumentError(absl::StrCat("'", lane, "' is not a lane")));
        }
        map->add_source_lane(source);
      }
    } else if (absl::ConsumePrefix(&line, "memory ")) {
      std::vector<absl::string_view> parts =
          absl::StrSplit(line, absl::ByAnyChar(" \t:"), absl::SkipEmpty());
      int64_t address;
      if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &address)) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError("expected 'memory <slice> <address>: <hex>'"));
      }
      absl::StatusOr<std::string> bytes = ParseHex(parts[2]);
      if (!bytes.ok()) return LineError(line_number, raw_line, bytes.status());
      MemoryImage* image = program.add_memory();
      image->set_slice(std::string(parts[0]));
      image->set_address(address);
      image->set_data(*std::move(bytes));
    } else if (line[0] == '@') {
      if (queue == nullptr) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError("instruction before any 'queue <name>' line"));
      }
      absl::StatusOr<Instruction> instruction = ParseInstruction(line);
      if (!instruction.ok()) return LineError(line_number, raw_line, instruction.status());
      *queue->add_instructions() = *std::move(instruction);
    } else {
      return LineError(line_number, raw_line,
                       absl::InvalidArgumentError(
                           "expected 'chip', 'queue', 'lane_map', 'memory' or an '@<cycle>' "
                           "instruction"));
    }
  }
  return program;
}

std::string PrintProgram(const Program& program) {
  std::string text;
  if (!program.chip().empty()) absl::StrAppend(&text, "chip ", program.chip(), "\n");
  for (int i = 0; i < program.lane_maps_size(); ++i) {
    absl::StrAppend(&text, "lane_map ", i, ":",
                    absl::StrJoin(program.lane_maps(i).source_lane(), " "), "\n");
  }
  for (const MemoryImage& image : program.memory()) {
    absl::StrAppend(&text, "memory ", image.slice(), " ", image.address(), ": ");
    static constexpr char kDigits[] = "0123456789abcdef";
    for (unsigned char byte : image.data()) {
      text.push_back(kDigits[byte >> 4]);
      text.push_back(kDigits[byte & 15]);
    }
    text.push_back('\n');
  }
  for (const QueueProgram& queue : program.queues()) {
    absl::StrAppend(&text, "queue ", queue.queue(), "\n");
    for (const Instruction& instruction : queue.instructions()) {
      absl::StrAppend(&text, "  ", PrintInstruction(instruction), "\n");
    }
  }
  return text;
}

}  // namespace tsp::isa
