#include "pipeline/system_program_builder.h"

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "isa/opcode.h"
#include "isa/timing.h"

namespace tsp::pipeline {
namespace {

using isa::Opcode;

constexpr int64_t kSearchCycles = 1'000'000;

isa::Direction Toward(int from, int to) { return to >= from ? isa::EAST : isa::WEST; }
int Distance(int from, int to) { return std::abs(to - from); }

}  // namespace

SystemProgramBuilder::SystemProgramBuilder(const isa::ChipModel& chip, const SystemModel& system,
                                           const Topology& topology)
    : chip_(chip), system_(system), topology_(topology) {
  c2c_slices_ = chip.SlicesOfKind(isa::SLICE_C2C);
  // Deskews take the first cycles of every C2C queue, one port per cycle.
  first_link_cycle_ = chip.c2c_ports_per_slice();
}

int SystemProgramBuilder::SlicePosition(const std::string& slice) const {
  std::optional<int> position = chip_.FindSlice(slice);
  return position.has_value() ? *position : -1;
}

int SystemProgramBuilder::QueueOf(int slice_position) const {
  return chip_.slices()[slice_position].first_queue;
}

int SystemProgramBuilder::C2cSlicePosition(int port) const {
  return c2c_slices_[topology_.PortSlice(port)];
}

absl::Status SystemProgramBuilder::AddProgram(int chip, const isa::Program& program) {
  if (chips_.count(chip) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("chip ", chip, " already has work; add its program first"));
  }
  ChipState& state = chips_[chip];
  for (const isa::MemoryImage& image : program.memory()) state.memory.push_back(image);
  for (const isa::LaneMap& map : program.lane_maps()) state.lane_maps.push_back(map);
  for (const isa::QueueProgram& queue_program : program.queues()) {
    std::optional<int> queue = chip_.FindQueue(queue_program.queue());
    if (!queue.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("chip ", chip, ": no queue '", queue_program.queue(), "'"));
    }
    const int position = chip_.queues()[*queue].slice;
    const isa::Instruction* previous = nullptr;
    // What one (repetition of an) instruction claims beyond its queue cycle.
    auto effects = [&](const isa::Instruction& instruction, Opcode opcode, int64_t cycle,
                       int64_t offset) {
      const int64_t result = cycle + chip_.latency_cycles(opcode);
      Note(result);
      if (instruction.has_dst()) {
        const int width = isa::StreamGroupWidth(opcode, instruction.type(), instruction.to_type(),
                                                isa::kOpDst);
        for (int k = 0; k < width; ++k) {
          state.stream_diagonals.insert({instruction.dst().direction(), instruction.dst().index() + k,
                                         isa::StreamDiagonal(instruction.dst().direction(), position,
                                                             result)});
        }
      }
      const int64_t address = instruction.address() + offset;
      if (opcode == Opcode::kRead) state.bank_reads.insert({position, isa::MemBank(chip_, address), cycle});
      if (opcode == Opcode::kWrite) state.bank_writes.insert({position, isa::MemBank(chip_, address), result});
      if (opcode == Opcode::kGather || opcode == Opcode::kScatter) {
        for (int bank = 0; bank < chip_.mem_banks(); ++bank) {
          state.bank_reads.insert({position, bank, cycle});
          state.bank_writes.insert({position, bank, result});
        }
      }
    };
    for (const isa::Instruction& instruction : queue_program.instructions()) {
      std::optional<Opcode> opcode = isa::InstructionOpcode(instruction);
      if (!opcode.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown opcode number ", instruction.opcode()));
      }
      state.builder.Add(queue_program.queue(), instruction.cycle(), isa::GetOpcodeInfo(*opcode).mnemonic) =
          instruction;
      const int64_t free = isa::QueueFreeCycle(*opcode, instruction.cycle(), instruction.n(),
                                               instruction.every());
      int64_t busy_from = instruction.cycle();
      if (*opcode == Opcode::kRepeat && previous != nullptr) {
        // Nothing may come between the repeated instruction and its Repeat.
        busy_from = previous->cycle();
        const Opcode repeated = *isa::InstructionOpcode(*previous);
        for (int64_t k = 0; k < instruction.n(); ++k) {
          effects(*previous, repeated, isa::RepetitionCycle(instruction.cycle(), instruction.every(), k),
                  instruction.stride() * (k + 1));
        }
      } else if (isa::GetOpcodeInfo(*opcode).kind != isa::SLICE_ICU) {
        effects(instruction, *opcode, instruction.cycle(), 0);
        previous = &instruction;
      }
      for (int64_t cycle = busy_from; cycle < free; ++cycle) state.busy_queue_cycles.insert({*queue, cycle});
    }
  }
  return absl::OkStatus();
}

void SystemProgramBuilder::SetMemory(int chip, const Location& at, const std::string& bytes) {
  isa::MemoryImage image;
  image.set_slice(at.slice);
  image.set_address(at.address);
  image.set_data(bytes);
  chips_[chip].memory.push_back(std::move(image));
}

int SystemProgramBuilder::FreeStream(const ChipState& state, const Claim& claim,
                                     isa::Direction direction, int position, int64_t cycle) const {
  const int64_t diagonal = isa::StreamDiagonal(direction, position, cycle);
  for (int stream = 0; stream < chip_.streams_per_direction(); ++stream) {
    const auto key = std::make_tuple(static_cast<int>(direction), stream, diagonal);
    if (state.stream_diagonals.count(key) == 0 &&
        std::find(claim.streams.begin(), claim.streams.end(), key) == claim.streams.end()) {
      return stream;
    }
  }
  return -1;
}

bool SystemProgramBuilder::Free(const ChipState& state, const Claim& claim) const {
  for (size_t i = 0; i < claim.queue_cycles.size(); ++i) {
    if (state.busy_queue_cycles.count(claim.queue_cycles[i]) > 0) return false;
    for (size_t j = 0; j < i; ++j) {
      if (claim.queue_cycles[i] == claim.queue_cycles[j]) return false;
    }
  }
  for (const auto& read : claim.bank_reads) {
    if (state.bank_writes.count(read) > 0) return false;
    if (std::find(claim.bank_writes.begin(), claim.bank_writes.end(), read) != claim.bank_writes.end()) {
      return false;
    }
  }
  for (size_t i = 0; i < claim.bank_writes.size(); ++i) {
    const auto& write = claim.bank_writes[i];
    if (state.bank_writes.count(write) > 0 || state.bank_reads.count(write) > 0) return false;
    for (size_t j = 0; j < i; ++j) {
      if (claim.bank_writes[j] == write) return false;
    }
  }
  return true;
}

void SystemProgramBuilder::Reserve(ChipState& state, const Claim& claim) {
  state.busy_queue_cycles.insert(claim.queue_cycles.begin(), claim.queue_cycles.end());
  state.stream_diagonals.insert(claim.streams.begin(), claim.streams.end());
  state.bank_reads.insert(claim.bank_reads.begin(), claim.bank_reads.end());
  state.bank_writes.insert(claim.bank_writes.begin(), claim.bank_writes.end());
}

bool SystemProgramBuilder::LinkFree(int link, int direction, int64_t departure) const {
  auto it = link_departures_.find({link, direction});
  if (it == link_departures_.end()) return true;
  const int64_t serialization = system_.link_serialization_cycles();
  // The nearest departures on either side must be a serialization time away.
  auto after = it->second.lower_bound(departure);
  if (after != it->second.end() && *after < departure + serialization) return false;
  if (after != it->second.begin() && *std::prev(after) > departure - serialization) return false;
  return true;
}

absl::StatusOr<int64_t> SystemProgramBuilder::Transfer(int source, const Location& from,
                                                       int destination, const Location& to,
                                                       int64_t ready) {
  if (source == destination) {
    return absl::InvalidArgumentError(absl::StrCat("a transfer from chip ", source, " to itself"));
  }
  const int from_position = SlicePosition(from.slice);
  const int to_position = SlicePosition(to.slice);
  if (from_position < 0 || chip_.slices()[from_position].kind != isa::SLICE_MEM ||
      to_position < 0 || chip_.slices()[to_position].kind != isa::SLICE_MEM) {
    return absl::InvalidArgumentError(
        absl::StrCat("transfer ends ", from.slice, " and ", to.slice, " must be MEM slices"));
  }
  ASSIGN_OR_RETURN(std::vector<Hop> route, topology_.Route(source, destination));
  const int64_t read_latency = chip_.latency_cycles(Opcode::kRead);
  const int64_t write_latency = chip_.latency_cycles(Opcode::kWrite);
  const int64_t send_latency = chip_.latency_cycles(Opcode::kSend);
  const int64_t receive_latency = chip_.latency_cycles(Opcode::kReceive);
  const int64_t flight =
      system_.link_serialization_cycles() + system_.spec().link_latency_cycles().value();
  auto link_direction = [&](const Hop& hop) {
    const Link& link = topology_.links()[hop.link];
    return link.a.chip == hop.from && link.a.port == hop.from_port ? 0 : 1;
  };
  // A Send or Receive on chip port `port`, carried on `stream`.
  auto emit_c2c = [&](ChipState& state, absl::string_view opcode, int port, int64_t cycle,
                      const isa::StreamRef& stream) {
    isa::Instruction& instruction =
        state.builder.Add(chip_.queues()[QueueOf(C2cSlicePosition(port))].name, cycle, opcode);
    instruction.set_port(topology_.PortInSlice(port));
    *(opcode == "Send" ? instruction.mutable_a() : instruction.mutable_dst()) = stream;
    state.used_ports.insert({topology_.PortSlice(port), topology_.PortInSlice(port)});
  };

  // The source chip: Read, then Send as the vector passes the out-port's slice.
  int64_t arrival = 0;
  {
    const Hop& hop = route.front();
    const int out_position = C2cSlicePosition(hop.from_port);
    ChipState& state = chips_[source];
    const int64_t lower = std::max(ready + read_latency + Distance(from_position, out_position),
                                   first_link_cycle_);
    bool scheduled = false;
    for (int64_t send = lower; send < lower + kSearchCycles && !scheduled; ++send) {
      const int64_t read = send - read_latency - Distance(from_position, out_position);
      const int64_t departure = send + send_latency;
      if (!LinkFree(hop.link, link_direction(hop), departure)) continue;
      Claim claim;
      claim.queue_cycles = {{QueueOf(from_position), read}, {QueueOf(out_position), send}};
      claim.bank_reads = {{from_position, isa::MemBank(chip_, from.address), read}};
      const isa::Direction direction = Toward(from_position, out_position);
      const int stream = FreeStream(state, claim, direction, from_position, read + read_latency);
      if (stream < 0) continue;
      claim.streams.push_back(
          {direction, stream, isa::StreamDiagonal(direction, from_position, read + read_latency)});
      if (!Free(state, claim)) continue;
      Reserve(state, claim);
      isa::Instruction& read_instruction =
          state.builder.Add(chip_.queues()[QueueOf(from_position)].name, read, "Read");
      read_instruction.set_address(from.address);
      *read_instruction.mutable_dst() = isa::Stream(direction, stream);
      emit_c2c(state, "Send", hop.from_port, send, isa::Stream(direction, stream));
      link_departures_[{hop.link, link_direction(hop)}].insert(departure);
      Note(departure);
      arrival = departure + flight;
      scheduled = true;
    }
    if (!scheduled) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no cycle found to send from chip ", source));
    }
  }

  // Intermediate chips: Receive, and Send as the vector passes the next port.
  for (size_t i = 1; i < route.size(); ++i) {
    const Hop& in = route[i - 1];
    const Hop& out = route[i];
    const int in_position = C2cSlicePosition(in.to_port);
    const int out_position = C2cSlicePosition(out.from_port);
    ChipState& state = chips_[out.from];
    bool scheduled = false;
    for (int64_t receive = arrival; receive < arrival + kSearchCycles && !scheduled; ++receive) {
      const int64_t land = receive + receive_latency;
      const int64_t send = land + Distance(in_position, out_position);
      const int64_t departure = send + send_latency;
      if (!LinkFree(out.link, link_direction(out), departure)) continue;
      Claim claim;
      claim.queue_cycles = {{QueueOf(in_position), receive}, {QueueOf(out_position), send}};
      const isa::Direction direction = Toward(in_position, out_position);
      const int stream = FreeStream(state, claim, direction, in_position, land);
      if (stream < 0) continue;
      claim.streams.push_back({direction, stream, isa::StreamDiagonal(direction, in_position, land)});
      if (!Free(state, claim)) continue;
      Reserve(state, claim);
      emit_c2c(state, "Receive", in.to_port, receive, isa::Stream(direction, stream));
      emit_c2c(state, "Send", out.from_port, send, isa::Stream(direction, stream));
      link_departures_[{out.link, link_direction(out)}].insert(departure);
      Note(departure);
      arrival = departure + flight;
      scheduled = true;
    }
    if (!scheduled) {
      return absl::ResourceExhaustedError(
          absl::StrCat("no cycle found to forward through chip ", out.from));
    }
  }

  // The destination: Receive, then Write as the vector passes the MEM slice.
  const Hop& last = route.back();
  const int in_position = C2cSlicePosition(last.to_port);
  ChipState& state = chips_[destination];
  for (int64_t receive = arrival; receive < arrival + kSearchCycles; ++receive) {
    const int64_t land = receive + receive_latency;
    const int64_t write = land + Distance(in_position, to_position);
    Claim claim;
    claim.queue_cycles = {{QueueOf(in_position), receive}, {QueueOf(to_position), write}};
    claim.bank_writes = {{to_position, isa::MemBank(chip_, to.address), write + write_latency}};
    const isa::Direction direction = Toward(in_position, to_position);
    const int stream = FreeStream(state, claim, direction, in_position, land);
    if (stream < 0) continue;
    claim.streams.push_back({direction, stream, isa::StreamDiagonal(direction, in_position, land)});
    if (!Free(state, claim)) continue;
    Reserve(state, claim);
    emit_c2c(state, "Receive", last.to_port, receive, isa::Stream(direction, stream));
    isa::Instruction& write_instruction =
        state.builder.Add(chip_.queues()[QueueOf(to_position)].name, write, "Write");
    write_instruction.set_address(to.address);
    *write_instruction.mutable_a() = isa::Stream(direction, stream);
    Note(write + write_latency);
    return write + write_latency;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no cycle found to receive on chip ", destination));
}

absl::StatusOr<int64_t> SystemProgramBuilder::AddInt8(int chip, const Location& a,
                                                      const Location& b, const Location& out,
                                                      int64_t ready) {
  const int a_position = SlicePosition(a.slice);
  const int b_position = SlicePosition(b.slice);
  const int out_position = SlicePosition(out.slice);
  for (int position : {a_position, b_position, out_position}) {
    if (position < 0 || chip_.slices()[position].kind != isa::SLICE_MEM) {
      return absl::InvalidArgumentError("AddInt8 operands and result must be in MEM slices");
    }
  }
  const int vxm = chip_.SlicesOfKind(isa::SLICE_VXM).front();
  const int64_t read_latency = chip_.latency_cycles(Opcode::kRead);
  const int64_t add_latency = chip_.latency_cycles(Opcode::kAdd);
  const int64_t write_latency = chip_.latency_cycles(Opcode::kWrite);
  ChipState& state = chips_[chip];
  const int64_t lower =
      ready + read_latency + std::max(Distance(a_position, vxm), Distance(b_position, vxm));
  for (int64_t add = lower; add < lower + kSearchCycles; ++add) {
    const int64_t read_a = add - read_latency - Distance(a_position, vxm);
    const int64_t read_b = add - read_latency - Distance(b_position, vxm);
    const int64_t write = add + add_latency + Distance(vxm, out_position);
    Claim claim;
    claim.queue_cycles = {{QueueOf(a_position), read_a},
                          {QueueOf(b_position), read_b},
                          {QueueOf(vxm), add},
                          {QueueOf(out_position), write}};
    claim.bank_reads = {{a_position, isa::MemBank(chip_, a.address), read_a},
                        {b_position, isa::MemBank(chip_, b.address), read_b}};
    claim.bank_writes = {{out_position, isa::MemBank(chip_, out.address), write + write_latency}};
    const isa::Direction a_direction = Toward(a_position, vxm);
    const int a_stream = FreeStream(state, claim, a_direction, a_position, read_a + read_latency);
    if (a_stream < 0) continue;
    claim.streams.push_back(
        {a_direction, a_stream, isa::StreamDiagonal(a_direction, a_position, read_a + read_latency)});
    const isa::Direction b_direction = Toward(b_position, vxm);
    const int b_stream = FreeStream(state, claim, b_direction, b_position, read_b + read_latency);
    if (b_stream < 0) continue;
    claim.streams.push_back(
        {b_direction, b_stream, isa::StreamDiagonal(b_direction, b_position, read_b + read_latency)});
    const isa::Direction out_direction = Toward(vxm, out_position);
    const int out_stream = FreeStream(state, claim, out_direction, vxm, add + add_latency);
    if (out_stream < 0) continue;
    claim.streams.push_back(
        {out_direction, out_stream, isa::StreamDiagonal(out_direction, vxm, add + add_latency)});
    if (!Free(state, claim)) continue;
    Reserve(state, claim);
    isa::Instruction& ra = state.builder.Add(chip_.queues()[QueueOf(a_position)].name, read_a, "Read");
    ra.set_address(a.address);
    *ra.mutable_dst() = isa::Stream(a_direction, a_stream);
    isa::Instruction& rb = state.builder.Add(chip_.queues()[QueueOf(b_position)].name, read_b, "Read");
    rb.set_address(b.address);
    *rb.mutable_dst() = isa::Stream(b_direction, b_stream);
    isa::Instruction& sum = state.builder.Add(chip_.queues()[QueueOf(vxm)].name, add, "Add");
    sum.set_type(isa::INT8);
    *sum.mutable_a() = isa::Stream(a_direction, a_stream);
    *sum.mutable_b() = isa::Stream(b_direction, b_stream);
    *sum.mutable_dst() = isa::Stream(out_direction, out_stream);
    isa::Instruction& store = state.builder.Add(chip_.queues()[QueueOf(out_position)].name, write, "Write");
    store.set_address(out.address);
    *store.mutable_a() = isa::Stream(out_direction, out_stream);
    Note(write + write_latency);
    return write + write_latency;
  }
  return absl::ResourceExhaustedError(absl::StrCat("no cycle found for an add on chip ", chip));
}

isa::ChipPrograms SystemProgramBuilder::Build() {
  isa::ChipPrograms programs;
  for (auto& [id, state] : chips_) {
    std::map<int, int64_t> next_deskew_cycle;
    for (const auto& [slice_index, port] : state.used_ports) {
      const std::string& queue = chip_.queues()[QueueOf(c2c_slices_[slice_index])].name;
      state.builder.Add(queue, next_deskew_cycle[slice_index]++, "Deskew").set_port(port);
    }
    isa::Program& program = programs[id];
    program.set_chip(chip_.name());
    // Heap messages join the arena's program without a copy.
    for (isa::MemoryImage& image : state.memory) program.mutable_memory()->AddAllocated(new isa::MemoryImage(std::move(image)));
    for (isa::LaneMap& map : state.lane_maps) program.mutable_lane_maps()->AddAllocated(new isa::LaneMap(std::move(map)));
    state.builder.Emit(chip_, &program);
  }
  chips_.clear();
  return programs;
}

}  // namespace tsp::pipeline
