#include "tools/fit_command.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "isa/status_macros.h"
#include "pipeline/topology.h"
#include "scheduler/capacity_report.h"
#include "scheduler/partitioner.h"
#include "tools/model_command.h"
#include "tools/proto_json.h"
#include "tools/request_specs.h"
#include "tools/usage_error.h"

namespace tsp::tools {

absl::Status FitCommand(const TspRequest& request, std::ostream& out) {
  if (!request.format().empty() && request.format() != "text" && request.format() != "json") {
    return UsageError(absl::StrCat("--format=", request.format(), " is not one of: text, json"));
  }
  ASSIGN_OR_RETURN(models::ModelConfig config, LoadRequestModel(request));
  ASSIGN_OR_RETURN(scheduler::PartitionQuery query, PartitionQueryFor(request, config));
  ASSIGN_OR_RETURN(RequestSpecs specs, LoadRequestSpecs(request));
  ASSIGN_OR_RETURN(isa::ChipModel chip, isa::ChipModel::Create(specs.chip));
  const bool fewest = query.chips == 0 && query.tensor_parallel == 0 && query.stages == 0;
  const int max_chips = request.max_chips() > 0 ? static_cast<int>(request.max_chips()) : 2304;
  pipeline::SystemSpec spec = specs.system;
  if (fewest) {
    // The search runs on the system's design grown (or cut) to max_chips.
    const int64_t per_node = std::max<int64_t>(1, spec.chips_per_node().value());
    spec.mutable_nodes()->set_value((max_chips + per_node - 1) / per_node);
    spec.mutable_nodes()->set_source(absl::StrCat("DERIVED: tsp fit --max_chips=", max_chips));
  }
  absl::StatusOr<pipeline::SystemModel> system = pipeline::SystemModel::Create(spec, chip);
  if (!system.ok()) {
    return absl::Status(system.status().code(), absl::StrCat(specs.system_origin, ": ", system.status().message()));
  }
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(*system, chip));
  scheduler::PartitionChoice choice;
  if (fewest) {
    absl::StatusOr<scheduler::FewestChips> found =
        scheduler::FindFewestChips(query, chip, *system, topology, max_chips);
    if (absl::IsNotFound(found.status())) {
      // The partitioner's own account of the largest system: the preferred
      // width's shortfall in bytes and the fewest chips that would fit.
      absl::StatusOr<scheduler::PartitionChoice> whole = scheduler::ChoosePartition(query, chip, *system, topology);
      if (!whole.ok()) return whole.status();
      return absl::InternalError("the fewest-chip search found nothing, but the whole system fits");
    }
    if (!found.ok()) return found.status();
    if (!found->confirmed) return absl::InternalError("the fewest-chip partition was not allocated in full");
    choice = std::move(found->choice);
  } else {
    absl::StatusOr<scheduler::PartitionChoice> chosen = scheduler::ChoosePartition(query, chip, *system, topology);
    if (absl::IsInvalidArgument(chosen.status())) return AsUsageError(chosen.status());
    if (!chosen.ok()) return chosen.status();
    choice = *std::move(chosen);
  }
  scheduler::FitReport report = scheduler::CapacityOf(choice, chip);
  report.set_model(config.name());
  report.set_weight_format(models::NumberFormatName(query.format));
  report.set_system(system->spec().name());
  report.set_chip(chip.name());
  report.set_context_tokens(query.context_tokens);
  report.set_users_asked(query.users);
  report.set_fewest(fewest);
  report.set_max_chips(fewest ? max_chips : 0);
  if (request.format() == "json") {
    out << ProtoJson(report) << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("tsp fit: %s, %s weights, KV caches of %d tokens, on %s chips\n", report.model(),
                         report.weight_format(), report.context_tokens(), report.chip());
  out << absl::StrFormat("  partition : %d chips = %d-way tensor parallel x %d stages%s\n", report.chips(),
                         report.tensor_parallel(), report.pipeline_stages(),
                         fewest ? absl::StrFormat(" (the fewest that hold %d %s, searched up to %d chips)",
                                                  report.users_asked(), report.users_asked() == 1 ? "user" : "users",
                                                  max_chips)
                                : absl::StrFormat(" (of the %d-chip %s)", topology.chips(), report.system()));
  out << absl::StrFormat("  users     : %d whose KV caches fit beside the weights\n", report.concurrent_users());
  out << scheduler::CapacityText(report, "  ");
  return absl::OkStatus();
}

}  // namespace tsp::tools
