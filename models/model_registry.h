#ifndef TSP_MODELS_MODEL_REGISTRY_H_
#define TSP_MODELS_MODEL_REGISTRY_H_

// The models of models/*.textproto, compiled into binaries, and validation of
// any ModelConfig.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/model_config.pb.h"

namespace tsp::models {

// Checks a config: every size positive, heads dividing the hidden size into
// an even head size (rotary pairs), kv_heads dividing heads, experts_per_token
// within experts. The error names the model, the field and why.
absl::Status ValidateModelConfig(const ModelConfig& config);

// Names of the built-in models, sorted.
std::vector<std::string> BuiltinModelNames();

// A built-in model by name, or a path to a ModelConfig textproto; validated.
absl::StatusOr<ModelConfig> LoadModel(absl::string_view name_or_path);

// hidden_size / heads.
inline int64_t HeadDim(const ModelConfig& config) { return config.hidden_size() / config.heads(); }

}  // namespace tsp::models

#endif  // TSP_MODELS_MODEL_REGISTRY_H_
