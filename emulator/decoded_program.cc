#include "emulator/decoded_program.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/assembler.h"
#include "isa/element_type.h"
#include "isa/fetch_ahead.h"
#include "isa/status_macros.h"

namespace tsp::emulator {
namespace {

using isa::ChipModel;
using isa::ElementType;
using isa::Opcode;
using isa::OpcodeInfo;

// A group CheckGroup has accepted (within the chip's streams, so int16).
StreamGroup ToGroup(const isa::StreamRef& ref, int64_t width) {
  return StreamGroup{ref.direction(), static_cast<int16_t>(ref.index()), static_cast<int16_t>(width)};
}

class Decoder {
 public:
  Decoder(const ChipModel& chip, const isa::Program& program, const std::string& chip_label)
      : chip_(chip), program_(&program), chip_label_(chip_label) {}

  absl::Status Error(const DecodedQueue& queue, const isa::Instruction& instruction,
                     absl::string_view cause) const {
    return absl::InvalidArgumentError(absl::StrCat(
        chip_label_, ", queue ", chip_.queues()[queue.queue].name, ", cycle ", instruction.cycle(),
        ", `", isa::PrintInstruction(instruction, program_), "`: ", cause));
  }

  // `width`: the group's streams as the instruction takes them (a
  // LoadWeights' rows times its width).
  absl::Status CheckGroup(const DecodedQueue& queue, const isa::Instruction& instruction, absl::string_view operand,
                          const isa::StreamRef& ref, int64_t width) const {
    if (width == 0) return absl::OkStatus();
    if (ref.index() < 0 || ref.index() + width > chip_.streams_per_direction()) {
      return Error(queue, instruction,
                   absl::StrCat("operand ", operand, " uses streams ", ref.index(), "..", ref.index() + width - 1,
                                ", beyond the chip's ", chip_.streams_per_direction(), " streams per direction"));
    }
    return absl::OkStatus();
  }

  // The immediates are decoded to 32 bits: wider ones are no program's.
  absl::Status CheckImmediates(const DecodedQueue& queue, const isa::Instruction& instruction) const {
    const std::pair<absl::string_view, int64_t> fields[] = {{"address", instruction.address()},
                                                            {"row", instruction.row()},
                                                            {"rows", instruction.rows()},
                                                            {"amount", instruction.amount()},
                                                            {"map", instruction.map()},
                                                            {"port", instruction.port()},
                                                            {"n", instruction.n()},
                                                            {"every", instruction.every()},
                                                            {"stride", instruction.stride()},
                                                            {"accumulator", instruction.accumulator()}};
    for (const auto& [name, value] : fields) {
      if (value < INT32_MIN || value > INT32_MAX) {
        return Error(queue, instruction,
                     absl::StrCat(name, "=", value, " does not fit in 32 bits (", INT32_MIN, "..", INT32_MAX, ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<DecodedInstruction> Decode(const isa::Program& program, const DecodedQueue& queue,
                                            const isa::Instruction& instruction,
                                            const DecodedInstruction* previous) const {
    absl::Status signature = isa::CheckSignature(instruction);
    if (!signature.ok()) return Error(queue, instruction, signature.message());
    const Opcode opcode = *isa::InstructionOpcode(instruction);
    const OpcodeInfo& info = isa::GetOpcodeInfo(opcode);
    const isa::SliceInfo& slice = chip_.slices()[queue.slice];
    if (info.kind != isa::SLICE_ICU && info.kind != slice.kind) {
      return Error(queue, instruction,
                   absl::StrCat(info.mnemonic, " is a ", isa::SliceKindName(info.kind),
                                " instruction; slice ", slice.name, " is ",
                                isa::SliceKindName(slice.kind), " and does not have it"));
    }
    DecodedInstruction decoded;
    decoded.opcode = opcode;
    decoded.type = instruction.type();
    decoded.to_type = instruction.to_type();
    decoded.cycle = instruction.cycle();
    RETURN_IF_ERROR(CheckImmediates(queue, instruction));
    decoded.address = static_cast<int32_t>(instruction.address());
    decoded.row = static_cast<int32_t>(instruction.row());
    decoded.rows = instruction.has_rows() ? static_cast<int32_t>(instruction.rows()) : 1;
    decoded.amount = static_cast<int32_t>(instruction.amount());
    decoded.map = static_cast<int32_t>(instruction.map());
    decoded.port = static_cast<int32_t>(instruction.port());
    decoded.n = static_cast<int32_t>(instruction.n());
    decoded.every = static_cast<int32_t>(instruction.every());
    decoded.stride = static_cast<int32_t>(instruction.stride());
    decoded.accumulator = static_cast<int32_t>(instruction.accumulator());
    if (opcode == Opcode::kLoadWeights && (decoded.rows < 1 || decoded.rows > chip_.max_weight_rows_per_load())) {
      return Error(queue, instruction,
                   absl::StrCat("rows=", decoded.rows, " is outside 1..", chip_.max_weight_rows_per_load(),
                                " (rows one LoadWeights takes from the streams)"));
    }
    auto width = [&](isa::OperandBit bit) -> int64_t {
      const int64_t streams = isa::StreamGroupWidth(opcode, decoded.type, decoded.to_type, bit);
      return bit == isa::kOpA && opcode == Opcode::kLoadWeights ? streams * decoded.rows : streams;
    };
    struct Operand {
      absl::string_view name;
      isa::OperandBit bit;
      bool (isa::Instruction::*present)() const;
      const isa::StreamRef& (isa::Instruction::*ref)() const;
      StreamGroup DecodedInstruction::*group;
    };
    static constexpr Operand kOperands[] = {
        {"a", isa::kOpA, &isa::Instruction::has_a, &isa::Instruction::a, &DecodedInstruction::a},
        {"b", isa::kOpB, &isa::Instruction::has_b, &isa::Instruction::b, &DecodedInstruction::b},
        {"c", isa::kOpC, &isa::Instruction::has_c, &isa::Instruction::c, &DecodedInstruction::c},
        {"dst", isa::kOpDst, &isa::Instruction::has_dst, &isa::Instruction::dst, &DecodedInstruction::dst}};
    for (const Operand& operand : kOperands) {
      if (!(instruction.*operand.present)()) continue;
      const isa::StreamRef& ref = (instruction.*operand.ref)();
      const int64_t streams = width(operand.bit);
      RETURN_IF_ERROR(CheckGroup(queue, instruction, operand.name, ref, streams));
      decoded.*operand.group = ToGroup(ref, streams);
    }

    if (opcode == Opcode::kLoadWeights) {
      if (decoded.type == isa::FP16 && slice.kind_index % 2 != 0) {
        return Error(queue, instruction,
                     absl::StrCat("fp16 weights occupy a pair of planes and are loaded through "
                                  "the pair's first plane, ",
                                  chip_.slices()[queue.slice - 1].name, ", not ", slice.name));
      }
    }
    if (opcode == Opcode::kMultiply && decoded.type == isa::FP16 && slice.kind_index % 2 != 0) {
      return Error(queue, instruction,
                   absl::StrCat("fp16 multiplies run on the pair's first plane, ",
                                chip_.slices()[queue.slice - 1].name));
    }

    const int element_bits = 8 * isa::ElementBytes(decoded.type);
    switch (opcode) {
      case Opcode::kShl:
      case Opcode::kShr:
        if (decoded.amount < 0 || decoded.amount >= element_bits) {
          return Error(queue, instruction,
                       absl::StrCat("shift amount ", decoded.amount, " is outside 0..",
                                    element_bits - 1));
        }
        break;
      case Opcode::kShift:
      case Opcode::kRotate:
        if (decoded.amount <= -chip_.lanes() || decoded.amount >= chip_.lanes()) {
          return Error(queue, instruction,
                       absl::StrCat("lane shift ", decoded.amount, " is outside -",
                                    chip_.lanes() - 1, "..", chip_.lanes() - 1));
        }
        break;
      case Opcode::kPermute:
      case Opcode::kDistribute: {
        const int size = opcode == Opcode::kPermute ? chip_.lanes() : chip_.lanes_per_superlane();
        if (decoded.map < 0 || decoded.map >= program.lane_maps_size()) {
          return Error(queue, instruction,
                       absl::StrCat("lane map ", decoded.map, " does not exist (the program has ",
                                    program.lane_maps_size(), ")"));
        }
        const isa::LaneMap& map = program.lane_maps(static_cast<int>(decoded.map));
        if (map.source_lane_size() != size) {
          return Error(queue, instruction,
                       absl::StrCat("lane map ", decoded.map, " has ", map.source_lane_size(),
                                    " entries; ", info.mnemonic, " needs ", size));
        }
        for (int32_t lane : map.source_lane()) {
          if (lane < -1 || lane >= size) {
            return Error(queue, instruction,
                         absl::StrCat("lane map ", decoded.map, " names lane ", lane,
                                      ", outside -1..", size - 1));
          }
        }
        break;
      }
      case Opcode::kMax:
      case Opcode::kMin:
      case Opcode::kConvert: {
        const bool needs_large =
            info.needs_large_alu ||
            (opcode == Opcode::kConvert && decoded.type == isa::FP32 && decoded.to_type == isa::FP16);
        const int alu = chip_.queues()[queue.queue].index_in_slice;
        if (needs_large && !chip_.IsLargeAlu(alu)) {
          return Error(queue, instruction,
                       absl::StrCat("VXM ALU ", alu, " is a small ALU; this operation needs a "
                                    "large one (see vxm.large_alus in the chip spec)"));
        }
        break;
      }
      case Opcode::kSend:
      case Opcode::kReceive:
      case Opcode::kDeskew:
        if (decoded.port < 0 || decoded.port >= chip_.c2c_ports_per_slice()) {
          return Error(queue, instruction,
                       absl::StrCat("port ", decoded.port, " is outside 0..",
                                    chip_.c2c_ports_per_slice() - 1));
        }
        break;
      case Opcode::kNop:
        if (decoded.n < 1) return Error(queue, instruction, "Nop needs n >= 1");
        break;
      case Opcode::kRepeat:
        if (decoded.n < 1 || decoded.every < 1) {
          return Error(queue, instruction, "Repeat needs n >= 1 and every >= 1");
        }
        if (previous == nullptr ||
            isa::GetOpcodeInfo(previous->opcode).kind == isa::SLICE_ICU) {
          return Error(queue, instruction,
                       "Repeat repeats the queue's previous instruction, and there is none "
                       "(or it is itself an ICU instruction)");
        }
        break;
      // Nothing to check beyond the signature and the stream ranges.
      case Opcode::kRead: case Opcode::kWrite: case Opcode::kGather: case Opcode::kScatter:
      case Opcode::kAdd: case Opcode::kSub: case Opcode::kMul: case Opcode::kCmpLt:
      case Opcode::kCmpEq: case Opcode::kSelect: case Opcode::kNeg: case Opcode::kAbs:
      case Opcode::kRelu: case Opcode::kExp: case Opcode::kTanh: case Opcode::kRsqrt:
      case Opcode::kRecip: case Opcode::kLoadWeights: case Opcode::kInstallWeights:
      case Opcode::kMultiply: case Opcode::kAccumulate:
      case Opcode::kSync: case Opcode::kNotify:
        break;
      case Opcode::kTranspose:
        if (chip_.lanes_per_superlane() != 16) {
          return Error(queue, instruction,
                       absl::StrCat("Transpose exchanges 16 streams with the 16 lanes of a "
                                    "superlane; this chip has ",
                                    chip_.lanes_per_superlane(), " lanes per superlane"));
        }
        break;
    }
    if (instruction.has_intent()) {
      RETURN_IF_ERROR(CheckIntent(program, queue, instruction, decoded));
      decoded.intent = &instruction.intent();
    }
    if (opcode == Opcode::kRepeat && previous != nullptr && previous->intent != nullptr &&
        previous->intent->memory().queue_size() > 1 && previous->intent->memory().queue_size() != decoded.n + 1) {
      return Error(queue, instruction,
                   absl::StrCat("the Read before it names ", previous->intent->memory().queue_size(),
                                " memory sources, but it and this Repeat read ", decoded.n + 1,
                                " times (one source each, or one for all)"));
    }
    return decoded;
  }

 private:
  absl::Status CheckIntent(const isa::Program& program, const DecodedQueue& queue,
                           const isa::Instruction& instruction, const DecodedInstruction& decoded) const {
    const isa::Intent& intent = instruction.intent();
    auto check_source = [&](absl::string_view key, const isa::Source& source) -> absl::Status {
      if (source.has_chip()) return absl::OkStatus();
      if (source.queue() < 0 || source.queue() >= program.queues_size()) {
        return Error(queue, instruction,
                     absl::StrCat("intent ", key, " names queue index ", source.queue(), "; the program has ",
                                  program.queues_size(), " queues"));
      }
      return absl::OkStatus();
    };
    auto check_list = [&](absl::string_view key, const isa::Sources& sources) -> absl::Status {
      if (sources.at_size() != sources.queue_size()) {
        return Error(queue, instruction,
                     absl::StrCat("intent ", key, " has ", sources.queue_size(), " queues and ", sources.at_size(),
                                  " cycles (one each per source)"));
      }
      const bool initial_allowed = key == "memory";
      for (const int32_t index : sources.queue()) {
        if (index == -1 && initial_allowed) continue;
        if (index < 0 || index >= program.queues_size()) {
          return Error(queue, instruction,
                       index == -1 ? absl::StrCat("intent ", key,
                                                  ": a stream value is made by an instruction of "
                                                  "this chip, not the initial contents")
                                   : absl::StrCat("intent ", key, " names queue index ", index, "; the program has ",
                                                  program.queues_size(), " queues"));
        }
      }
      return absl::OkStatus();
    };
    auto check_group = [&](absl::string_view key, const isa::Sources& sources,
                           const StreamGroup& group) -> absl::Status {
      if (sources.queue_size() == 0) return absl::OkStatus();
      if (group.width == 0) {
        return Error(queue, instruction, absl::StrCat("intent ", key, " for an operand it does not have"));
      }
      if (sources.queue_size() != 1 && sources.queue_size() != group.width) {
        return Error(queue, instruction,
                     absl::StrCat("intent ", key, " names ", sources.queue_size(), " sources for a group of ",
                                  group.width, " streams (one for the whole group, or one per stream)"));
      }
      return check_list(key, sources);
    };
    RETURN_IF_ERROR(check_group("a", intent.a(), decoded.a));
    RETURN_IF_ERROR(check_group("b", intent.b(), decoded.b));
    RETURN_IF_ERROR(check_group("c", intent.c(), decoded.c));
    auto only_for = [&](bool present, absl::string_view key, Opcode opcode) -> absl::Status {
      if (present && decoded.opcode != opcode) {
        return Error(queue, instruction,
                     absl::StrCat("intent ", key, " is for ", isa::GetOpcodeInfo(opcode).mnemonic, " only"));
      }
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(only_for(intent.memory().queue_size() > 0, "memory", Opcode::kRead));
    RETURN_IF_ERROR(only_for(intent.has_loads(), "loads", Opcode::kInstallWeights));
    RETURN_IF_ERROR(only_for(intent.has_weights(), "weights", Opcode::kMultiply));
    RETURN_IF_ERROR(only_for(intent.has_products(), "products", Opcode::kAccumulate));
    RETURN_IF_ERROR(only_for(intent.has_sent(), "sent", Opcode::kReceive));
    RETURN_IF_ERROR(check_list("memory", intent.memory()));
    if (intent.has_loads()) RETURN_IF_ERROR(check_source("loads", intent.loads()));
    if (intent.has_weights()) RETURN_IF_ERROR(check_source("weights", intent.weights()));
    if (intent.has_products()) RETURN_IF_ERROR(check_source("products", intent.products()));
    if (intent.has_sent() && !intent.sent().has_chip()) {
      return Error(queue, instruction, "intent sent names the sending chip (chipN:QUEUE@CYCLE)");
    }
    return absl::OkStatus();
  }

  const ChipModel& chip_;
  const isa::Program* program_;
  const std::string& chip_label_;
};

}  // namespace

std::string DescribeInstruction(const std::string& chip_label, const ChipModel& chip,
                                const DecodedQueue& queue, const DecodedInstruction& instruction) {
  return absl::StrCat(chip_label, ", queue ", chip.queues()[queue.queue].name, ", cycle ",
                      instruction.cycle, ", `",
                      isa::PrintInstruction(queue.source->instructions(instruction.index)), "`");
}

absl::StatusOr<DecodedProgram> DecodeProgram(const ChipModel& chip, const isa::Program& program,
                                             const std::string& chip_label) {
  if (!program.chip().empty() && program.chip() != chip.name()) {
    return absl::InvalidArgumentError(
        absl::StrCat(chip_label, ": the program was written for chip '", program.chip(),
                     "' and cannot run on '", chip.name(), "'"));
  }
  Decoder decoder(chip, program, chip_label);
  DecodedProgram decoded;
  decoded.source = &program;
  std::set<int> seen_queues;
  for (int program_queue = 0; program_queue < program.queues_size(); ++program_queue) {
    const isa::QueueProgram& queue_program = program.queues(program_queue);
    std::optional<int> queue_index = chip.FindQueue(queue_program.queue());
    if (!queue_index.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(chip_label, ": chip '", chip.name(), "' has no queue '",
                       queue_program.queue(), "' (queues are named after slices: MEM_W0, VXM.3, "
                       "MXM_E1.0, ...)"));
    }
    if (!seen_queues.insert(*queue_index).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          chip_label, ": queue ", queue_program.queue(), " appears twice in the program"));
    }
    DecodedQueue queue;
    queue.queue = *queue_index;
    queue.slice = chip.queues()[*queue_index].slice;
    queue.source = &queue_program;
    queue.program_queue = program_queue;
    queue.instructions.reserve(queue_program.instructions_size());
    // Compiled instructions name one or two intent sources: reserving is
    // free until touched, and spares growing copies (and their page faults).
    queue.intent_sources.reserve(2 * static_cast<size_t>(queue_program.instructions_size()));
    const int size = queue_program.instructions_size();
    for (int i = 0; i < size; ++i) {
      isa::FetchInstructionsAhead(i, size,
                                  [&](int k) -> const isa::Instruction& { return queue_program.instructions(k); });
      const DecodedInstruction* previous = nullptr;
      if (!queue.instructions.empty()) previous = &queue.instructions.back();
      ASSIGN_OR_RETURN(DecodedInstruction instruction,
                       decoder.Decode(program, queue, queue_program.instructions(i), previous));
      instruction.index = i;
      if (instruction.intent != nullptr) {
        const isa::Intent& intent = *instruction.intent;
        instruction.intent_first = static_cast<uint32_t>(queue.intent_sources.size());
        int k = 0;
        for (const isa::Sources* list : {&intent.a(), &intent.b(), &intent.c(), &intent.memory()}) {
          instruction.intent_sizes[k++] = static_cast<uint32_t>(list->queue_size());
          for (int e = 0; e < list->queue_size(); ++e) queue.intent_sources.push_back({list->queue(e), list->at(e)});
        }
      }
      queue.instructions.push_back(instruction);
    }
    decoded.queues.push_back(std::move(queue));
  }
  std::sort(decoded.queues.begin(), decoded.queues.end(),
            [](const DecodedQueue& x, const DecodedQueue& y) { return x.queue < y.queue; });
  decoded.queue_of_program_queue.assign(program.queues_size(), -1);
  for (size_t k = 0; k < decoded.queues.size(); ++k) {
    decoded.queue_of_program_queue[decoded.queues[k].program_queue] = static_cast<int>(k);
  }

  for (int i = 0; i < program.memory_size(); ++i) {
    const isa::MemoryImage& image = program.memory(i);
    std::optional<int> slice = chip.FindSlice(image.slice());
    const std::string where = absl::StrCat(chip_label, ": memory image ", i, " (", image.slice(),
                                           " address ", image.address(), ")");
    if (!slice.has_value() || chip.slices()[*slice].kind != isa::SLICE_MEM) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no MEM slice of that name"));
    }
    if (image.data().size() % chip.lanes() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", image.data().size(), " bytes is not a whole number of ", chip.lanes(),
          "-byte vectors"));
    }
    const int64_t vectors = static_cast<int64_t>(image.data().size()) / chip.lanes();
    if (image.address() < 0 || image.address() + vectors > chip.mem_addresses()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": ", vectors, " vectors do not fit in addresses 0..", chip.mem_addresses() - 1));
    }
    decoded.memory.push_back({*slice, image.address(), &image.data()});
  }
  for (int i = 0; i < program.outputs_size(); ++i) {
    const isa::Output& output = program.outputs(i);
    std::optional<int> slice = chip.FindSlice(output.slice());
    const std::string where = absl::StrCat(chip_label, ": output ", i, " (", output.slice(), " address ",
                                           output.address(), ")");
    if (!slice.has_value() || chip.slices()[*slice].kind != isa::SLICE_MEM) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": no MEM slice of that name"));
    }
    if (output.address() < 0 || output.address() >= chip.mem_addresses()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the address is outside 0..", chip.mem_addresses() - 1));
    }
    const isa::Source& source = output.written_by();
    if (source.has_chip() || source.queue() < 0 || source.queue() >= program.queues_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": written_by names a Write of this program (QUEUE@CYCLE)"));
    }
    decoded.outputs.push_back({*slice, output.address(), &source});
  }
  return decoded;
}

}  // namespace tsp::emulator
