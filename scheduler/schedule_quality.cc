// Prints, for llama2_70b's decoder layers on 8-chip nodes (int8 and fp16),
// each layer's scheduled cycles beside a lower bound: the larger of the
// chip's weight bytes over the weight-streaming bandwidth (32 streams of one
// 320-byte vector a cycle on each side of the chip) and its multiply-
// accumulates over the MXM peak (4 planes of 320 x 320 a cycle), plus the
// link latency of the layer's two all-reduces (serialization + latency).
//
//   bazel run -c opt //scheduler:schedule_quality
//
// Two stages of one layer each on two nodes (one node's SRAM holds one
// layer next to the embedding or the LM head); layer 0 runs on node 0 alone.

#include <cstdio>
#include <iostream>

#include "absl/time/clock.h"
#include "isa/spec_loader.h"
#include "models/model_registry.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"

namespace tsp::scheduler {
namespace {

int Main() {
  absl::StatusOr<isa::ChipModel> chip = isa::DefaultChipModel();
  pipeline::SystemSpec spec;
  absl::Status loaded = isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec);
  if (!chip.ok() || !loaded.ok()) {
    std::cerr << "cannot load the default specs\n";
    return 1;
  }
  spec.mutable_nodes()->set_value(2);
  absl::StatusOr<pipeline::SystemModel> system = pipeline::SystemModel::Create(spec, *chip);
  absl::StatusOr<pipeline::Topology> topology = pipeline::Topology::Create(*system, *chip);
  absl::StatusOr<models::ModelConfig> config = models::LoadModel("llama2_70b");
  if (!system.ok() || !topology.ok() || !config.ok()) return 1;
  config->set_layers(2);
  const int tp = 8;
  const double hidden = static_cast<double>(config->hidden_size());
  const double head_dim = static_cast<double>(models::HeadDim(*config));
  const double weights = (hidden * head_dim * (config->heads() + 2 * config->kv_heads()) +
                          head_dim * config->heads() * hidden + 3.0 * hidden * config->ffn_size()) /
                         tp;
  const double streams = 2.0 * chip->streams_per_direction();
  const double peak = 4.0 * chip->mxm_rows() * chip->mxm_columns();
  const int64_t links = 2 * (system->link_serialization_cycles() + spec.link_latency_cycles().value());
  std::printf("| format | layer | scheduled cycles | weight-stream bound | MAC bound | link latency | lower bound | ratio |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (models::NumberFormat format : {models::NumberFormat::kInt8, models::NumberFormat::kFp16}) {
    const double bytes = weights * (format == models::NumberFormat::kInt8 ? 1 : 2);
    const double stream_bound = bytes / (streams * chip->lanes());
    const double mac_bound = weights / peak;
    const double bound = std::max(stream_bound, mac_bound) + static_cast<double>(links);
    for (int64_t context : {int64_t{4096}}) {
      absl::StatusOr<DecoderPartition> partition = EvenPartition(*config, tp, 2, 8);
      DecoderOptions options;
      options.format = format;
      options.context_tokens = context;
      absl::StatusOr<DecoderCompiler> compiler =
          DecoderCompiler::Create(*config, *chip, *system, *topology, *partition, options);
      if (!compiler.ok()) {
        std::cerr << compiler.status() << "\n";
        return 1;
      }
      const absl::Time start = absl::Now();
      absl::StatusOr<CompiledStep> step = compiler->CompileStep(context - 1);
      if (!step.ok()) {
        std::printf("| %s | - | does not compile: %s |\n", models::NumberFormatName(format),
                    std::string(step.status().message()).c_str());
        continue;
      }
      int64_t previous = step->embedding_end_cycle;
      for (size_t l = 0; l < step->layer_end_cycles.size(); ++l) {
        const int64_t cycles = step->layer_end_cycles[l] - previous;
        previous = step->layer_end_cycles[l];
        std::printf("| %s | %zu%s | %lld | %.0f | %.0f | %lld | %.0f | %.2f |\n",
                    models::NumberFormatName(format), l, l == 0 ? "" : " (after the stage handoff)",
                    static_cast<long long>(cycles), stream_bound, mac_bound, static_cast<long long>(links),
                    bound, static_cast<double>(cycles) / bound);
      }
      std::fprintf(stderr, "%s: compiled in %.1f s, %lld instructions, KV length %lld\n",
                   models::NumberFormatName(format), absl::ToDoubleSeconds(absl::Now() - start),
                   static_cast<long long>(step->instructions), static_cast<long long>(context));
    }
  }
  return 0;
}

}  // namespace
}  // namespace tsp::scheduler

int main() { return tsp::scheduler::Main(); }
