#ifndef TSP_TOOLS_MODEL_COMMAND_H_
#define TSP_TOOLS_MODEL_COMMAND_H_

// `tsp run --model=...`: a model laid over a system by the partitioner,
// compiled and emulated (scheduler/model_run.h), reported as text or as the
// RunReport protobuf in JSON. Progress goes to `progress` (the terminal),
// never into the report.

#include <functional>
#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/partitioner.h"
#include "scheduler/run_report.pb.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

// The request's model (--model: a built-in name or a path); an unknown name
// is a usage error with the nearest names.
absl::StatusOr<models::ModelConfig> LoadRequestModel(const TspRequest& request);

// The partition the request asks for (--weights, --context, --users,
// --chips, --tp, --stages): usage errors for values that cannot describe a
// partition of `config` (a width that does not split it, more stages than
// layers, --chips that is not --tp x --stages).
absl::StatusOr<scheduler::PartitionQuery> PartitionQueryFor(const TspRequest& request,
                                                           const models::ModelConfig& config);

using PartitionedRun =
    std::function<absl::Status(const isa::ChipModel&, const pipeline::SystemModel&, const pipeline::Topology&,
                               const models::ModelConfig&, const scheduler::PartitionQuery&,
                               const scheduler::PartitionChoice&, const TspRequest&)>;

// Loads the specs and the model named by `request` (--chip, --system,
// --model, --chips, --context, --users, --weights, --tp, --stages), lays the
// model over the system, and hands all of it to `run` (with the prompt
// length resolved).
absl::Status Partitioned(const TspRequest& request, std::ostream& progress, const PartitionedRun& run);

absl::Status RunModelCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);

// The timing run's report itself (for checks that compare it with bounds).
absl::StatusOr<scheduler::RunReport> RunModelReport(const TspRequest& request, std::ostream& progress);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_MODEL_COMMAND_H_
