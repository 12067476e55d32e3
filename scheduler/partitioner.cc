#include "scheduler/partitioner.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"

namespace tsp::scheduler {
namespace {

// Bytes of a stage's streamed-matrix slices as base + layers x per_layer +
// layers x (users - 1) x per_user_layer, measured per kind of stage.
struct StageCost {
  int64_t base = 0;
  int64_t per_layer = 0;
  int64_t per_user_layer = 0;
  int64_t capacity = 0;
  int64_t Bytes(int64_t layers, int64_t users) const {
    return base + layers * per_layer + layers * (users - 1) * per_user_layer;
  }
  // Most layers that fit with `users` users (may be < 1).
  int64_t Capacity(int64_t users) const {
    const int64_t per = per_layer + (users - 1) * per_user_layer;
    return per <= 0 ? std::numeric_limits<int32_t>::max() : (capacity - base) / per;
  }
};

absl::StatusOr<std::vector<StageFootprint>> Measure(const PartitionQuery& request, const isa::ChipModel& chip,
                                                    const pipeline::SystemModel& system,
                                                    const pipeline::Topology& topology, int tp,
                                                    const std::vector<int>& layers, int64_t users) {
  models::ModelConfig config = request.config;
  int total = 0;
  DecoderPartition partition;
  partition.tensor_parallel = tp;
  for (size_t s = 0; s < layers.size(); ++s) {
    std::vector<int> chips;
    for (int r = 0; r < tp; ++r) chips.push_back(static_cast<int>(s) * tp + r);
    partition.stage_chips.push_back(chips);
    partition.stage_layers.push_back(layers[s]);
    total += layers[s];
  }
  config.set_layers(total);
  DecoderOptions options;
  options.format = request.format;
  options.context_tokens = request.context_tokens;
  options.users = users;
  ASSIGN_OR_RETURN(DecoderCompiler compiler,
                   DecoderCompiler::Create(config, chip, system, topology, partition, options));
  return compiler.Footprints();
}

// Costs of the first, a middle and the last stage (or the only stage).
absl::StatusOr<std::vector<StageCost>> Costs(const PartitionQuery& request, const isa::ChipModel& chip,
                                             const pipeline::SystemModel& system,
                                             const pipeline::Topology& topology, int tp, int stages) {
  const int kinds = std::min(stages, 3);
  ASSIGN_OR_RETURN(auto one, Measure(request, chip, system, topology, tp, std::vector<int>(kinds, 1), 1));
  ASSIGN_OR_RETURN(auto two, Measure(request, chip, system, topology, tp, std::vector<int>(kinds, 2), 1));
  ASSIGN_OR_RETURN(auto users, Measure(request, chip, system, topology, tp, std::vector<int>(kinds, 1), 2));
  std::vector<StageCost> costs(kinds);
  for (int k = 0; k < kinds; ++k) {
    costs[k].per_layer = two[k].weight_bytes - one[k].weight_bytes;
    costs[k].base = one[k].weight_bytes - costs[k].per_layer;
    costs[k].per_user_layer = users[k].weight_bytes - one[k].weight_bytes;
    costs[k].capacity = one[k].weight_capacity;
  }
  return costs;
}

const StageCost& CostOf(const std::vector<StageCost>& costs, int stage, int stages) {
  if (stage == 0) return costs.front();
  if (stage == stages - 1) return costs.back();
  return costs[1];
}

// Layers per stage, fewest on the most loaded stage, within each stage's
// capacity; empty when they do not fit.
std::vector<int> AssignLayers(const std::vector<StageCost>& costs, int stages, int layers, int64_t users) {
  std::vector<int64_t> caps(stages);
  int64_t total = 0;
  for (int s = 0; s < stages; ++s) {
    caps[s] = std::min<int64_t>(CostOf(costs, s, stages).Capacity(users), layers);
    if (caps[s] < 1) return {};
    total += caps[s];
  }
  if (total < layers) return {};
  int most = 1;
  while (true) {
    int64_t sum = 0;
    for (int64_t cap : caps) sum += std::min<int64_t>(cap, most);
    if (sum >= layers) break;
    ++most;
  }
  std::vector<int> assigned(stages);
  int64_t sum = 0;
  for (int s = 0; s < stages; ++s) sum += assigned[s] = static_cast<int>(std::min<int64_t>(caps[s], most));
  // Give back the surplus from the end stages first (they also embed or
  // decode the vocabulary), then from the last stages.
  std::vector<int> order;
  if (stages > 1) order = {0, stages - 1};
  for (int s = stages - 2; s >= 1; --s) order.push_back(s);
  if (stages == 1) order = {0};
  while (sum > layers) {
    bool reduced = false;
    for (int s : order) {
      if (sum > layers && assigned[s] == most && assigned[s] > 1) {
        --assigned[s];
        --sum;
        reduced = true;
      }
    }
    if (!reduced) {
      if (most <= 1) return {};  // More stages than layers: nothing to give back.
      --most;
    }
  }
  return assigned;
}

bool Splits(const models::ModelConfig& config, int tp) {
  return config.heads() % tp == 0 && config.ffn_size() % tp == 0 &&
         (config.kv_heads() % tp == 0 || tp % config.kv_heads() == 0);
}

}  // namespace

absl::StatusOr<PartitionChoice> ChoosePartition(const PartitionQuery& request, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology) {
  const int chips = request.chips > 0 ? request.chips : topology.chips();
  const int per_node = topology.chips_per_node();
  const int layers = static_cast<int>(request.config.layers());
  if (chips > topology.chips()) {
    return absl::InvalidArgumentError(absl::StrCat(chips, " chips asked of a ", topology.chips(), "-chip system"));
  }
  if (request.stages > layers) {
    return absl::InvalidArgumentError(absl::StrCat(request.stages, " pipeline stages for ", layers, " layers of ",
                                                   request.config.name(), ": every stage needs at least one layer"));
  }
  std::vector<int> widths;
  if (request.tensor_parallel > 0) {
    if (!Splits(request.config, request.tensor_parallel)) {
      return absl::InvalidArgumentError(absl::StrCat(
          request.config.name(), ": ", request.config.heads(), " heads, ", request.config.kv_heads(),
          " KV heads and FFN size ", request.config.ffn_size(), " do not split ", request.tensor_parallel,
          " ways"));
    }
    widths = {request.tensor_parallel};
  } else {
    for (int tp : {per_node, 2 * per_node, 4 * per_node, per_node / 2, per_node / 4, 1}) {
      if (tp >= 1 && std::find(widths.begin(), widths.end(), tp) == widths.end()) widths.push_back(tp);
    }
  }
  std::string shortfall;
  int64_t fewest = std::numeric_limits<int64_t>::max();
  std::string fewest_layout;
  for (int tp : widths) {
    if (!Splits(request.config, tp)) continue;
    // The fewest chips at this width (for the message when nothing fits),
    // from the costs of a first, a middle and a last stage.
    const int probe = std::min({3, topology.chips() / tp, layers});
    if (probe >= 2) {
      ASSIGN_OR_RETURN(std::vector<StageCost> ends, Costs(request, chip, system, topology, tp, probe));
      const int64_t first = ends.front().Capacity(request.users);
      const int64_t last = ends.back().Capacity(request.users);
      const int64_t middle = ends.size() == 3 ? ends[1].Capacity(request.users) : 0;
      if (first >= 1 && last >= 1) {
        int64_t need = 2;
        if (first + last < layers) need = middle >= 1 ? 2 + (layers - first - last + middle - 1) / middle : -1;
        if (need > 0 && need <= layers && need * tp < fewest) {
          fewest = need * tp;
          fewest_layout = absl::StrCat(tp, "-way x ", need, " stages");
        }
      }
    }
    if (tp > chips) continue;
    const int stages = request.stages > 0 ? request.stages : std::min(chips / tp, layers);
    if (stages < 1 || stages * tp > chips) continue;
    ASSIGN_OR_RETURN(std::vector<StageCost> costs, Costs(request, chip, system, topology, tp, stages));
    std::vector<int> assigned = AssignLayers(costs, stages, layers, request.users);
    if (assigned.empty()) {
      if (!shortfall.empty()) continue;  // Report the preferred width's shortfall.
      const StageCost& first = costs.front();
      const int64_t per_stage = (layers + stages - 1) / stages;
      shortfall = absl::StrCat(tp, "-way x ", stages, " stages: a stage of ", per_stage, " layers needs ",
                               first.Bytes(per_stage, request.users), " bytes of streamed-matrix SRAM per chip, ",
                               first.Bytes(per_stage, request.users) - first.capacity, " more than its ",
                               first.capacity);
      continue;
    }
    PartitionChoice choice;
    choice.partition.tensor_parallel = tp;
    for (int s = 0; s < stages; ++s) {
      std::vector<int> ids;
      for (int r = 0; r < tp; ++r) ids.push_back(s * tp + r);
      choice.partition.stage_chips.push_back(ids);
      choice.partition.stage_layers.push_back(assigned[s]);
    }
    DecoderOptions options;
    options.format = request.format;
    options.context_tokens = request.context_tokens;
    options.users = request.users;
    ASSIGN_OR_RETURN(DecoderCompiler compiler, DecoderCompiler::Create(request.config, chip, system, topology,
                                                                       choice.partition, options));
    ASSIGN_OR_RETURN(choice.footprints, compiler.Footprints());
    bool fits = true;
    for (const StageFootprint& f : choice.footprints) fits &= f.bytes_short() == 0;
    if (!fits) {
      if (shortfall.empty()) shortfall = absl::StrCat(tp, "-way x ", stages, " stages: measured footprints exceed SRAM");
      continue;
    }
    choice.chips_used = stages * tp;
    choice.max_users = std::numeric_limits<int64_t>::max();
    for (int s = 0; s < stages; ++s) {
      const StageCost& cost = CostOf(costs, s, stages);
      const int64_t free = cost.capacity - cost.Bytes(assigned[s], 1);
      const int64_t per_user = assigned[s] * cost.per_user_layer;
      if (per_user > 0) choice.max_users = std::min(choice.max_users, 1 + free / per_user);
    }
    return choice;
  }
  std::string message = absl::StrCat(request.config.name(), " (", models::NumberFormatName(request.format), ", ",
                                     request.users, request.users == 1 ? " user" : " users", " of ", request.context_tokens > 0 ? request.context_tokens
                                                                                           : request.config.context_tokens(),
                                     " tokens) does not fit ", chips, " chips");
  if (!shortfall.empty()) absl::StrAppend(&message, ": ", shortfall);
  if (fewest < std::numeric_limits<int64_t>::max()) {
    absl::StrAppend(&message, "; the fewest chips that fit: ", fewest, " (", fewest_layout, ")");
  }
  return absl::ResourceExhaustedError(message);
}

}  // namespace tsp::scheduler
