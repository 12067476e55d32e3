#ifndef TSP_TOOLS_TSP_CLI_H_
#define TSP_TOOLS_TSP_CLI_H_

// The logic of the `tsp` command line, callable from tests.

#include <ostream>

#include "absl/status/status.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

// Carries out `request`, writing its report to `out`. A failed check (a
// result that differs from the reference, a prediction that differs from the
// emulation) is an error, so the command exits non-zero.
absl::Status RealMain(const TspRequest& request, std::ostream& out);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_TSP_CLI_H_
