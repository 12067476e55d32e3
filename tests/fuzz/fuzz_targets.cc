#include "tests/fuzz/fuzz_targets.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "emulator/chip_emulator.h"
#include "google/protobuf/util/message_differencer.h"
#include "isa/assembler.h"
#include "isa/chip_model.h"
#include "isa/opcode.h"
#include "isa/spec_loader.h"
#include "models/model_registry.h"
#include "models/operator_graph.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

extern const char kTspSmallChipSpecText[];

namespace tsp::fuzz {
namespace {

void Require(bool property, const char* what) {
  if (!property) {
    fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

const isa::ChipModel& SmallChip() {
  static const isa::ChipModel* chip = [] {
    isa::ChipSpec spec;
    Require(isa::ParseTextProto(kTspSmallChipSpecText, "small_chip", &spec).ok(), "small chip parses");
    absl::StatusOr<isa::ChipModel> model = isa::ChipModel::Create(spec);
    Require(model.ok(), "small chip is valid");
    return new isa::ChipModel(*model);
  }();
  return *chip;
}

// Reads bounded choices from the input, zeros when it runs out.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint32_t Next() { return offset_ < size_ ? data_[offset_++] : 0; }
  int64_t Range(int64_t low, int64_t high) {  // Inclusive.
    const uint32_t value = (Next() << 8) | Next();
    return low + static_cast<int64_t>(value % static_cast<uint32_t>(high - low + 1));
  }
  bool empty() const { return offset_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

isa::StreamRef RandomStream(Bytes& in) {
  isa::StreamRef ref;
  ref.set_direction(in.Next() % 2 ? isa::WEST : isa::EAST);
  ref.set_index(static_cast<int32_t>(in.Range(0, 9)));  // The small chip has 8.
  return ref;
}

isa::Program RandomProgram(Bytes& in, std::vector<emulator::InboundVector>* inbound) {
  const isa::ChipModel& chip = SmallChip();
  isa::Program program;
  for (int m = 0; m < 2; ++m) {
    isa::LaneMap* map = program.add_lane_maps();
    const int size = m == 0 ? chip.lanes() : chip.lanes_per_superlane();
    for (int i = 0; i < size; ++i) map->add_source_lane(static_cast<int32_t>(in.Range(-1, size - 1)));
  }
  for (const char* slice : {"MEM_W0", "MEM_E1"}) {
    isa::MemoryImage* image = program.add_memory();
    image->set_slice(slice);
    image->set_address(in.Range(0, 8));
    std::string data(2 * chip.lanes(), 0);
    for (char& c : data) c = static_cast<char>(in.Next());
    image->set_data(data);
  }
  for (int i = 0; i < 2; ++i) {
    emulator::InboundVector vector;
    vector.slice = i == 0 ? "C2C_W" : "C2C_E";
    vector.port = static_cast<int>(in.Range(0, 1));
    vector.arrival_cycle = in.Range(0, 60);
    vector.data.assign(chip.lanes(), static_cast<char>(in.Next()));
    inbound->push_back(vector);
  }
  std::map<int, isa::QueueProgram*> queues;
  std::map<int, int64_t> cycles;
  const int count = static_cast<int>(in.Range(1, 40));
  const auto opcodes = isa::AllOpcodes();
  for (int i = 0; i < count && !in.empty(); ++i) {
    const int queue = static_cast<int>(in.Range(0, static_cast<int64_t>(chip.queues().size()) - 1));
    const isa::SliceKind kind = chip.slices()[chip.queues()[queue].slice].kind;
    // Mostly opcodes the slice has; sometimes any, to reach the decoder's errors.
    std::vector<const isa::OpcodeInfo*> fitting;
    for (const isa::OpcodeInfo& info : opcodes) {
      if (info.kind == kind || info.kind == isa::SLICE_ICU || in.Range(0, 30) == 0) fitting.push_back(&info);
    }
    const isa::OpcodeInfo& info = *fitting[in.Range(0, static_cast<int64_t>(fitting.size()) - 1)];
    if (queues[queue] == nullptr) {
      queues[queue] = program.add_queues();
      queues[queue]->set_queue(chip.queues()[queue].name);
    }
    isa::Instruction& instruction = *queues[queue]->add_instructions();
    cycles[queue] += in.Range(0, 6);
    instruction.set_cycle(cycles[queue]);
    isa::SetInstructionOpcode(info.opcode, &instruction);
    if (info.allowed_types != isa::kUntyped) {
      for (int tries = 0; tries < 8; ++tries) {
        const auto type = static_cast<isa::ElementType>(in.Range(1, 7));
        if (info.allowed_types & isa::TypeBit(type)) {
          instruction.set_type(type);
          break;
        }
      }
    }
    const uint32_t operands = info.required_operands | (in.Next() % 2 ? info.optional_operands : 0);
    if (operands & isa::kOpA) *instruction.mutable_a() = RandomStream(in);
    if (operands & isa::kOpB) *instruction.mutable_b() = RandomStream(in);
    if (operands & isa::kOpC) *instruction.mutable_c() = RandomStream(in);
    if (operands & isa::kOpDst) *instruction.mutable_dst() = RandomStream(in);
    if (operands & isa::kOpAddress) instruction.set_address(in.Range(-2, 70));
    if (operands & isa::kOpRow) instruction.set_row(in.Range(0, 34));
    if (operands & isa::kOpRows) instruction.set_rows(in.Range(0, 9));
    if (operands & isa::kOpAmount) instruction.set_amount(in.Range(-40, 40));
    if (operands & isa::kOpMap) instruction.set_map(in.Range(0, 2));
    if (operands & isa::kOpPort) instruction.set_port(in.Range(0, 2));
    if (operands & isa::kOpN) instruction.set_n(in.Range(0, 6));
    if (operands & isa::kOpEvery) instruction.set_every(in.Range(0, 3));
    if (operands & isa::kOpStride) instruction.set_stride(in.Range(0, 3));
    if (operands & isa::kOpToType) instruction.set_to_type(static_cast<isa::ElementType>(in.Range(1, 7)));
  }
  return program;
}

absl::StatusOr<emulator::RunResult> RunOn(const isa::Program& program, bool functional,
                                          const std::vector<emulator::InboundVector>& inbound,
                                          std::string* memory, bool record_trace = true,
                                          bool early_stream_values = true) {
  emulator::RunOptions options;
  options.functional = functional;
  options.record_trace = record_trace;
  options.early_stream_values = early_stream_values;
  options.cycle_limit = 20'000;
  options.inbound = inbound;
  absl::StatusOr<std::unique_ptr<emulator::ChipEmulator>> emulator =
      emulator::ChipEmulator::Create(SmallChip(), program, options);
  if (!emulator.ok()) return emulator.status();
  absl::StatusOr<emulator::RunResult> result = (*emulator)->Run();
  if (result.ok() && functional && memory != nullptr) {
    for (const char* slice : {"MEM_W0", "MEM_W1", "MEM_E0", "MEM_E1"}) {
      absl::StatusOr<std::string> bytes = (*emulator)->ReadMemory(slice, 0, SmallChip().mem_addresses());
      Require(bytes.ok(), "memory reads after a run");
      *memory += *bytes;
    }
  }
  return result;
}

bool SameTrace(const emulator::RunResult& a, const emulator::RunResult& b) {
  return a.trace == b.trace && a.last_event_cycle == b.last_event_cycle &&
         a.busy_cycles == b.busy_cycles && a.instructions_issued == b.instructions_issued;
}

}  // namespace

void FuzzSpecs(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == 'c') {
    isa::ChipSpec spec;
    if (isa::ParseTextProto(text, "fuzz", &spec).ok()) (void)isa::ChipModel::Create(spec);
  } else if (data[0] == 's') {
    pipeline::SystemSpec spec;
    if (!isa::ParseTextProto(text, "fuzz", &spec).ok()) return;
    static const isa::ChipModel* chip = new isa::ChipModel(*isa::DefaultChipModel());
    absl::StatusOr<pipeline::SystemModel> system = pipeline::SystemModel::Create(spec, *chip);
    if (system.ok() && system->chips() <= 2'000) {
      absl::StatusOr<pipeline::Topology> topology = pipeline::Topology::Create(*system, *chip);
      if (topology.ok() && topology->chips() > 1) (void)topology->Route(0, topology->chips() - 1);
    }
  } else if (data[0] == 'm') {
    models::ModelConfig config;
    if (!isa::ParseTextProto(text, "fuzz", &config).ok()) return;
    if (models::ValidateModelConfig(config).ok()) {
      absl::StatusOr<models::OperatorGraph> graph = models::BuildPrefillGraph(config, 3, 5);
      if (graph.ok()) Require(graph->Macs() >= 0 && graph->WeightElementsRead() >= 0, "counts are not negative");
    }
  }
}

void FuzzAssembler(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<isa::Program> program = isa::ParseProgram(text);
  if (!program.ok()) return;
  const std::string printed = isa::PrintProgram(*program);
  absl::StatusOr<isa::Program> again = isa::ParseProgram(printed);
  Require(again.ok(), "printed programs parse");
  Require(google::protobuf::util::MessageDifferencer::Equals(*program, *again), "print then parse is identity");
  Require(isa::PrintProgram(*again) == printed, "printing is canonical");
}

void FuzzProgram(const uint8_t* data, size_t size) {
  isa::Program program;
  if (!program.ParseFromArray(data, static_cast<int>(size))) return;
  (void)RunOn(program, /*functional=*/false, {}, nullptr);
}

void FuzzEmulator(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  std::vector<emulator::InboundVector> inbound;
  const isa::Program program = RandomProgram(in, &inbound);
  std::string first_memory, second_memory;
  absl::StatusOr<emulator::RunResult> first = RunOn(program, true, inbound, &first_memory);
  absl::StatusOr<emulator::RunResult> second = RunOn(program, true, inbound, &second_memory);
  Require(first.ok() == second.ok(), "a run succeeds or fails the same way twice");
  if (!first.ok()) {
    Require(first.status() == second.status(), "the same error twice");
    return;
  }
  Require(SameTrace(*first, *second) && first_memory == second_memory, "identical runs");
  // Timing-only issues the same instructions at the same cycles, unless
  // Gather or Scatter addresses (data) decide a hazard it cannot see.
  bool data_dependent = false;
  for (const isa::QueueProgram& queue : program.queues()) {
    for (const isa::Instruction& instruction : queue.instructions()) {
      const std::optional<isa::Opcode> opcode = isa::InstructionOpcode(instruction);
      if (opcode == isa::Opcode::kGather || opcode == isa::Opcode::kScatter) data_dependent = true;
    }
  }
  absl::StatusOr<emulator::RunResult> timing = RunOn(program, false, inbound, nullptr);
  if (!data_dependent) Require(timing.ok() && SameTrace(*first, *timing), "timing-only matches functional");
  // Without a trace, timing-only runs batch a Read's Repeat: same results,
  // same errors as one repetition at a time.
  absl::StatusOr<emulator::RunResult> batched = RunOn(program, false, inbound, nullptr, false, true);
  absl::StatusOr<emulator::RunResult> single = RunOn(program, false, inbound, nullptr, false, false);
  Require(batched.status() == single.status(), "batched reads fail as one repetition at a time does");
  if (batched.ok()) {
    Require(batched->last_event_cycle == single->last_event_cycle &&
                batched->completion_cycle == single->completion_cycle &&
                batched->busy_cycles == single->busy_cycles &&
                batched->instructions_issued == single->instructions_issued,
            "batched reads give the results of one repetition at a time");
  }
}

}  // namespace tsp::fuzz
