#include "scheduler/partitioner.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "isa/status_macros.h"

namespace tsp::scheduler {
namespace {

constexpr int64_t kUnlimited = std::numeric_limits<int64_t>::max();

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

absl::StatusOr<std::vector<StageFootprint>> Measure(const PartitionQuery& query, const isa::ChipModel& chip,
                                                    const pipeline::SystemModel& system,
                                                    const pipeline::Topology& topology, int tp,
                                                    const std::vector<int>& layers, int64_t users) {
  models::ModelConfig config = query.config;
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
  options.format = query.format;
  options.context_tokens = query.context_tokens;
  options.users = users;
  ASSIGN_OR_RETURN(DecoderCompiler compiler,
                   DecoderCompiler::Create(config, chip, system, topology, partition, options));
  return compiler.Footprints();
}

// The costs of the stage kinds of one width, measured on first use: one
// stage (first and last at once); first and last; first, middle and last.
class CostModel {
 public:
  CostModel(const PartitionQuery& query, const isa::ChipModel& chip, const pipeline::SystemModel& system,
            const pipeline::Topology& topology, int tp)
      : query_(query), chip_(chip), system_(system), topology_(topology), tp_(tp) {}

  // Whether the topology has room to measure the kinds of `stages` stages.
  bool CanMeasure(int stages) const { return Kinds(stages) * tp_ <= topology_.chips(); }

  absl::StatusOr<const std::vector<StageCost>*> For(int stages) {
    const int kinds = Kinds(stages);
    std::optional<std::vector<StageCost>>& costs = costs_[kinds - 1];
    if (!costs.has_value()) {
      ASSIGN_OR_RETURN(auto one, Measure(query_, chip_, system_, topology_, tp_, std::vector<int>(kinds, 1), 1));
      ASSIGN_OR_RETURN(auto two, Measure(query_, chip_, system_, topology_, tp_, std::vector<int>(kinds, 2), 1));
      ASSIGN_OR_RETURN(auto users, Measure(query_, chip_, system_, topology_, tp_, std::vector<int>(kinds, 1), 2));
      costs.emplace(kinds);
      for (int k = 0; k < kinds; ++k) {
        StageCost& cost = (*costs)[k];
        cost.per_layer = two[k].weight_bytes - one[k].weight_bytes;
        cost.base = one[k].weight_bytes - cost.per_layer;
        cost.per_user_layer = users[k].weight_bytes - one[k].weight_bytes;
        cost.capacity = one[k].weight_capacity;
      }
    }
    return &*costs;
  }

  static const StageCost& Of(const std::vector<StageCost>& costs, int stage, int stages) {
    if (stage == 0) return costs.front();
    if (stage == stages - 1) return costs.back();
    return costs[1];
  }

 private:
  static int Kinds(int stages) { return std::min(stages, 3); }

  const PartitionQuery& query_;
  const isa::ChipModel& chip_;
  const pipeline::SystemModel& system_;
  const pipeline::Topology& topology_;
  const int tp_;
  std::array<std::optional<std::vector<StageCost>>, 3> costs_;
};

// Layers per stage, fewest on the most loaded stage, within each stage's
// capacity; empty when they do not fit.
std::vector<int> AssignLayers(const std::vector<StageCost>& costs, int stages, int layers, int64_t users) {
  std::vector<int64_t> caps(stages);
  int64_t total = 0;
  for (int s = 0; s < stages; ++s) {
    caps[s] = std::min<int64_t>(CostModel::Of(costs, s, stages).Capacity(users), layers);
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

std::string UsersText(int64_t users) { return absl::StrCat(users, users == 1 ? " user" : " users"); }

std::string ModelText(const PartitionQuery& query) {
  return absl::StrCat(query.config.name(), " (", models::NumberFormatName(query.format), ", ",
                      UsersText(query.users), " of ",
                      query.context_tokens > 0 ? query.context_tokens : query.config.context_tokens(),
                      " tokens)");
}

// The partition of `tp` x `stages` chips if it fits (nullopt when it does
// not, with `shortfall` set to why), by the costs then in full.
absl::StatusOr<std::optional<PartitionChoice>> TryShape(const PartitionQuery& query, const isa::ChipModel& chip,
                                                        const pipeline::SystemModel& system,
                                                        const pipeline::Topology& topology, CostModel& model,
                                                        int tp, int stages, std::string* shortfall) {
  const int layers = static_cast<int>(query.config.layers());
  ASSIGN_OR_RETURN(const std::vector<StageCost>* costs, model.For(stages));
  const std::vector<int> assigned = AssignLayers(*costs, stages, layers, query.users);
  if (assigned.empty()) {
    const StageCost& first = costs->front();
    const int64_t per_stage = (layers + stages - 1) / stages;
    *shortfall = absl::StrCat(tp, "-way x ", stages, " stages: a stage of ", per_stage, " layers needs ",
                              first.Bytes(per_stage, query.users), " bytes of streamed-matrix SRAM per chip, ",
                              first.Bytes(per_stage, query.users) - first.capacity, " more than its ",
                              first.capacity);
    return std::optional<PartitionChoice>();
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
  options.format = query.format;
  options.context_tokens = query.context_tokens;
  options.users = query.users;
  ASSIGN_OR_RETURN(DecoderCompiler compiler,
                   DecoderCompiler::Create(query.config, chip, system, topology, choice.partition, options));
  ASSIGN_OR_RETURN(choice.footprints, compiler.Footprints());
  for (const StageFootprint& f : choice.footprints) {
    if (f.bytes_short() > 0) {
      *shortfall = absl::StrCat(tp, "-way x ", stages, " stages: stage ", f.stage, " allocated in full is ",
                                f.bytes_short(), " bytes short");
      return std::optional<PartitionChoice>();
    }
  }
  choice.chips_used = stages * tp;
  choice.max_users = kUnlimited;
  int first_layer = 0;
  for (int s = 0; s < stages; ++s) {
    const StageCost& cost = CostModel::Of(*costs, s, stages);
    StageCapacity c;
    c.stage = s;
    c.first_layer = first_layer;
    c.layers = assigned[s];
    c.kv_bytes_per_user = assigned[s] * cost.per_user_layer;
    c.matrix_bytes = cost.Bytes(assigned[s], 1) - c.kv_bytes_per_user;
    c.capacity_bytes = cost.capacity;
    c.users = c.kv_bytes_per_user > 0 ? 1 + c.free_bytes() / c.kv_bytes_per_user : kUnlimited;
    choice.max_users = std::min(choice.max_users, c.users);
    choice.stages.push_back(c);
    first_layer += assigned[s];
  }
  return std::optional<PartitionChoice>(std::move(choice));
}

// The chip counts near `chips` that `widths` x stages (1..layers) make.
std::string NearestShapes(const std::vector<int>& widths, int layers, int chips, int limit) {
  int below = 0, above = 0;
  for (int tp : widths) {
    for (int stages = 1; stages <= layers; ++stages) {
      const int n = tp * stages;
      if (n > limit) break;
      if (n < chips) below = std::max(below, n);
      if (n > chips && (above == 0 || n < above)) above = n;
    }
  }
  std::vector<std::string> near;
  if (below > 0) near.push_back(absl::StrCat(below));
  if (above > 0) near.push_back(absl::StrCat(above));
  return near.empty() ? "none" : absl::StrJoin(near, " or ");
}

std::string WidthsText(const std::vector<int>& widths) { return absl::StrJoin(widths, ", "); }

// The query's width when it names one (checked), else those to try.
absl::StatusOr<std::vector<int>> QueryWidths(const PartitionQuery& query, const pipeline::Topology& topology);

}  // namespace

namespace {

absl::StatusOr<std::vector<int>> QueryWidths(const PartitionQuery& query, const pipeline::Topology& topology) {
  if (query.tensor_parallel <= 0) return WidthsToTry(query.config, topology.chips_per_node());
  RETURN_IF_ERROR(CheckWidth(query.config, query.tensor_parallel));
  return std::vector<int>{query.tensor_parallel};
}

}  // namespace

absl::StatusOr<FewestChips> FindFewestChips(const PartitionQuery& query, const isa::ChipModel& chip,
                                            const pipeline::SystemModel& system,
                                            const pipeline::Topology& topology, int max_chips) {
  const int layers = static_cast<int>(query.config.layers());
  ASSIGN_OR_RETURN(const std::vector<int> widths, QueryWidths(query, topology));
  std::optional<FewestChips> best;
  for (int tp : widths) {
    CostModel model(query, chip, system, topology, tp);
    for (int stages = 1; stages <= layers && stages * tp <= max_chips; ++stages) {
      if (best.has_value() && stages * tp >= best->chips()) break;
      if (!model.CanMeasure(stages)) break;
      ASSIGN_OR_RETURN(const std::vector<StageCost>* costs, model.For(stages));
      if (AssignLayers(*costs, stages, layers, query.users).empty()) continue;
      FewestChips found;
      found.tensor_parallel = tp;
      found.stages = stages;
      if (stages * tp <= topology.chips()) {
        std::string shortfall;
        PartitionQuery exact = query;
        exact.chips = stages * tp;
        exact.tensor_parallel = tp;
        exact.stages = stages;
        ASSIGN_OR_RETURN(std::optional<PartitionChoice> choice,
                         TryShape(exact, chip, system, topology, model, tp, stages, &shortfall));
        if (!choice.has_value()) continue;  // Short once allocated in full: one more stage.
        found.confirmed = true;
        found.choice = *std::move(choice);
      }
      best = std::move(found);
      break;
    }
  }
  if (!best.has_value()) {
    return absl::NotFoundError(absl::StrCat(ModelText(query), " fits no partition of at most ", max_chips,
                                            " chips (widths ", WidthsText(widths), ")"));
  }
  return *std::move(best);
}

absl::StatusOr<PartitionChoice> ChoosePartition(const PartitionQuery& query, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology) {
  const bool exact = query.chips > 0;
  const int chips = exact ? query.chips : topology.chips();
  const int layers = static_cast<int>(query.config.layers());
  if (chips > topology.chips()) {
    return absl::InvalidArgumentError(absl::StrCat(chips, " chips asked of a ", topology.chips(), "-chip system"));
  }
  if (query.stages > layers) {
    return absl::InvalidArgumentError(absl::StrCat(query.stages, " pipeline stages for ", layers, " layers of ",
                                                   query.config.name(), ": every stage needs at least one layer"));
  }
  ASSIGN_OR_RETURN(const std::vector<int> widths, QueryWidths(query, topology));
  // The shapes to try, in the widths' order.
  std::vector<std::pair<int, int>> shapes;
  for (int tp : widths) {
    const int stages = query.stages > 0 ? query.stages : exact ? chips / tp : std::min(chips / tp, layers);
    if (stages < 1 || stages > layers || stages * tp > chips || (exact && stages * tp != chips)) continue;
    shapes.emplace_back(tp, stages);
  }
  if (shapes.empty()) {
    if (query.tensor_parallel > 0 && query.stages > 0) {
      return absl::InvalidArgumentError(absl::StrCat(query.tensor_parallel, "-way x ", query.stages, " stages is ",
                                                     query.tensor_parallel * query.stages, " chips, not the ", chips,
                                                     " asked"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "no partition of ", query.config.name(), exact ? " uses exactly " : " fits in ", chips,
        " chips: a tensor-parallel width that splits it (", WidthsText(widths), ") times at most ", layers,
        " stages (its layers); the nearest counts that do: ", NearestShapes(widths, layers, chips, topology.chips())));
  }
  std::string shortfall;
  for (const auto& [tp, stages] : shapes) {
    CostModel model(query, chip, system, topology, tp);
    std::string why;
    ASSIGN_OR_RETURN(std::optional<PartitionChoice> choice,
                     TryShape(query, chip, system, topology, model, tp, stages, &why));
    if (choice.has_value()) return *std::move(choice);
    if (shortfall.empty()) shortfall = why;  // Report the preferred width's shortfall.
  }
  const std::string asked = exact ? absl::StrCat(chips, " chips")
                            : query.tensor_parallel > 0 && query.stages > 0
                                ? absl::StrCat(query.tensor_parallel * query.stages, " chips")
                                : absl::StrCat("the ", chips, "-chip system");
  std::string message = absl::StrCat(ModelText(query), " does not fit ", asked, ": ", shortfall);
  PartitionQuery any = query;
  any.chips = 0;
  any.stages = 0;
  absl::StatusOr<FewestChips> fewest =
      FindFewestChips(any, chip, system, topology, std::numeric_limits<int>::max());
  if (fewest.ok()) {
    absl::StrAppend(&message, "; the fewest chips that fit: ", fewest->chips(), " (", fewest->tensor_parallel,
                    "-way x ", fewest->stages, " stages)");
  } else if (absl::IsNotFound(fewest.status())) {
    absl::StrAppend(&message, "; no partition of the widths ", WidthsText(widths), " holds it");
  } else {
    return fewest.status();
  }
  return absl::ResourceExhaustedError(message);
}

}  // namespace tsp::scheduler
