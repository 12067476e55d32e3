#include "pipeline/system_emulator.h"

#include <algorithm>
#include <array>
#include <deque>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "emulator/messages.h"
#include "isa/hazards.h"
#include "isa/status_macros.h"
#include "pipeline/system_verifier.h"
#include "pipeline/worker_pool.h"

namespace tsp::pipeline {

int64_t SystemEmulator::AlignmentCycles(const SystemModel& system, const Topology& topology,
                                        const std::vector<int>& chips) {
  if (chips.size() <= 1) return 0;
  const std::vector<int> hops = topology.HopsFrom(chips.front());
  int depth = 0;
  for (int chip : chips) depth = std::max(depth, hops[chip]);
  return depth * (system.spec().link_latency_cycles().value() + system.link_serialization_cycles());
}

absl::StatusOr<std::unique_ptr<SystemEmulator>> SystemEmulator::Create(
    const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
    const isa::ChipPrograms& programs, SystemRunOptions options) {
  std::unique_ptr<SystemEmulator> emulator(new SystemEmulator());
  emulator->chip_ = &chip;
  emulator->system_ = &system;
  emulator->topology_ = &topology;
  emulator->options_ = options;
  const std::vector<int> c2c = chip.SlicesOfKind(isa::SLICE_C2C);
  emulator->c2c_slices_ = c2c;
  for (size_t i = 0; i < c2c.size(); ++i) {
    emulator->c2c_slice_index_[chip.slices()[c2c[i]].name] = static_cast<int>(i);
  }
  const std::vector<int> hops =
      programs.empty() ? std::vector<int>() : topology.HopsFrom((*programs.begin()).first);
  for (const auto& [id, program] : programs) {
    if (id < 0 || id >= topology.chips()) {
      return absl::InvalidArgumentError(emulator::NoSuchChipCause(id, topology.chips()));
    }
    if (hops[id] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chip ", id, " is not linked to chip ", (*programs.begin()).first,
          ", so the chips cannot align to one time base"));
    }
    emulator->index_of_chip_[id] = static_cast<int>(emulator->chip_ids_.size());
    emulator->chip_ids_.push_back(id);
  }
  emulator->programs_ = &programs;
  RETURN_IF_ERROR(emulator->CreateChipEmulators(options.early_stream_values, options.verify));
  return emulator;
}

absl::Status SystemEmulator::CreateChipEmulators(bool early_stream_values, bool verify) {
  // Decoding is independent per chip: done on the worker threads.
  std::vector<const isa::Program*> sources;
  for (const auto& [id, program] : *programs_) sources.push_back(&program);
  std::vector<absl::StatusOr<std::unique_ptr<emulator::ChipEmulator>>> created(sources.size());
  WorkerPool pool(options_.threads);
  pool.Run(static_cast<int>(sources.size()), [&](int i) {
    emulator::RunOptions chip_options;
    chip_options.functional = options_.functional;
    chip_options.record_trace = options_.record_trace;
    chip_options.chip_label = absl::StrCat("chip ", chip_ids_[i]);
    chip_options.cycle_limit = options_.cycle_limit;
    chip_options.early_stream_values = early_stream_values;
    created[i] = emulator::ChipEmulator::Create(*chip_, *sources[i], chip_options);
  });
  emulators_.clear();
  for (auto& chip_emulator : created) {
    if (!chip_emulator.ok()) return chip_emulator.status();
    emulators_.push_back(*std::move(chip_emulator));
  }
  if (verify) {  // The whole system, links included, on the programs just decoded.
    std::vector<const emulator::DecodedProgram*> decoded;
    for (const auto& chip_emulator : emulators_) decoded.push_back(&chip_emulator->decoded_program());
    RETURN_IF_ERROR(VerifySystem(*chip_, *system_, *topology_, chip_ids_, decoded, options_.threads));
  }
  link_free_.assign(topology_->links().size(), {INT64_MIN, INT64_MIN});
  link_last_departure_.assign(topology_->links().size(), {INT64_MIN, INT64_MIN});
  return absl::OkStatus();
}

absl::Status SystemEmulator::Deliver(int chip, std::vector<emulator::OutboundVector> sent,
                                     SystemRunResult* result) {
  const int64_t serialization = system_->link_serialization_cycles();
  const int64_t latency = system_->spec().link_latency_cycles().value();
  for (emulator::OutboundVector& vector : sent) {
    const int port = c2c_slice_index_.at(vector.slice) * chip_->c2c_ports_per_slice() + vector.port;
    const std::string where =
        emulator::DepartureWhere(chip, vector.slice, vector.port, port, vector.departure_cycle);
    const int link = topology_->LinkAt(chip, port);
    if (link < 0) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": ", emulator::NoLinkCause()));
    }
    const PortRef peer = topology_->Peer(chip, port);
    const int direction = topology_->links()[link].a.chip == chip &&
                                  topology_->links()[link].a.port == port
                              ? 0
                              : 1;
    if (!isa::LinkDeparture(vector.departure_cycle, link_free_[link][direction],
                            {-1, -1, link_last_departure_[link][direction]})
             .ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, ": ",
                       emulator::LinkBusyCause(link, peer.chip, link_last_departure_[link][direction],
                                               link_free_[link][direction], serialization)));
    }
    link_free_[link][direction] = isa::LinkFreeCycle(vector.departure_cycle, serialization);
    link_last_departure_[link][direction] = vector.departure_cycle;
    auto receiver = index_of_chip_.find(peer.chip);
    if (receiver == index_of_chip_.end()) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": ", emulator::NoReceiverCause(peer.chip)));
    }
    const int64_t arrival = isa::LinkArrivalCycle(vector.departure_cycle, serialization, latency);
    const isa::SliceInfo& peer_slice = chip_->slices()[c2c_slices_[topology_->PortSlice(peer.port)]];
    emulator::InboundVector inbound;
    inbound.slice = peer_slice.name;
    inbound.port = topology_->PortInSlice(peer.port);
    inbound.arrival_cycle = arrival;
    inbound.data = std::move(vector.data);
    inbound.from_chip = chip;
    inbound.from_queue = std::move(vector.queue);
    inbound.send_cycle = vector.send_cycle;
    RETURN_IF_ERROR(emulators_[receiver->second]->AddInbound(inbound));
    result->transfers.push_back(
        {link, chip, port, peer.chip, peer.port, vector.departure_cycle, arrival});
  }
  return absl::OkStatus();
}

absl::StatusOr<SystemRunResult> SystemEmulator::Run() {
  absl::StatusOr<SystemRunResult> result = RunOnce();
  if (result.ok() || emulators_.empty() || !emulators_.front()->puts_stream_values_early()) return result;
  // Report the error as the run event by event does (every chip has the same options).
  RETURN_IF_ERROR(CreateChipEmulators(/*early_stream_values=*/false, /*verify=*/false));  // Verified when created.
  return RunOnce();
}

absl::StatusOr<SystemRunResult> SystemEmulator::RunOnce() {
  SystemRunResult result;
  result.alignment_cycles = AlignmentCycles(*system_, *topology_, chip_ids_);
  const int64_t window =
      system_->link_serialization_cycles() + system_->spec().link_latency_cycles().value();
  WorkerPool pool(options_.threads);
  std::vector<absl::Status> statuses(emulators_.size());
  while (true) {
    int64_t start = INT64_MAX;
    for (auto& emulator : emulators_) {
      std::optional<int64_t> next = emulator->NextEventCycle();
      if (next.has_value()) start = std::min(start, *next);
    }
    if (start == INT64_MAX) break;
    const int64_t horizon = start + window - 1;
    ++result.windows;
    pool.Run(static_cast<int>(emulators_.size()),
             [&](int i) { statuses[i] = emulators_[i]->AdvanceTo(horizon); });
    for (size_t i = 0; i < emulators_.size(); ++i) RETURN_IF_ERROR(statuses[i]);
    for (size_t i = 0; i < emulators_.size(); ++i) {
      RETURN_IF_ERROR(Deliver(chip_ids_[i], emulators_[i]->TakeSent(), &result));
    }
  }
  for (size_t i = 0; i < emulators_.size(); ++i) {
    ASSIGN_OR_RETURN(emulator::RunResult chip_result, emulators_[i]->Finish());
    result.last_event_cycle = std::max(result.last_event_cycle, chip_result.last_event_cycle);
    result.completion_cycle = std::max(result.completion_cycle, chip_result.completion_cycle);
    result.instructions_issued += chip_result.instructions_issued;
    result.chips.emplace(chip_ids_[i], std::move(chip_result));
  }
  // Delivery order follows the windows, which depend on how many events a
  // chip has (early stream values have fewer); departure order does not.
  std::stable_sort(result.transfers.begin(), result.transfers.end(), [](const Transfer& a, const Transfer& b) {
    return std::tie(a.departure_cycle, a.from_chip, a.from_port) < std::tie(b.departure_cycle, b.from_chip, b.from_port);
  });
  return result;
}

absl::StatusOr<std::string> SystemEmulator::ReadMemory(int chip, absl::string_view slice,
                                                       int64_t address, int64_t vectors) const {
  auto it = index_of_chip_.find(chip);
  if (it == index_of_chip_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("chip ", chip, " has no program"));
  }
  return emulators_[it->second]->ReadMemory(slice, address, vectors);
}

const emulator::ChipEmulator* SystemEmulator::chip_emulator(int chip) const {
  auto it = index_of_chip_.find(chip);
  return it == index_of_chip_.end() ? nullptr : emulators_[it->second].get();
}

}  // namespace tsp::pipeline
