#ifndef TSP_TOOLS_USAGE_ERROR_H_
#define TSP_TOOLS_USAGE_ERROR_H_

// Usage errors: the command line itself is wrong (an unknown command, model or
// flag, a flag that does not apply, a value out of range, flags that do not go
// together), found before any work starts. `tsp` exits 2 on these and 1 on a
// failure of the work (a model that does not fit, a hazard, a file that does
// not parse), as README.md says.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tsp::tools {

inline constexpr char kUsageErrorPayload[] = "type.tsp/usage_error";

// InvalidArgument with `message`, marked as a usage error.
inline absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsageErrorPayload, absl::Cord("1"));
  return status;
}

// The same status marked as a usage error (for errors of lower layers that,
// in the tools, can only come from what the user asked).
inline absl::Status AsUsageError(absl::Status status) {
  if (!status.ok()) status.SetPayload(kUsageErrorPayload, absl::Cord("1"));
  return status;
}

inline bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsageErrorPayload).has_value();
}

}  // namespace tsp::tools

#endif  // TSP_TOOLS_USAGE_ERROR_H_
