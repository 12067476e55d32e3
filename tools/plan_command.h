#ifndef TSP_TOOLS_PLAN_COMMAND_H_
#define TSP_TOOLS_PLAN_COMMAND_H_

// `tsp plan --model=...`: the options of serving a model over a range of chip
// counts (scheduler/planner.h), as a table, CSV or the PlanReport in JSON,
// and optionally an SVG plot; `tsp sweep --field=... --values=...`: a plan
// per value of one spec field. Both take what-if overrides of the specs.
// Progress goes to `progress`, never into the output.

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scheduler/plan_report.pb.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

absl::Status PlanCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);
absl::Status SweepCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);

// The plan itself (for tests).
absl::StatusOr<scheduler::PlanReport> PlanReportFor(const TspRequest& request, std::ostream& progress);

// The report's rows as CSV (a header line, then one line per row shown).
std::string PlanCsv(const scheduler::PlanReport& report, bool all_rows);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_PLAN_COMMAND_H_
