#ifndef TSP_TOOLS_FIT_COMMAND_H_
#define TSP_TOOLS_FIT_COMMAND_H_

// `tsp fit --model=...`: the partition whose SRAM holds a model, from the
// partitioner (the compiler's own allocation, the same accounting `run` and
// `plan` use), and per stage what fills each chip and why N users fit. With
// none of --chips, --tp, --stages it finds the fewest chips (up to
// --max_chips); with any, the partition `tsp run` would use. Text, or the
// FitReport protobuf as JSON.

#include <ostream>

#include "absl/status/status.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

absl::Status FitCommand(const TspRequest& request, std::ostream& out);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_FIT_COMMAND_H_
