#ifndef TSP_TOOLS_REQUEST_SPECS_H_
#define TSP_TOOLS_REQUEST_SPECS_H_

// The hardware a `tsp` request runs on, the same way for every subcommand:
// the chip (--chip, or the built-in tsp_v1), the system (--system, a built-in
// name or a path; groq_576 when none is named), then the overlay (--overlay)
// and the what-if overrides (--set) over both. Nothing here depends on the
// working directory unless a path is given.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/chip_spec.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/system_spec.pb.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

struct RequestSpecs {
  isa::ChipSpec chip;
  pipeline::SystemSpec system;
  std::string system_origin;  // The name or path the system came from, for errors.
};

// The specs, with `extra_overrides` (sweep's point) applied after --set.
absl::StatusOr<RequestSpecs> LoadRequestSpecs(const TspRequest& request,
                                              const std::vector<std::string>& extra_overrides = {});

// The validated chip of the request.
absl::StatusOr<isa::ChipModel> RequestChip(const TspRequest& request);

// The validated chip and system of the request (the system checked against
// the chip); errors name the system's file or built-in name.
struct RequestHardware {
  isa::ChipModel chip;
  pipeline::SystemModel system;
};
absl::StatusOr<RequestHardware> RequestChipAndSystem(const TspRequest& request);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_REQUEST_SPECS_H_
