#include "tools/request_specs.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/builtin_texts.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "tools/spec_overrides.h"
#include "tools/usage_error.h"

namespace tsp::tools {

absl::StatusOr<RequestSpecs> LoadRequestSpecs(const TspRequest& request,
                                              const std::vector<std::string>& extra_overrides) {
  RequestSpecs specs;
  if (request.chip().empty()) {
    RETURN_IF_ERROR(isa::ParseTextProto(isa::DefaultChipSpecText(), "isa/specs/tsp_v1.textproto", &specs.chip));
  } else {
    RETURN_IF_ERROR(isa::LoadTextProtoFile(request.chip(), &specs.chip));
  }
  specs.system_origin = request.system().empty() ? pipeline::kDefaultSystemName : request.system();
  const absl::Status system = pipeline::LoadSystemSpec(specs.system_origin, &specs.system);
  if (absl::IsNotFound(system) && !isa::IsPath(specs.system_origin)) return AsUsageError(system);
  RETURN_IF_ERROR(system);
  if (!request.overlay().empty()) RETURN_IF_ERROR(ApplyOverlay(request.overlay(), &specs.chip, &specs.system));
  std::vector<std::string> overrides(request.set().begin(), request.set().end());
  overrides.insert(overrides.end(), extra_overrides.begin(), extra_overrides.end());
  RETURN_IF_ERROR(AsUsageError(ApplyOverrides(overrides, &specs.chip, &specs.system)));
  return specs;
}

absl::StatusOr<isa::ChipModel> RequestChip(const TspRequest& request) {
  if (request.chip().empty() && request.set().empty() && request.overlay().empty()) return isa::DefaultChipModel();
  ASSIGN_OR_RETURN(RequestSpecs specs, LoadRequestSpecs(request));
  absl::StatusOr<isa::ChipModel> chip = isa::ChipModel::Create(specs.chip);
  if (!chip.ok() && !request.chip().empty()) {
    return absl::Status(chip.status().code(), absl::StrCat(request.chip(), ": ", chip.status().message()));
  }
  return chip;
}

absl::StatusOr<RequestHardware> RequestChipAndSystem(const TspRequest& request) {
  ASSIGN_OR_RETURN(RequestSpecs specs, LoadRequestSpecs(request));
  absl::StatusOr<isa::ChipModel> chip = isa::ChipModel::Create(specs.chip);
  if (!chip.ok()) {
    if (request.chip().empty()) return chip.status();
    return absl::Status(chip.status().code(), absl::StrCat(request.chip(), ": ", chip.status().message()));
  }
  absl::StatusOr<pipeline::SystemModel> system = pipeline::SystemModel::Create(specs.system, *chip);
  if (!system.ok()) {
    return absl::Status(system.status().code(), absl::StrCat(specs.system_origin, ": ", system.status().message()));
  }
  return RequestHardware{*std::move(chip), *std::move(system)};
}

}  // namespace tsp::tools
