#ifndef TSP_PIPELINE_ROOFLINE_H_
#define TSP_PIPELINE_ROOFLINE_H_

// A roofline model of serving a Llama-family decoder on HBM-based accelerator
// servers (AcceleratorSpec), for comparison with the LPU figures that come
// from the exact compiler and emulator. Method, stated with every result:
//
// - Tensor parallelism across a server's devices; servers in a pipeline when
//   one server's HBM cannot hold the weights and one sequence's KV cache.
// - Batch: the sequences whose KV caches (input + output tokens each) fit
//   the HBM left after the weights, or a batch the user names.
// - A decode step at KV length t: per pipeline stage the larger of
//   bytes / HBM bandwidth (the stage's weights, the batch's KV caches) and
//   FLOPs / (peak x efficiency) (2 per parameter per sequence, plus
//   attention's 4 x layers x heads x head_dim x t), plus two all-reduces
//   per layer (fixed latency + ring transfer of the batch's activations in
//   16 bits); stages run one after another.
// - Time to first token: one request's prompt as one batch through the
//   same bounds (causal attention: 2 x layers x heads x head_dim x I^2).
// - Aggregate: a batch of B requests takes B prefills and O decode steps
//   (KV lengths I .. I + O - 1), so B x O output tokens (B x (I + O) tokens
//   processed) in that time; per-user speed is one over the mean step.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/model_config.pb.h"
#include "pipeline/accelerator_spec.pb.h"

namespace tsp::pipeline {

struct RooflineQuery {
  models::ModelConfig config;
  AcceleratorSpec device;
  int weight_bytes = 1;  // Per parameter and KV element: 1 (FP8/INT8) or 2 (BF16).
  int64_t input_tokens = 2048;
  int64_t output_tokens = 128;
  int64_t batch = 0;        // 0: the largest that fits.
  double efficiency = 1.0;  // Share of peak FLOPs reached.
};

struct RooflineResult {
  int servers = 0;
  int devices = 0;
  int racks = 0;
  int64_t parameters = 0;
  int64_t active_parameters = 0;  // Per token (mixtures: the picked experts only).
  double weight_bytes = 0;
  double kv_bytes_per_token = 0;
  int64_t max_batch = 0;
  int64_t batch = 0;
  double step_seconds = 0;         // Mean decode step.
  double step_memory_seconds = 0;  // Its parts at the mean KV length.
  double step_compute_seconds = 0;
  double step_collective_seconds = 0;
  double ttft_s = 0;
  double tokens_per_s_per_user = 0;
  double aggregate_output_tokens_per_s = 0;
  double aggregate_total_tokens_per_s = 0;
  double watts = 0;
  std::string bound;  // "memory bandwidth" or "compute" (the decode step at the mean KV length).
  std::vector<std::string> assumptions;
};

// Parameters of the decoder (embedding and LM head untied, norms, router)
// and those one token uses.
int64_t DecoderParameters(const models::ModelConfig& config);
int64_t ActiveParameters(const models::ModelConfig& config);

// Errors: a spec figure missing, zero or without a source; a batch that
// does not fit (with the bytes).
absl::StatusOr<RooflineResult> Roofline(const RooflineQuery& query);

// Every figure present, positive and sourced.
absl::Status ValidateAcceleratorSpec(const AcceleratorSpec& spec, const std::string& origin);

// Names of the accelerators of pipeline/accelerators/*.textproto, compiled
// into binaries, sorted (e.g. "h100_sxm").
std::vector<std::string> BuiltinAcceleratorNames();

// A built-in accelerator by name or a path to an AcceleratorSpec textproto,
// validated; an unknown name is NotFound with the nearest names and the list.
absl::StatusOr<AcceleratorSpec> LoadAcceleratorSpec(absl::string_view name_or_path);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_ROOFLINE_H_
