#include "scheduler/system_scheduler.h"

#include <algorithm>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/element_type.h"
#include "isa/hazards.h"
#include "isa/opcode.h"
#include "isa/program_builder.h"
#include "isa/status_macros.h"
#include "isa/timing.h"

namespace tsp::scheduler {
namespace {

using isa::Opcode;

isa::Direction Toward(int from, int to) { return to >= from ? isa::EAST : isa::WEST; }
int Distance(int from, int to) { return std::abs(to - from); }

}  // namespace

SystemScheduler::SystemScheduler(const isa::ChipModel& chip, const pipeline::SystemModel& system,
                                 const pipeline::Topology& topology, bool with_data)
    : chip_(chip), system_(system), topology_(topology), with_data_(with_data) {
  c2c_slices_ = chip.SlicesOfKind(isa::SLICE_C2C);
  // Deskews take the first cycles of every C2C queue, one port per cycle.
  first_link_cycle_ = chip.c2c_ports_per_slice();
}

VectorOps& SystemScheduler::ops(int chip) {
  ScheduledChip& state = chips_[chip];
  if (state.ops == nullptr) {
    state.scheduler = std::make_unique<ChipScheduler>(chip_, chip, programs_.arena());
    state.ops = std::make_unique<VectorOps>(*state.scheduler, with_data_);
  }
  return *state.ops;
}

int SystemScheduler::C2cPosition(int port) const { return c2c_slices_[topology_.PortSlice(port)]; }

absl::Status SystemScheduler::Transfer(int from, const Vec& value, int to, const Vec& into) {
  if (value.type != into.type) {
    return absl::InvalidArgumentError(absl::StrCat("a transfer from chip ", from, " to chip ", to, " of a ",
                                                   isa::ElementTypeName(value.type), " vector into a ",
                                                   isa::ElementTypeName(into.type),
                                                   " one: transfers copy bits; convert on either chip first"));
  }
  for (int p = 0; p < value.planes(); ++p) {
    RETURN_IF_ERROR(TransferPlane(from, value.slices[p], value.address, to, into.slices[p], into.address));
  }
  return absl::OkStatus();
}

absl::StatusOr<Vec> SystemScheduler::Transfer(int from, const Vec& value, int to, Side side) {
  ASSIGN_OR_RETURN(Vec into, ops(to).NewVec(value.type, side));
  RETURN_IF_ERROR(Transfer(from, value, to, into));
  return into;
}

absl::Status SystemScheduler::TransferPlane(int from, int from_slice, int64_t from_address, int to,
                                            int to_slice, int64_t to_address) {
  if (from == to) return absl::InvalidArgumentError(absl::StrCat("a transfer from chip ", from, " to itself"));
  ASSIGN_OR_RETURN(std::vector<pipeline::Hop> route, topology_.Route(from, to));
  const int64_t read_latency = chip_.latency_cycles(Opcode::kRead);
  const int64_t send_latency = chip_.latency_cycles(Opcode::kSend);
  const int64_t receive_latency = chip_.latency_cycles(Opcode::kReceive);
  const int64_t serialization = system_.link_serialization_cycles();
  const int64_t link_latency = system_.spec().link_latency_cycles().value();
  auto link_direction = [&](const pipeline::Hop& hop) {
    const pipeline::Link& link = topology_.links()[hop.link];
    return link.a.chip == hop.from && link.a.port == hop.from_port ? 0 : 1;
  };
  // A departure waits for the link and, since the far port holds only
  // c2c.receive_buffer_vectors arrived vectors, for the Receive that frees
  // room for it there.
  auto departure_lower = [&](const pipeline::Hop& hop) {
    auto it = last_departure_.find({hop.link, link_direction(hop)});
    int64_t lower = it == last_departure_.end() ? int64_t{0} : isa::LinkFreeCycle(it->second, serialization);
    const std::vector<int64_t>& receives = chips_[hop.to].receives[hop.to_port];
    const size_t buffer = static_cast<size_t>(chip_.c2c_receive_buffer_vectors());
    if (receives.size() >= buffer) {
      const int64_t arrival = isa::EarliestArrivalAtFullPort(receives[receives.size() - buffer]);
      lower = std::max(lower, arrival - link_latency - serialization);
    }
    return lower;
  };
  auto c2c_queue = [&](int port) { return chip_.slices()[C2cPosition(port)].first_queue; };
  auto c2c_instruction = [&](Claim& claim, Opcode opcode, int port, int64_t cycle,
                             const isa::StreamRef& stream) -> isa::Instruction& {
    isa::Instruction& instruction = claim.Emit(c2c_queue(port), cycle, opcode);
    instruction.set_port(topology_.PortInSlice(port));
    *(opcode == Opcode::kSend ? instruction.mutable_a() : instruction.mutable_dst()) = stream;
    return instruction;
  };
  // The Send of the hop before, as the next Receive's intent.
  isa::Source sent;
  auto sent_by = [&](int chip_id, int port, int64_t cycle) {
    sent = isa::Source();
    sent.set_chip(chip_id);
    sent.set_remote_queue(chip_.queues()[c2c_queue(port)].name);
    sent.set_cycle(cycle);
  };
  auto use_port = [&](int chip_id, int port) {
    chips_[chip_id].used_ports.insert({topology_.PortSlice(port), topology_.PortInSlice(port)});
  };
  auto receive_lower = [&](int chip_id, int port, int64_t arrival) {
    const std::vector<int64_t>& receives = chips_[chip_id].receives[port];
    return std::max(arrival, receives.empty() ? arrival : receives.back() + 1);
  };

  // Source: Read, then Send as the plane passes the out-port's slice.
  int64_t arrival = 0;
  {
    const pipeline::Hop& hop = route.front();
    const int out = C2cPosition(hop.from_port);
    ChipScheduler& scheduler = chip(from);
    const int64_t lower = std::max({scheduler.ReadableAt(from_slice, from_address) + read_latency +
                                        Distance(from_slice, out),
                                    first_link_cycle_, departure_lower(hop) - send_latency});
    ASSIGN_OR_RETURN(const int64_t send, scheduler.Place(lower, "Send", [&](int64_t t, Claim& claim) {
      const int64_t read = t - read_latency - Distance(from_slice, out);
      const isa::Direction direction = Toward(from_slice, out);
      if (!claim.UseQueue(scheduler.Queue(out), t)) return false;
      const int stream = claim.Streams(direction, 1, from_slice, read + read_latency);
      if (stream < 0 || !claim.Read(from_slice, from_address, read)) return false;
      isa::Instruction& instruction = claim.Emit(scheduler.Queue(from_slice), read, Opcode::kRead);
      instruction.set_address(from_address);
      *instruction.mutable_dst() = isa::Stream(direction, stream);
      AddSource(claim.MemorySource(from_slice, from_address), instruction.mutable_intent()->mutable_memory());
      AddSource({scheduler.Queue(from_slice), read},
                c2c_instruction(claim, Opcode::kSend, hop.from_port, t, isa::Stream(direction, stream))
                    .mutable_intent()
                    ->mutable_a());
      return true;
    }));
    sent_by(from, hop.from_port, send);
    use_port(from, hop.from_port);
    last_departure_[{hop.link, link_direction(hop)}] = send + send_latency;
    arrival = isa::LinkArrivalCycle(send + send_latency, serialization, link_latency);
  }
  // Intermediate chips: Receive, and Send as the plane passes the next port.
  for (size_t i = 1; i < route.size(); ++i) {
    const pipeline::Hop& in_hop = route[i - 1];
    const pipeline::Hop& out_hop = route[i];
    const int in = C2cPosition(in_hop.to_port);
    const int out = C2cPosition(out_hop.from_port);
    ChipScheduler& scheduler = chip(out_hop.from);
    const int64_t lower = std::max(receive_lower(out_hop.from, in_hop.to_port, arrival),
                                   departure_lower(out_hop) - send_latency - receive_latency -
                                       Distance(in, out));
    ASSIGN_OR_RETURN(const int64_t receive, scheduler.Place(lower, "forward", [&](int64_t t, Claim& claim) {
      const int64_t land = t + receive_latency;
      const int64_t send = land + Distance(in, out);
      const isa::Direction direction = Toward(in, out);
      if (!claim.UseQueue(scheduler.Queue(in), t) || !claim.UseQueue(scheduler.Queue(out), send)) {
        return false;
      }
      const int stream = claim.Streams(direction, 1, in, land);
      if (stream < 0) return false;
      *c2c_instruction(claim, Opcode::kReceive, in_hop.to_port, t, isa::Stream(direction, stream))
           .mutable_intent()
           ->mutable_sent() = sent;
      AddSource({c2c_queue(in_hop.to_port), t},
                c2c_instruction(claim, Opcode::kSend, out_hop.from_port, send, isa::Stream(direction, stream))
                    .mutable_intent()
                    ->mutable_a());
      return true;
    }));
    sent_by(out_hop.from, out_hop.from_port, receive + receive_latency + Distance(in, out));
    use_port(out_hop.from, in_hop.to_port);
    use_port(out_hop.from, out_hop.from_port);
    chips_[out_hop.from].receives[in_hop.to_port].push_back(receive);
    const int64_t departure = receive + receive_latency + Distance(in, out) + send_latency;
    last_departure_[{out_hop.link, link_direction(out_hop)}] = departure;
    arrival = isa::LinkArrivalCycle(departure, serialization, link_latency);
  }
  // Destination: Receive, then Write as the plane passes the MEM slice.
  const pipeline::Hop& last = route.back();
  const int in = C2cPosition(last.to_port);
  ChipScheduler& scheduler = chip(to);
  ASSIGN_OR_RETURN(const int64_t receive,
                   scheduler.Place(receive_lower(to, last.to_port, arrival), "Receive",
                                   [&](int64_t t, Claim& claim) {
                                     const int64_t land = t + receive_latency;
                                     const int64_t write = land + Distance(in, to_slice);
                                     const isa::Direction direction = Toward(in, to_slice);
                                     if (!claim.UseQueue(scheduler.Queue(in), t)) return false;
                                     const int stream = claim.Streams(direction, 1, in, land);
                                     if (stream < 0 || !claim.Write(to_slice, to_address, write)) {
                                       return false;
                                     }
                                     *c2c_instruction(claim, Opcode::kReceive, last.to_port, t,
                                                      isa::Stream(direction, stream))
                                          .mutable_intent()
                                          ->mutable_sent() = sent;
                                     isa::Instruction& instruction =
                                         claim.Emit(scheduler.Queue(to_slice), write, Opcode::kWrite);
                                     instruction.set_address(to_address);
                                     *instruction.mutable_a() = isa::Stream(direction, stream);
                                     AddSource({c2c_queue(last.to_port), t}, instruction.mutable_intent()->mutable_a());
                                     return true;
                                   }));
  use_port(to, last.to_port);
  chips_[to].receives[last.to_port].push_back(receive);
  return absl::OkStatus();
}

isa::ChipPrograms SystemScheduler::Build() {
  for (auto& [id, state] : chips_) {
    if (state.scheduler == nullptr) continue;
    std::map<int, int64_t> next_deskew_cycle;
    for (const auto& [slice_index, port] : state.used_ports) {
      state.scheduler
          ->AddInstruction(state.scheduler->Queue(c2c_slices_[slice_index]),
                           next_deskew_cycle[slice_index]++, Opcode::kDeskew)
          .set_port(port);
    }
    state.scheduler->BuildInto(&programs_[id]);
  }
  return std::move(programs_);
}

int64_t SystemScheduler::last_cycle() const {
  int64_t last = 0;
  for (const auto& [id, state] : chips_) {
    if (state.scheduler != nullptr) last = std::max(last, state.scheduler->last_cycle());
  }
  return last;
}

int64_t SystemScheduler::instruction_count() const {
  int64_t count = 0;
  for (const auto& [id, state] : chips_) {
    if (state.scheduler != nullptr) count += state.scheduler->instruction_count();
  }
  return count;
}

}  // namespace tsp::scheduler
