#ifndef TSP_SCHEDULER_PLANNER_H_
#define TSP_SCHEDULER_PLANNER_H_

// Capacity planning with the exact compiler: which pipelines of chips serve a
// model, at what per-user speed, for how many users, drawing what and
// costing what.
//
// A pipeline is a number format, a tensor-parallel width and a number of
// stages (ChoosePartition lays the layers). For each format and width the
// planner finds the fewest stages that fit (FindFewestChips), then halves the
// layers per stage down to one (more stages: more SRAM for users' KV
// caches), and times each pipeline once with RunModel (compiled, and
// emulated unless told not to). A pipeline the compiler cannot lay out or
// time is left out with its reason (PlanReport.skipped); the search goes on.
// Every chip count asked for gets a row or a reason (unlisted_chip_counts).
// An option is a pipeline copied `replicas` times on whole nodes; replicas
// serve disjoint users, so speed per user is the pipeline's and users and
// aggregate rate scale with the copies. Power and price come from the
// SystemSpec (watts and dollars per chip, amortization, electricity).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "models/reference_ops.h"
#include "pipeline/system_spec.pb.h"
#include "scheduler/plan_report.pb.h"

namespace tsp::scheduler {

struct PlanQuery {
  models::ModelConfig config;
  // Everything but the node count, which the planner sets per pipeline.
  pipeline::SystemSpec system;
  std::vector<models::NumberFormat> formats = {models::NumberFormat::kInt8};
  // Chip counts an option may occupy (whole nodes), ascending.
  std::vector<int> chip_counts;
  // The counts were listed one by one (not a range): each is also timed with
  // the pipeline that uses it whole (the most stages of each width that fit
  // in it, as `tsp run --chips=N` would lay it).
  bool chip_counts_listed = false;
  // Tensor-parallel widths to try; empty: the partitioner's (WidthsToTry: 1 up to four nodes).
  std::vector<int> widths;
  int64_t context_tokens = 0;  // 0: the model's.
  int64_t prompt_tokens = 2048;
  // Constraints (0: none).
  double min_tokens_per_s_per_user = 0;
  int64_t users = 0;
  double max_ttft_s = 0;
  // Off: pipelines are compiled only, but those of the Pareto front and of
  // the chosen option are always emulated (predicted == emulated checked).
  bool emulate_search = true;
  // Every unit checked by the independent verifier first (ModelRunOptions::
  // verify): the options compiled only are then verified, not unchecked.
  bool verify = true;
  // Time the prompt of every pipeline, not only of the listed options'.
  bool every_row = false;
  int threads = 2;
  std::function<void(const std::string&)> progress;
};

// The plan for `query` (see above). Errors: no chip counts or formats, a
// system spec that makes no system (InvalidArgument), or no pipeline of the
// widths tried fits the largest count asked (ResourceExhausted, with the
// shortfall); an option that fails is left out with why, not an error.
absl::StatusOr<PlanReport> Plan(const PlanQuery& query, const isa::ChipModel& chip);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_PLANNER_H_
