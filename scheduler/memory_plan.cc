#include "scheduler/memory_plan.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"

namespace tsp::scheduler {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }

class Sizer {
 public:
  Sizer(const PartitionRequest& request, const isa::ChipModel& chip)
      : request_(request), lanes_(chip.lanes()) {}

  // Bytes of one chip's out x in share of a matrix.
  int64_t Matrix(int64_t out, int64_t in) const {
    const int64_t rows = RoundUp(out, lanes_);
    const int64_t columns = RoundUp(in, lanes_);
    const bool int8 = request_.format == models::NumberFormat::kInt8;
    int64_t bytes = rows * columns * (int8 ? 1 : 2);
    if (int8) bytes += RoundUp(rows * 4, lanes_);  // fp32 scale per output row.
    return bytes;
  }
  // A matrix split by output rows (or columns, for `by_columns`) over the group.
  int64_t Split(int64_t out, int64_t in, bool by_columns = false) const {
    const int64_t tp = request_.tensor_parallel;
    return by_columns ? Matrix(out, CeilDiv(in, tp)) : Matrix(CeilDiv(out, tp), in);
  }
  int64_t Vectors(int64_t bytes) const { return RoundUp(bytes, lanes_); }

 private:
  const PartitionRequest& request_;
  int64_t lanes_;
};

std::string Bytes(int64_t bytes) { return absl::StrFormat("%d bytes (%.1f MiB)", bytes, bytes / 1048576.0); }

}  // namespace

int64_t MemoryPlan::peak_bytes() const {
  int64_t peak = 0;
  for (const StageMemory& stage : stages) peak = std::max(peak, stage.total_bytes());
  return peak;
}

absl::StatusOr<MemoryPlan> PlanMemory(const PartitionRequest& request, const isa::ChipModel& chip) {
  const models::ModelConfig& model = request.model;
  RETURN_IF_ERROR(models::ValidateModelConfig(model));
  const int64_t tp = request.tensor_parallel;
  if (tp < 1 || request.pipeline_stages < 1 || request.pipeline_stages > model.layers()) {
    return absl::InvalidArgumentError(absl::StrCat(
        model.name(), ": ", request.pipeline_stages, " pipeline stages of ", tp,
        " chips is not a partition of ", model.layers(), " layers"));
  }
  if (model.heads() % tp != 0 && tp % model.heads() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(model.name(), ": tensor-parallel width ", tp,
                                                   " does not split ", model.heads(),
                                                   " attention heads evenly"));
  }
  if (request.context_tokens < 0 || request.users < 1) {
    return absl::InvalidArgumentError("context_tokens must be >= 0 and users >= 1");
  }
  Sizer size(request, chip);
  const int64_t hidden = model.hidden_size();
  const int64_t head_dim = models::HeadDim(model);
  const int64_t q_width = model.heads() * head_dim;
  const int64_t kv_width = model.kv_heads() * head_dim;
  const bool int8 = request.format == models::NumberFormat::kInt8;
  const int64_t experts = std::max<int64_t>(model.experts(), 1);

  // One layer on one chip of the group. A chip's Q, K and V rows are stored
  // as one matrix, and so are its gate and up rows: fused, their shards pad
  // to whole tiles once (8-way Llama-70B: 1,024 + 2 x 128 = 1,280 rows, four
  // tiles exactly). KV heads are replicated when the group is wider.
  const int64_t qkv_rows = CeilDiv(q_width, tp) + 2 * CeilDiv(model.kv_heads(), tp) * head_dim;
  const int64_t layer_weights =
      size.Matrix(qkv_rows, hidden) + size.Split(hidden, q_width, /*by_columns=*/true) +
      experts * (size.Matrix(2 * CeilDiv(model.ffn_size(), tp), hidden) +
                 size.Split(hidden, model.ffn_size(), /*by_columns=*/true)) +
      (model.experts() > 0 ? size.Matrix(model.experts(), hidden) : 0) +  // Router, replicated.
      2 * size.Vectors(hidden * 4);                                      // Norm weights, fp32.
  const int64_t kv_heads_per_chip = CeilDiv(model.kv_heads(), tp);
  const int64_t kv_per_token = 2 * kv_heads_per_chip *
                               (size.Vectors(head_dim * (int8 ? 1 : 2)) + (int8 ? size.Vectors(4) : 0));
  const int64_t layer_kv = kv_per_token * request.context_tokens * request.users;

  MemoryPlan plan;
  plan.chip_bytes = static_cast<int64_t>(chip.SlicesOfKind(isa::SLICE_MEM).size()) *
                    chip.spec().mem().slice_bytes().value();
  plan.chips = tp * request.pipeline_stages;
  const int64_t base = model.layers() / request.pipeline_stages;
  const int64_t extra = model.layers() % request.pipeline_stages;
  // Users in flight on one stage: with the pipeline full, each stage holds
  // the users it is working on; ASSUMED ceil(users / stages), at least one.
  const int64_t users_in_stage = CeilDiv(request.users, request.pipeline_stages);
  const int64_t widest = std::max(CeilDiv(q_width + 2 * kv_width, tp), 2 * CeilDiv(model.ffn_size(), tp));
  const int64_t activations = users_in_stage * size.Vectors(4 * (hidden + widest));
  int64_t first_layer = 0;
  for (int64_t s = 0; s < request.pipeline_stages; ++s) {
    StageMemory stage;
    stage.first_layer = first_layer;
    stage.layers = base + (s < extra ? 1 : 0);
    first_layer += stage.layers;
    stage.weight_bytes = stage.layers * layer_weights;
    if (s == 0) stage.weight_bytes += size.Split(model.vocab_size(), hidden);  // Embedding rows.
    if (s == request.pipeline_stages - 1) {
      stage.weight_bytes += size.Split(model.vocab_size(), hidden) + size.Vectors(hidden * 4);
    }
    stage.kv_cache_bytes = stage.layers * layer_kv;
    stage.activation_bytes = activations;
    if (stage.total_bytes() > plan.chip_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          model.name(), " (", models::NumberFormatName(request.format), ") on ",
          request.pipeline_stages, " stages x ", tp, " chips: stage ", s, " (layers ",
          stage.first_layer, "..", stage.first_layer + stage.layers - 1, ") needs ",
          Bytes(stage.total_bytes()), " per chip: weights ", Bytes(stage.weight_bytes),
          " + KV cache ", Bytes(stage.kv_cache_bytes), " for ", request.users, " users x ",
          request.context_tokens, " tokens + activations ", Bytes(stage.activation_bytes),
          "; a chip has ", Bytes(plan.chip_bytes), ", short by ",
          Bytes(stage.total_bytes() - plan.chip_bytes)));
    }
    plan.stages.push_back(stage);
  }
  return plan;
}

absl::StatusOr<PartitionRequest> FewestChips(PartitionRequest request, const isa::ChipModel& chip,
                                             int64_t max_tensor_parallel, int64_t max_chips) {
  std::optional<PartitionRequest> best;
  for (int64_t tp = 1; tp <= max_tensor_parallel; tp *= 2) {
    for (int64_t stages = 1; stages <= request.model.layers() && tp * stages <= max_chips; ++stages) {
      if (best.has_value() && tp * stages >= best->tensor_parallel * best->pipeline_stages) break;
      request.tensor_parallel = tp;
      request.pipeline_stages = stages;
      absl::StatusOr<MemoryPlan> plan = PlanMemory(request, chip);
      if (plan.ok()) {
        best = request;
        break;
      }
      if (plan.status().code() != absl::StatusCode::kResourceExhausted) break;  // Not a partition.
    }
  }
  if (!best.has_value()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        request.model.name(), ": no partition of at most ", max_chips, " chips (tensor parallel up to ",
        max_tensor_parallel, ") holds it with ", request.users, " users x ", request.context_tokens,
        " tokens"));
  }
  return *best;
}

}  // namespace tsp::scheduler
