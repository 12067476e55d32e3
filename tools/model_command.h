#ifndef TSP_TOOLS_MODEL_COMMAND_H_
#define TSP_TOOLS_MODEL_COMMAND_H_

// `tsp run --model=...`: a model laid over a system by the partitioner,
// compiled and emulated (scheduler/model_run.h), reported as text or as the
// RunReport protobuf in JSON. Progress goes to `progress` (the terminal),
// never into the report.

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scheduler/run_report.pb.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

absl::Status RunModelCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);

// The timing run's report itself (for checks that compare it with bounds).
absl::StatusOr<scheduler::RunReport> RunModelReport(const TspRequest& request, std::ostream& progress);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_MODEL_COMMAND_H_
