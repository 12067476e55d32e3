#ifndef TSP_TOOLS_COMPARE_COMMAND_H_
#define TSP_TOOLS_COMPARE_COMMAND_H_

// `tsp compare --model=... --input_tokens=I --output_tokens=O`: the same
// serving job on the LPU (the planner's fewest-chip Pareto option, compiled
// and emulated) and on HBM-based accelerator servers (a roofline of their
// published specs, pipeline/roofline.h), one row each, labelled by method;
// with how many LPU chips match each system. Table or a JSON list; an SVG
// plot of per-user speed against throughput per rack.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/compare_report.pb.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

absl::Status CompareCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);

// The report (and the plot's SVG when `svg` is not null).
absl::StatusOr<CompareReport> CompareReportFor(const TspRequest& request, std::ostream& progress, std::string* svg);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_COMPARE_COMMAND_H_
