#ifndef TSP_SCHEDULER_TENSOR_PARALLEL_WIDTH_H_
#define TSP_SCHEDULER_TENSOR_PARALLEL_WIDTH_H_

// Which tensor-parallel widths split a model: the one rule the compiler, the
// partitioner, the planner and the tools all ask.

#include <vector>

#include "absl/status/status.h"
#include "models/model_config.pb.h"

namespace tsp::scheduler {

// Whether `tensor_parallel` chips split the model: its heads and FFN columns
// evenly, its KV heads evenly or each replicated on whole groups of chips.
// InvalidArgument naming every figure that does not split (the vocabulary
// always does: its last shard is the shorter).
absl::Status CheckWidth(const models::ModelConfig& config, int tensor_parallel);

// The widths a search tries, in order of preference: a node, two nodes, four
// nodes, half a node, a quarter, one chip; those that do not split the model
// left out.
std::vector<int> WidthsToTry(const models::ModelConfig& config, int chips_per_node);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_TENSOR_PARALLEL_WIDTH_H_
