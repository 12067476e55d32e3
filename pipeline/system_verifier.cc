#include "pipeline/system_verifier.h"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "emulator/messages.h"
#include "emulator/program_verifier.h"
#include "isa/hazards.h"
#include "isa/status_macros.h"
#include "pipeline/worker_pool.h"

namespace tsp::pipeline {
namespace {

// The lockstep windows the emulator runs through: each starts at the next
// cycle any chip has work and spans one link delay.
class Windows {
 public:
  Windows() = default;  // Unknown: every cycle is window 0, every vector delivered before the run.
  Windows(const std::vector<int64_t>& cycles, int64_t length) : known_(true) {
    for (size_t i = 0; i < cycles.size();) {
      starts_.push_back(cycles[i]);
      const int64_t horizon = cycles[i] + length - 1;
      i = std::upper_bound(cycles.begin() + i, cycles.end(), horizon) - cycles.begin();
    }
    length_ = length;
  }
  int64_t Of(int64_t cycle) const {
    if (!known_) return 0;
    return std::upper_bound(starts_.begin(), starts_.end(), cycle) - starts_.begin() - 1;
  }
  // The last cycle of the window of `cycle`: the system delivers what departs
  // in it once every chip has run through it.
  int64_t Horizon(int64_t cycle) const {
    if (!known_) return -1;
    const int64_t w = Of(cycle);
    return w < 0 ? -1 : starts_[w] + length_ - 1;
  }

 private:
  bool known_ = false;
  std::vector<int64_t> starts_;
  int64_t length_ = 0;
};

// An error and where the emulator would meet it: (window, 0 for a chip's
// run or 1 for a departure, chip index).
struct Found {
  std::tuple<int64_t, int, size_t> key;
  absl::Status status;
};

class SystemCheck {
 public:
  SystemCheck(const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
              const std::vector<int>& chip_ids, const std::vector<const emulator::DecodedProgram*>& programs,
              int threads)
      : chip_(chip), system_(system), topology_(topology), chip_ids_(chip_ids), programs_(programs), pool_(threads) {
    for (size_t i = 0; i < chip_ids.size(); ++i) index_of_chip_[chip_ids[i]] = i;
    const std::vector<int> c2c = chip.SlicesOfKind(isa::SLICE_C2C);
    c2c_slices_ = c2c;
    for (size_t i = 0; i < c2c.size(); ++i) c2c_slice_index_[chip.slices()[c2c[i]].name] = static_cast<int>(i);
  }

  // One check; with `exact`, the emulator's windows are worked out first.
  absl::Status Run(bool exact) {
    const size_t n = chip_ids_.size();
    std::vector<std::unique_ptr<emulator::ChipVerifier>> verifiers(n);
    pool_.Run(static_cast<int>(n), [&](int i) {
      verifiers[i] = std::make_unique<emulator::ChipVerifier>(chip_, *programs_[i], absl::StrCat("chip ", chip_ids_[i]));
    });
    Windows windows;
    if (exact) {
      std::vector<int64_t> cycles;
      for (const auto& verifier : verifiers) {
        const std::vector<int64_t>& own = verifier->EventCycles();
        cycles.insert(cycles.end(), own.begin(), own.end());
      }
      std::sort(cycles.begin(), cycles.end());
      cycles.erase(std::unique(cycles.begin(), cycles.end()), cycles.end());
      windows = Windows(cycles, system_.link_serialization_cycles() + system_.spec().link_latency_cycles().value());
    }
    std::vector<std::vector<emulator::InboundVector>> inbound(n);
    std::optional<Found> first;
    auto offer = [&first](Found found) {
      if (!first.has_value() || found.key < first->key) first = std::move(found);
    };
    for (size_t i = 0; i < n; ++i) {
      absl::Status status = Deliver(i, verifiers[i]->Sent(), windows, &inbound);
      if (!status.ok()) offer({{windows.Of(departure_failed_), 1, i}, std::move(status)});
    }
    std::vector<emulator::ChipVerdict> verdicts(n);
    pool_.Run(static_cast<int>(n), [&](int i) { verdicts[i] = verifiers[i]->Check(inbound[i]); });
    for (size_t i = 0; i < n; ++i) {
      if (!verdicts[i].run.ok()) offer({{windows.Of(verdicts[i].cycle), 0, i}, verdicts[i].run});
    }
    if (first.has_value()) return first->status;
    for (const emulator::ChipVerdict& verdict : verdicts) RETURN_IF_ERROR(verdict.end);
    return absl::OkStatus();
  }

 private:
  // Chip `i`'s vectors onto their links and into their receivers' inbound
  // lists, in departure order; the first that breaks a link rule is the error
  // (departure_failed_ its cycle), and the rest of the chip's are not sent.
  absl::Status Deliver(size_t i, const std::vector<emulator::OutboundVector>& sent, const Windows& windows,
                       std::vector<std::vector<emulator::InboundVector>>* inbound) {
    const int chip = chip_ids_[i];
    const int64_t serialization = system_.link_serialization_cycles();
    const int64_t latency = system_.spec().link_latency_cycles().value();
    std::map<std::pair<int, int>, std::pair<int64_t, int64_t>> links;  // (link, direction) -> (free, last departure).
    for (const emulator::OutboundVector& vector : sent) {
      const int port = c2c_slice_index_.at(vector.slice) * chip_.c2c_ports_per_slice() + vector.port;
      departure_failed_ = vector.departure_cycle;
      const std::string where = emulator::DepartureWhere(chip, vector.slice, vector.port, port, vector.departure_cycle);
      const int link = topology_.LinkAt(chip, port);
      if (link < 0) return absl::FailedPreconditionError(absl::StrCat(where, ": ", emulator::NoLinkCause()));
      const PortRef peer = topology_.Peer(chip, port);
      const int direction =
          topology_.links()[link].a.chip == chip && topology_.links()[link].a.port == port ? 0 : 1;
      auto state = links.try_emplace({link, direction}, INT64_MIN, INT64_MIN).first;
      auto& [link_free, last_departure] = state->second;
      if (!isa::LinkDeparture(vector.departure_cycle, link_free, {-1, -1, last_departure}).ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            where, ": ", emulator::LinkBusyCause(link, peer.chip, last_departure, link_free, serialization)));
      }
      link_free = isa::LinkFreeCycle(vector.departure_cycle, serialization);
      last_departure = vector.departure_cycle;
      auto receiver = index_of_chip_.find(peer.chip);
      if (receiver == index_of_chip_.end()) {
        return absl::FailedPreconditionError(absl::StrCat(where, ": ", emulator::NoReceiverCause(peer.chip)));
      }
      emulator::InboundVector arriving;
      arriving.slice = chip_.slices()[c2c_slices_[topology_.PortSlice(peer.port)]].name;
      arriving.port = topology_.PortInSlice(peer.port);
      arriving.arrival_cycle = isa::LinkArrivalCycle(vector.departure_cycle, serialization, latency);
      arriving.from_chip = chip;
      arriving.from_queue = vector.queue;
      arriving.send_cycle = vector.send_cycle;
      arriving.delivered_after = windows.Horizon(vector.departure_cycle);
      (*inbound)[receiver->second].push_back(std::move(arriving));
    }
    return absl::OkStatus();
  }

  const isa::ChipModel& chip_;
  const SystemModel& system_;
  const Topology& topology_;
  const std::vector<int>& chip_ids_;
  const std::vector<const emulator::DecodedProgram*>& programs_;
  WorkerPool pool_;
  std::map<int, size_t> index_of_chip_;
  std::map<std::string, int> c2c_slice_index_;  // C2C slice name -> index west to east.
  std::vector<int> c2c_slices_;
  int64_t departure_failed_ = 0;
};

}  // namespace

absl::Status VerifySystem(const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
                          const std::vector<int>& chip_ids,
                          const std::vector<const emulator::DecodedProgram*>& programs, int threads) {
  SystemCheck check(chip, system, topology, chip_ids, programs, threads);
  const absl::Status quick = check.Run(/*exact=*/false);
  if (quick.ok()) return quick;
  return check.Run(/*exact=*/true);
}

absl::Status VerifySystemPrograms(const isa::ChipModel& chip, const SystemModel& system, const Topology& topology,
                                  const isa::ChipPrograms& programs, int threads) {
  std::vector<int> chip_ids;
  std::vector<const isa::Program*> sources;
  for (const auto& [id, program] : programs) {
    if (id < 0 || id >= topology.chips()) {
      return absl::InvalidArgumentError(emulator::NoSuchChipCause(id, topology.chips()));
    }
    chip_ids.push_back(id);
    sources.push_back(&program);
  }
  std::vector<absl::StatusOr<emulator::DecodedProgram>> decoded(sources.size());
  WorkerPool pool(threads);
  pool.Run(static_cast<int>(sources.size()), [&](int i) {
    decoded[i] = emulator::DecodeProgram(chip, *sources[i], absl::StrCat("chip ", chip_ids[i]));
  });
  std::vector<const emulator::DecodedProgram*> pointers;
  for (const auto& program : decoded) {
    if (!program.ok()) return program.status();
    pointers.push_back(&*program);
  }
  return VerifySystem(chip, system, topology, chip_ids, pointers, threads);
}

}  // namespace tsp::pipeline
