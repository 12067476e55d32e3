#include "isa/assembler.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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
         bit(i.has_every(), kOpEvery) | bit(i.has_stride(), kOpStride) | bit(i.has_dst(), kOpDst) |
         bit(i.has_accumulator(), kOpAccumulator);
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

// The intent fields as the text form writes them ("a<-VXM.0@12"), in print
// order: the lists (stream groups, a Read's memory), then the single sources.
struct IntentList {
  absl::string_view key;
  const Sources& (Intent::*get)() const;
  Sources* (Intent::*mutable_list)();
};
constexpr IntentList kIntentLists[] = {
    {"a", &Intent::a, &Intent::mutable_a},
    {"b", &Intent::b, &Intent::mutable_b},
    {"c", &Intent::c, &Intent::mutable_c},
    {"memory", &Intent::memory, &Intent::mutable_memory},
};
struct IntentKey {
  absl::string_view key;
  bool (Intent::*has)() const;
  const Source& (Intent::*get)() const;
  Source* (Intent::*mutable_source)();
};
constexpr IntentKey kIntentKeys[] = {
    {"loads", &Intent::has_loads, &Intent::loads, &Intent::mutable_loads},
    {"weights", &Intent::has_weights, &Intent::weights, &Intent::mutable_weights},
    {"products", &Intent::has_products, &Intent::products, &Intent::mutable_products},
    {"sent", &Intent::has_sent, &Intent::sent, &Intent::mutable_sent},
};

// A queue by name ("VXM.0") when `program` is given and the name is
// unambiguous, else by its index ("%4"). `names` counts each name's queues.
std::string PrintQueue(int32_t queue, const Program* program, const absl::flat_hash_map<std::string, int>* names) {
  if (program != nullptr && queue >= 0 && queue < program->queues_size()) {
    const std::string& name = program->queues(queue).queue();
    const bool unique = names != nullptr ? names->at(name) == 1 : [&] {
      int same = 0;
      for (const QueueProgram& other : program->queues()) same += other.queue() == name ? 1 : 0;
      return same == 1;
    }();
    if (unique && !name.empty()) return name;
  }
  return absl::StrCat("%", queue);
}

// "VXM.0@12", "MXM_W.2@40*8", "chip3:C2C_E@900".
std::string PrintSource(const Source& source, const Program* program,
                        const absl::flat_hash_map<std::string, int>* names = nullptr) {
  std::string text = source.has_chip() ? absl::StrCat("chip", source.chip(), ":", source.remote_queue())
                                       : PrintQueue(source.queue(), program, names);
  absl::StrAppend(&text, "@", source.cycle());
  if (source.count() != 0) absl::StrAppend(&text, "*", source.count());
  return text;
}

// "VXM.0@12,MEM_E0@9,initial:16,initial".
std::string PrintSources(const Sources& sources, const Program* program,
                         const absl::flat_hash_map<std::string, int>* names) {
  std::string text;
  for (int i = 0; i < sources.queue_size(); ++i) {
    if (i > 0) text += ",";
    const int64_t at = i < sources.at_size() ? sources.at(i) : 0;
    if (sources.queue(i) == -1) {
      absl::StrAppend(&text, at < 0 ? "initial" : absl::StrCat("initial:", at));
    } else {
      absl::StrAppend(&text, PrintQueue(sources.queue(i), program, names), "@", at);
    }
  }
  return text;
}

absl::StatusOr<Source> ParseSource(absl::string_view text, absl::Span<const std::string> queue_names) {
  Source source;
  const size_t at = text.rfind('@');
  if (at == absl::string_view::npos || at == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text,
                     "' is not a source; write QUEUE@CYCLE[*COUNT] or chipN:QUEUE@CYCLE (a Read's memory<- also "
                     "takes initial[:ADDRESS])"));
  }
  absl::string_view queue = text.substr(0, at);
  absl::string_view cycle_text = text.substr(at + 1);
  absl::string_view count_text;
  if (size_t star = cycle_text.find('*'); star != absl::string_view::npos) {
    count_text = cycle_text.substr(star + 1);
    cycle_text = cycle_text.substr(0, star);
  }
  int64_t cycle;
  if (!absl::SimpleAtoi(cycle_text, &cycle) || cycle < 0) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "': '", cycle_text, "' is not a cycle"));
  }
  source.set_cycle(cycle);
  if (!count_text.empty()) {
    int64_t count;
    if (!absl::SimpleAtoi(count_text, &count) || count <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': '", count_text, "' is not a count"));
    }
    source.set_count(count);
  }
  if (absl::ConsumePrefix(&queue, "chip")) {
    const size_t colon = queue.find(':');
    int32_t chip;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(queue.substr(0, colon), &chip) || chip < 0 ||
        colon + 1 == queue.size()) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': a remote source is chipN:QUEUE@CYCLE"));
    }
    source.set_chip(chip);
    source.set_remote_queue(std::string(queue.substr(colon + 1)));
    return source;
  }
  if (absl::ConsumePrefix(&queue, "%")) {
    int32_t index;
    if (!absl::SimpleAtoi(queue, &index) || index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "': '%", queue, "' is not a queue index"));
    }
    source.set_queue(index);
    return source;
  }
  for (size_t i = 0; i < queue_names.size(); ++i) {
    if (queue_names[i] == queue) {
      source.set_queue(static_cast<int32_t>(i));
      return source;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' names queue '", queue, "', which this program does not have (a source names a queue of "
      "its own program, or chipN:QUEUE for a Receive's Send)"));
}

// Parses "key<-source" into the instruction's intent.
absl::Status ParseIntentToken(absl::string_view token, absl::Span<const std::string> queue_names,
                              Instruction* instruction) {
  const size_t arrow = token.find("<-");
  const absl::string_view key = token.substr(0, arrow);
  const absl::string_view value = token.substr(arrow + 2);
  Intent* intent = instruction->mutable_intent();
  for (const IntentList& candidate : kIntentLists) {
    if (candidate.key != key) continue;
    Sources* list = (intent->*candidate.mutable_list)();
    if (list->queue_size() > 0) return absl::InvalidArgumentError(absl::StrCat("intent '", key, "' given twice"));
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      if (absl::ConsumePrefix(&part, "initial")) {
        int64_t address = -1;
        if (!part.empty() && (!absl::ConsumePrefix(&part, ":") || !absl::SimpleAtoi(part, &address) || address < 0)) {
          return absl::InvalidArgumentError(absl::StrCat("'initial", part, "': write initial or initial:ADDRESS"));
        }
        list->add_queue(-1);
        list->add_at(address);
        continue;
      }
      ASSIGN_OR_RETURN(const Source source, ParseSource(part, queue_names));
      if (source.has_chip() || source.count() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", part, "': an entry of '", key, "' is QUEUE@CYCLE or initial[:ADDRESS]"));
      }
      list->add_queue(source.queue());
      list->add_at(source.cycle());
    }
    return absl::OkStatus();
  }
  for (const IntentKey& candidate : kIntentKeys) {
    if (candidate.key != key) continue;
    if ((intent->*candidate.has)()) {
      return absl::InvalidArgumentError(absl::StrCat("intent '", key, "' given twice"));
    }
    ASSIGN_OR_RETURN(*(intent->*candidate.mutable_source)(), ParseSource(value, queue_names));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", token, "' is not an intent (key<-source with key one of a, b, c, memory, loads, weights, products, "
      "sent)"));
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

namespace {
// `queue_names` (null: counted here) counts the program's queues by name.
std::string PrintInstructionIn(const Instruction& instruction, const Program* program,
                               const absl::flat_hash_map<std::string, int>* queue_names) {
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
  if (instruction.has_intent()) {
    const Intent& intent = instruction.intent();
    for (const IntentList& list : kIntentLists) {
      if ((intent.*list.get)().queue_size() == 0) continue;
      absl::StrAppend(&text, " ", list.key, "<-", PrintSources((intent.*list.get)(), program, queue_names));
    }
    for (const IntentKey& key : kIntentKeys) {
      if ((intent.*key.has)()) {
        absl::StrAppend(&text, " ", key.key, "<-", PrintSource((intent.*key.get)(), program, queue_names));
      }
    }
  }
  return text;
}
}  // namespace

std::string PrintInstruction(const Instruction& instruction, const Program* program) {
  return PrintInstructionIn(instruction, program, nullptr);
}

absl::StatusOr<Instruction> ParseInstruction(absl::string_view line, absl::Span<const std::string> queue_names) {
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
    if (absl::StrContains(tokens[i], "<-")) {
      RETURN_IF_ERROR(ParseIntentToken(tokens[i], queue_names, &instruction));
      continue;
    }
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
  // Sources name queues that may come later in the text: their names first.
  std::vector<std::string> queue_names;
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    absl::string_view line = absl::StripAsciiWhitespace(raw_line.substr(0, raw_line.find('#')));
    if (absl::ConsumePrefix(&line, "queue ")) queue_names.emplace_back(absl::StripAsciiWhitespace(line));
  }
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
    } else if (absl::ConsumePrefix(&line, "output ")) {
      // output SLICE ADDRESS<-SOURCE
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      const size_t arrow = parts.size() == 2 ? parts[1].find("<-") : absl::string_view::npos;
      int64_t address;
      if (arrow == absl::string_view::npos || !absl::SimpleAtoi(parts[1].substr(0, arrow), &address)) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError("expected 'output <slice> <address><-<queue>@<cycle>'"));
      }
      absl::StatusOr<Source> source = ParseSource(parts[1].substr(arrow + 2), queue_names);
      if (!source.ok()) return LineError(line_number, raw_line, source.status());
      Output* output = program.add_outputs();
      output->set_slice(std::string(parts[0]));
      output->set_address(address);
      *output->mutable_written_by() = *std::move(source);
    } else if (line[0] == '@') {
      if (queue == nullptr) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError("instruction before any 'queue <name>' line"));
      }
      absl::StatusOr<Instruction> instruction = ParseInstruction(line, queue_names);
      if (!instruction.ok()) return LineError(line_number, raw_line, instruction.status());
      *queue->add_instructions() = *std::move(instruction);
    } else {
      return LineError(line_number, raw_line,
                       absl::InvalidArgumentError(
                           "expected 'chip', 'queue', 'lane_map', 'memory', 'output' or an '@<cycle>' "
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
  absl::flat_hash_map<std::string, int> queue_names;
  for (const QueueProgram& queue : program.queues()) ++queue_names[queue.queue()];
  for (const Output& output : program.outputs()) {
    absl::StrAppend(&text, "output ", output.slice(), " ", output.address(), "<-",
                    PrintSource(output.written_by(), &program, &queue_names), "\n");
  }
  for (const QueueProgram& queue : program.queues()) {
    absl::StrAppend(&text, "queue ", queue.queue(), "\n");
    for (const Instruction& instruction : queue.instructions()) {
      absl::StrAppend(&text, "  ", PrintInstructionIn(instruction, &program, &queue_names), "\n");
    }
  }
  return text;
}

bool IsSystemProgramText(absl::string_view text) {
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    absl::string_view line = absl::StripAsciiWhitespace(raw_line.substr(0, raw_line.find('#')));
    if (line.empty()) continue;
    return absl::StartsWith(line, "program ") || absl::StartsWith(line, "predicted_last_event_cycle ");
  }
  return false;
}

absl::StatusOr<SystemProgram> ParseSystemProgram(absl::string_view text) {
  SystemProgram system;
  // Each chip's lines, with the line number of the first, parsed as one program.
  int line_number = 0;
  int chip = -1;
  int first_line = 0;
  std::string lines;
  auto finish = [&]() -> absl::Status {
    if (chip < 0) return absl::OkStatus();
    absl::StatusOr<Program> program = ParseProgram(lines);
    if (!program.ok()) {
      return absl::Status(program.status().code(),
                          absl::StrCat("program ", chip, " (from line ", first_line, "), ", program.status().message()));
    }
    (*system.mutable_chips())[chip] = *std::move(program);
    lines.clear();
    return absl::OkStatus();
  };
  for (absl::string_view raw_line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view line = absl::StripAsciiWhitespace(raw_line.substr(0, raw_line.find('#')));
    if (absl::ConsumePrefix(&line, "predicted_last_event_cycle ")) {
      int64_t cycle;
      if (chip >= 0 || !absl::SimpleAtoi(line, &cycle)) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError("expected 'predicted_last_event_cycle <cycle>' before any program"));
      }
      system.set_predicted_last_event_cycle(cycle);
      continue;
    }
    if (absl::ConsumePrefix(&line, "program ")) {
      RETURN_IF_ERROR(finish());
      if (!absl::SimpleAtoi(line, &chip) || chip < 0) {
        return LineError(line_number, raw_line, absl::InvalidArgumentError("expected 'program <chip id>'"));
      }
      if (system.chips().contains(chip)) {
        return LineError(line_number, raw_line,
                         absl::InvalidArgumentError(absl::StrCat("chip ", chip, " has a program already")));
      }
      first_line = line_number + 1;
      continue;
    }
    if (line.empty()) {
      lines.push_back('\n');  // Keeps the chip's line numbers.
      continue;
    }
    if (chip < 0) {
      return LineError(line_number, raw_line,
                       absl::InvalidArgumentError("a system's text starts each chip's program with 'program <chip id>'"));
    }
    absl::StrAppend(&lines, raw_line, "\n");
  }
  RETURN_IF_ERROR(finish());
  return system;
}

std::string PrintSystemProgram(const SystemProgram& system) {
  std::string text;
  if (system.predicted_last_event_cycle() != 0) {
    absl::StrAppend(&text, "predicted_last_event_cycle ", system.predicted_last_event_cycle(), "\n");
  }
  std::vector<int> chips;
  for (const auto& [chip, program] : system.chips()) chips.push_back(chip);
  std::sort(chips.begin(), chips.end());
  for (int chip : chips) absl::StrAppend(&text, "program ", chip, "\n", PrintProgram(system.chips().at(chip)));
  return text;
}

}  // namespace tsp::isa
