#include "models/operator_graph.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/model_registry.h"

namespace tsp::models {
namespace {

class GraphBuilder {
 public:
  GraphBuilder(const ModelConfig& config, int64_t tokens, int64_t kv_length)
      : config_(config), tokens_(tokens), kv_length_(kv_length) {
    graph_.tokens = tokens;
    graph_.kv_length = kv_length;
  }

  // The index the next operator added gets.
  int Next() const { return static_cast<int>(graph_.ops.size()); }

  Operator& Add(OpKind kind, std::string name, int layer, int64_t features, std::vector<int> inputs) {
    graph_.ops.emplace_back();
    Operator& op = graph_.ops.back();
    op.kind = kind;
    op.name = std::move(name);
    op.layer = layer;
    op.tokens = tokens_;
    op.in_features = features;
    op.out_features = features;
    op.inputs = std::move(inputs);
    return op;
  }

  // A weight of out x in per expert; `experts_read` of `experts` are read.
  // Returns the operator's index.
  int MatMul(const std::string& name, int layer, WeightKind weight, std::vector<int> inputs, int64_t in,
             int64_t out, int64_t experts = 1, int64_t experts_read = 1, int64_t rows_per_expert = -1) {
    const int index = Next();
    Operator& op = Add(OpKind::kMatMul, name, layer, in, std::move(inputs));
    op.weight = weight;
    op.out_features = out;
    op.experts = experts;
    op.weight_elements_resident = experts * in * out;
    op.weight_elements_read = experts_read * in * out;
    // Each token goes through experts_per_token experts (1 when dense).
    op.macs = (rows_per_expert < 0 ? tokens_ : rows_per_expert) * in * out;
    return index;
  }

  int Norm(const std::string& name, int layer, WeightKind weight, int input) {
    const int index = Next();
    Operator& op = Add(OpKind::kRmsNorm, name, layer, config_.hidden_size(), {input});
    op.weight = weight;
    op.weight_elements_resident = op.weight_elements_read = config_.hidden_size();
    return index;
  }

  int Elementwise(OpKind kind, const std::string& name, int layer, int64_t features, std::vector<int> inputs) {
    const int index = Next();
    Add(kind, name, layer, features, std::move(inputs));
    return index;
  }

  OperatorGraph Build() {
    const int64_t hidden = config_.hidden_size();
    const int64_t head_dim = HeadDim(config_);
    const int64_t q_width = config_.heads() * head_dim;
    const int64_t kv_width = config_.kv_heads() * head_dim;
    int residual = Next();  // The residual stream: the embedding, then each residual add.
    Operator& embedding = Add(OpKind::kEmbedding, "embedding", -1, hidden, {});
    embedding.weight = WeightKind::kEmbedding;
    embedding.weight_elements_resident = config_.vocab_size() * hidden;
    embedding.weight_elements_read = tokens_ * hidden;
    for (int layer = 0; layer < config_.layers(); ++layer) {
      const std::string prefix = absl::StrCat("layer ", layer, " ");
      const int attention_norm = Norm(prefix + "attention_norm", layer, WeightKind::kAttentionNorm, residual);
      const int q = MatMul(prefix + "q_proj", layer, WeightKind::kQ, {attention_norm}, hidden, q_width);
      const int k = MatMul(prefix + "k_proj", layer, WeightKind::kK, {attention_norm}, hidden, kv_width);
      const int v = MatMul(prefix + "v_proj", layer, WeightKind::kV, {attention_norm}, hidden, kv_width);
      const int rotary = Elementwise(OpKind::kRotary, prefix + "rotary", layer, q_width + kv_width, {q, k});
      const int attention_index = Next();
      Operator& attention = Add(OpKind::kAttention, prefix + "attention", layer, q_width, {rotary, v});
      // Token t (0-based) attends to kv_length + t + 1 positions (causal).
      const int64_t positions = tokens_ * kv_length_ + tokens_ * (tokens_ + 1) / 2;
      attention.macs = 2 * config_.heads() * head_dim * positions;  // Scores and values.
      attention.kv_elements_read = 2 * kv_width * (kv_length_ + tokens_);
      attention.kv_elements_written = 2 * kv_width * tokens_;
      const int o = MatMul(prefix + "o_proj", layer, WeightKind::kO, {attention_index}, q_width, hidden);
      residual = Elementwise(OpKind::kResidualAdd, prefix + "attention_residual", layer, hidden, {residual, o});
      const int mlp_norm = Norm(prefix + "mlp_norm", layer, WeightKind::kMlpNorm, residual);
      const int64_t ffn = config_.ffn_size();
      int down = 0;
      if (config_.experts() == 0) {
        const int gate = MatMul(prefix + "gate_proj", layer, WeightKind::kGate, {mlp_norm}, hidden, ffn);
        const int up = MatMul(prefix + "up_proj", layer, WeightKind::kUp, {mlp_norm}, hidden, ffn);
        const int swiglu = Elementwise(OpKind::kSwiGlu, prefix + "swiglu", layer, ffn, {gate, up});
        down = MatMul(prefix + "down_proj", layer, WeightKind::kDown, {swiglu}, ffn, hidden);
      } else {
        const int64_t experts = config_.experts();
        const int64_t chosen = config_.experts_per_token();
        const int64_t read = std::min(experts, tokens_ * chosen);
        const int router = MatMul(prefix + "router", layer, WeightKind::kRouter, {mlp_norm}, hidden, experts);
        const int route_index = Next();
        Operator& route = Add(OpKind::kRouter, prefix + "route", layer, experts, {router});
        route.out_features = chosen;
        // The experts' matrices read the normed input, weighed by the route.
        const int gate = MatMul(prefix + "experts gate_proj", layer, WeightKind::kGate, {mlp_norm, route_index},
                                hidden, ffn, experts, read, tokens_ * chosen);
        const int up = MatMul(prefix + "experts up_proj", layer, WeightKind::kUp, {mlp_norm, route_index},
                              hidden, ffn, experts, read, tokens_ * chosen);
        const int swiglu_index = Next();
        Operator& swiglu = Add(OpKind::kSwiGlu, prefix + "experts swiglu", layer, ffn, {gate, up});
        swiglu.tokens = tokens_ * chosen;
        down = MatMul(prefix + "experts down_proj", layer, WeightKind::kDown, {swiglu_index, route_index}, ffn,
                      hidden, experts, read, tokens_ * chosen);
      }
      residual = Elementwise(OpKind::kResidualAdd, prefix + "mlp_residual", layer, hidden, {residual, down});
    }
    const int final_norm = Norm("final_norm", -1, WeightKind::kFinalNorm, residual);
    const int lm_head = MatMul("lm_head", -1, WeightKind::kLmHead, {final_norm}, hidden, config_.vocab_size());
    Elementwise(OpKind::kArgmax, "argmax", -1, config_.vocab_size(), {lm_head});
    return std::move(graph_);
  }

 private:
  const ModelConfig& config_;
  int64_t tokens_;
  int64_t kv_length_;
  OperatorGraph graph_;
};

template <typename Field>
int64_t Sum(const std::vector<Operator>& ops, Field field) {
  int64_t total = 0;
  for (const Operator& op : ops) total += op.*field;
  return total;
}

}  // namespace

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbedding:
      return "embedding";
    case OpKind::kRmsNorm:
      return "rms_norm";
    case OpKind::kMatMul:
      return "matmul";
    case OpKind::kRotary:
      return "rotary";
    case OpKind::kAttention:
      return "attention";
    case OpKind::kResidualAdd:
      return "residual_add";
    case OpKind::kSwiGlu:
      return "swiglu";
    case OpKind::kRouter:
      return "router";
    case OpKind::kArgmax:
      return "argmax";
  }
  return "?";
}

int64_t OperatorGraph::WeightElementsResident() const { return Sum(ops, &Operator::weight_elements_resident); }
int64_t OperatorGraph::WeightElementsRead() const { return Sum(ops, &Operator::weight_elements_read); }
int64_t OperatorGraph::Macs() const { return Sum(ops, &Operator::macs); }
int64_t OperatorGraph::KvElementsRead() const { return Sum(ops, &Operator::kv_elements_read); }

absl::StatusOr<OperatorGraph> BuildPrefillGraph(const ModelConfig& config, int64_t prompt_tokens,
                                                int64_t kv_length) {
  if (prompt_tokens < 1 || kv_length < 0) {
    return absl::InvalidArgumentError(absl::StrCat("a graph of ", prompt_tokens, " tokens after ",
                                                   kv_length, " cached ones"));
  }
  // The largest count, estimated in floating point before any is computed.
  const long double tokens = prompt_tokens;
  const long double hidden = config.hidden_size();
  const long double experts = std::max<int64_t>(config.experts(), 1);
  const long double positions = tokens * kv_length + tokens * (tokens + 1) / 2;
  const long double per_layer = 4 * hidden * hidden + 3 * hidden * config.ffn_size() * experts;
  const long double largest =
      config.layers() * (tokens * per_layer + 2 * hidden * positions + hidden * (kv_length + tokens)) +
      2 * tokens * hidden * config.vocab_size();
  if (largest > static_cast<long double>(int64_t{1} << 62)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", config.name(), "': ", prompt_tokens, " tokens after ", kv_length,
        " are too many to count multiply-accumulates in 64 bits"));
  }
  return GraphBuilder(config, prompt_tokens, kv_length).Build();
}

absl::StatusOr<OperatorGraph> BuildDecodeGraph(const ModelConfig& config, int64_t kv_length) {
  return BuildPrefillGraph(config, 1, kv_length);
}

int64_t ParameterCount(const ModelConfig& config) {
  return GraphBuilder(config, 1, 0).Build().WeightElementsResident();
}

int64_t KvElementsPerToken(const ModelConfig& config) {
  return 2 * config.layers() * config.kv_heads() * HeadDim(config);
}

}  // namespace tsp::models
