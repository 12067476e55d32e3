#include "models/model_registry.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "isa/builtin_texts.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"

// From the genrule over models/*.textproto: name -> text, ending with {nullptr, nullptr}.
extern const char* const kTspBuiltinModels[][2];

namespace tsp::models {
namespace {

absl::Status Invalid(const ModelConfig& config, absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("model '", config.name(), "': ", field, ": ", why));
}

const isa::BuiltinTexts& Builtins() {
  static const isa::BuiltinTexts builtins(kTspBuiltinModels);
  return builtins;
}

}  // namespace

absl::Status ValidateModelConfig(const ModelConfig& config) {
  if (config.name().empty()) return Invalid(config, "name", "missing");
  if (config.source().empty()) return Invalid(config, "source", "missing; say where the figures come from");
  const std::pair<const char*, int64_t> sizes[] = {
      {"hidden_size", config.hidden_size()}, {"layers", config.layers()},
      {"heads", config.heads()},             {"kv_heads", config.kv_heads()},
      {"ffn_size", config.ffn_size()},       {"vocab_size", config.vocab_size()},
      {"context_tokens", config.context_tokens()}};
  for (const auto& [field, value] : sizes) {
    if (value <= 0) return Invalid(config, field, absl::StrCat(value, " is not a positive size"));
  }
  // Far beyond any published model; keeps every count of the operator graph
  // (weights, MACs, KV traffic) within 64 bits.
  const std::pair<const char*, int64_t> limits[] = {
      {"hidden_size", 1 << 20}, {"ffn_size", 1 << 20}, {"vocab_size", 1 << 22},
      {"layers", 4096},         {"context_tokens", 1 << 24}};
  for (const auto& [field, limit] : limits) {
    int64_t value = 0;
    for (const auto& [name, size] : sizes) {
      if (std::string(name) == field) value = size;
    }
    if (value > limit) return Invalid(config, field, absl::StrCat(value, " is beyond the limit ", limit));
  }
  if (config.experts() > 256) {
    return Invalid(config, "experts", absl::StrCat(config.experts(), " is beyond the limit 256"));
  }
  if (config.hidden_size() % config.heads() != 0) {
    return Invalid(config, "heads",
                   absl::StrCat(config.heads(), " heads do not divide hidden_size ", config.hidden_size()));
  }
  if (HeadDim(config) % 2 != 0) {
    return Invalid(config, "heads",
                   absl::StrCat("the head size ", HeadDim(config),
                                " is odd; rotary embedding rotates pairs of elements"));
  }
  if (config.heads() % config.kv_heads() != 0) {
    return Invalid(config, "kv_heads",
                   absl::StrCat(config.kv_heads(), " KV heads do not divide ", config.heads(), " heads"));
  }
  if (!(config.rope_theta() > 1.0)) return Invalid(config, "rope_theta", "must be above 1");
  if (!(config.norm_epsilon() > 0.0) || config.norm_epsilon() > 1.0) {
    return Invalid(config, "norm_epsilon", "must be in (0, 1]");
  }
  if (config.experts() < 0 || config.experts_per_token() < 0) {
    return Invalid(config, "experts", "must not be negative");
  }
  if ((config.experts() == 0) != (config.experts_per_token() == 0) ||
      config.experts_per_token() > config.experts()) {
    return Invalid(config, "experts_per_token",
                   absl::StrCat(config.experts_per_token(), " of ", config.experts(),
                                " experts; a dense model has 0 of 0, a mixture 1..experts"));
  }
  return absl::OkStatus();
}

std::vector<std::string> BuiltinModelNames() { return Builtins().names(); }

absl::StatusOr<ModelConfig> LoadModel(absl::string_view name_or_path) {
  ModelConfig config;
  if (const char* builtin = Builtins().Find(name_or_path); builtin != nullptr) {
    RETURN_IF_ERROR(isa::ParseTextProto(builtin,
                                        absl::StrCat("models/", name_or_path, ".textproto"), &config));
  } else if (isa::IsPath(name_or_path)) {
    RETURN_IF_ERROR(isa::LoadTextProtoFile(name_or_path, &config));
    const absl::Status valid = ValidateModelConfig(config);
    if (!valid.ok()) return absl::Status(valid.code(), absl::StrCat(name_or_path, ": ", valid.message()));
    return config;
  } else {
    return absl::NotFoundError(absl::StrCat("no model '", name_or_path, "'",
                                            isa::DidYouMean(name_or_path, BuiltinModelNames()), "; built-in models: ",
                                            absl::StrJoin(BuiltinModelNames(), ", "),
                                            " (or give a path to a ModelConfig textproto)"));
  }
  RETURN_IF_ERROR(ValidateModelConfig(config));
  return config;
}

}  // namespace tsp::models
