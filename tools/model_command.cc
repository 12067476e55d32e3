#include "tools/model_command.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "isa/builtin_texts.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "models/operator_graph.h"
#include "models/reference_decoder.h"
#include "scheduler/capacity_report.h"
#include "scheduler/decode_session.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/model_run.h"
#include "scheduler/partitioner.h"
#include "tools/proto_json.h"
#include "tools/request_specs.h"
#include "tools/usage_error.h"

namespace tsp::tools {
namespace {

// The prompt (synthetic token ids) and as many greedy tokens, computed by the
// chips from synthetic weights and by the reference decoder side by side.
absl::Status RunFunctional(const TspRequest& request, const models::ModelConfig& config,
                           models::NumberFormat format, const isa::ChipModel& chip,
                           const pipeline::SystemModel& system, const pipeline::Topology& topology,
                           const scheduler::PartitionChoice& choice, std::ostream& out, std::ostream& progress) {
  // Weights exist four times at most at once (reference, images, SRAM, copies).
  const double bytes = 4.0 * 2.0 * static_cast<double>(models::ParameterCount(config));
  const int64_t limit_mib = request.max_host_memory_mib() > 0 ? request.max_host_memory_mib() : 16384;
  if (bytes > static_cast<double>(limit_mib) * 1048576.0) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "a functional run of %s would need about %.1f GiB of host memory, over the limit of %.1f GiB "
        "(--max_host_memory_mib); use --mode=timing or a smaller model",
        config.name(), bytes / 1073741824.0, limit_mib / 1024.0));
  }
  const int64_t prompt = std::min<int64_t>(request.prompt_tokens() > 0 ? request.prompt_tokens() : 4, 16);
  const models::ModelWeights weights = models::SyntheticWeights(config, format, request.seed());
  models::ReferenceDecoder reference(config, format, request.seed());
  scheduler::DecoderOptions options;
  options.format = format;
  options.weights = &weights;
  options.context_tokens = 2 * prompt + 1;
  ASSIGN_OR_RETURN(scheduler::DecoderCompiler compiler,
                   scheduler::DecoderCompiler::Create(config, chip, system, topology, choice.partition, options));
  pipeline::SystemRunOptions run;
  run.threads = request.threads() > 0 ? static_cast<int>(request.threads()) : 2;
  run.verify = !request.no_verify();
  scheduler::DecodeSession session(compiler, chip, system, topology, run);
  int64_t expected = 0;
  int matches = 0;
  std::vector<std::string> lines;
  for (int64_t step = 0; step < 2 * prompt; ++step) {
    const int64_t host = step < prompt ? (7 * step + 3) % config.vocab_size() : -1;
    ASSIGN_OR_RETURN(scheduler::StepResult result, session.Step(host));
    const std::vector<float> logits = reference.Step(host >= 0 ? host : expected);
    expected = models::Argmax(logits);
    if (result.predicted_last_cycle != result.emulated_last_cycle) {
      return absl::InternalError(absl::StrCat("step ", step, ": predicted ", result.predicted_last_cycle,
                                              " cycles, emulated ", result.emulated_last_cycle));
    }
    matches += result.next_token == expected ? 1 : 0;
    lines.push_back(absl::StrFormat("  step %2d: %s token -> chips chose %d, reference %d; %d cycles (predicted == emulated)",
                                    step, host >= 0 ? "prompt" : "own", result.next_token, expected,
                                    result.emulated_last_cycle));
    progress << lines.back() << "\n";
    if (host < 0 && result.next_token != expected) break;
  }
  out << absl::StrFormat("%s (%s weights, synthetic seed %d) functionally on %d chips: %d of %d steps chose the "
                         "reference's token\n",
                         config.name(), models::NumberFormatName(format), request.seed(), choice.chips_used, matches,
                         lines.size());
  if (matches != static_cast<int>(lines.size())) {
    return absl::InternalError("the chips' tokens differ from the reference's");
  }
  return absl::OkStatus();
}


}  // namespace

absl::StatusOr<models::ModelConfig> LoadRequestModel(const TspRequest& request) {
  if (request.model().empty()) return UsageError("--model=NAME|FILE is required");
  absl::StatusOr<models::ModelConfig> config = models::LoadModel(request.model());
  if (absl::IsNotFound(config.status()) && !isa::IsPath(request.model())) return AsUsageError(config.status());
  return config;
}

absl::StatusOr<scheduler::PartitionQuery> PartitionQueryFor(const TspRequest& request,
                                                           const models::ModelConfig& config) {
  if (request.chips() < 0 || request.context() < 0 || request.users() < 0 || request.prompt_tokens() < 0 ||
      request.threads() < 0 || request.tensor_parallel() < 0 || request.pipeline_stages() < 0) {
    return UsageError(
        "--chips, --context, --users, --prompt_tokens, --threads, --tp and --stages must not be negative");
  }
  scheduler::PartitionQuery query;
  query.config = config;
  absl::StatusOr<models::NumberFormat> format =
      models::ParseNumberFormat(request.weights().empty() ? "int8" : request.weights());
  if (!format.ok()) return AsUsageError(format.status());
  query.format = *format;
  query.context_tokens = request.context() > 0 ? request.context() : config.context_tokens();
  query.users = request.users() > 0 ? request.users() : 1;
  query.chips = static_cast<int>(request.chips());
  query.tensor_parallel = static_cast<int>(request.tensor_parallel());
  query.stages = static_cast<int>(request.pipeline_stages());
  if (query.tensor_parallel > 0) RETURN_IF_ERROR(AsUsageError(scheduler::CheckWidth(config, query.tensor_parallel)));
  if (query.stages > config.layers()) {
    return UsageError(absl::StrCat("--stages=", query.stages, ": ", config.name(), " has ", config.layers(),
                                   " layers, and every stage needs at least one"));
  }
  if (query.chips > 0 && query.tensor_parallel > 0 && query.stages > 0 &&
      query.chips != query.tensor_parallel * query.stages) {
    return UsageError(absl::StrCat("--chips=", query.chips, " is not --tp x --stages = ", query.tensor_parallel,
                                   " x ", query.stages, "; give two of them"));
  }
  return query;
}

absl::Status Partitioned(const TspRequest& request, std::ostream& progress, const PartitionedRun& run) {
  if (!request.mode().empty() && request.mode() != "timing" && request.mode() != "functional") {
    return UsageError(absl::StrCat("--mode=", request.mode(), " is not one of: timing, functional"));
  }
  ASSIGN_OR_RETURN(models::ModelConfig config, LoadRequestModel(request));
  ASSIGN_OR_RETURN(scheduler::PartitionQuery query, PartitionQueryFor(request, config));
  // Default: 2,048 tokens, or the context less one when it is shorter.
  const int64_t prompt = request.prompt_tokens() > 0 ? request.prompt_tokens()
                                                     : std::min<int64_t>(2048, query.context_tokens - 1);
  if (request.mode() != "functional" && prompt >= query.context_tokens) {
    return UsageError(absl::StrCat("a prompt of ", prompt, " tokens must be at least 1 and shorter than the context of ",
                                   query.context_tokens, " (--prompt_tokens, --context)"));
  }
  ASSIGN_OR_RETURN(RequestHardware hardware, RequestChipAndSystem(request));
  const isa::ChipModel& chip = hardware.chip;
  const pipeline::SystemModel& system = hardware.system;
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  absl::StatusOr<scheduler::PartitionChoice> choice = scheduler::ChoosePartition(query, chip, system, topology);
  // The request's shape is not a partition of this model and system.
  if (absl::IsInvalidArgument(choice.status())) return AsUsageError(choice.status());
  if (!choice.ok()) return choice.status();
  progress << absl::StrFormat("tsp %s: %s on %d of the system's %d chips (%d-way x %d stages), %d users' caches of %d "
                              "tokens fit\n",
                              request.command().empty() ? "run" : request.command(), config.name(), choice->chips_used,
                              topology.chips(), choice->partition.tensor_parallel,
                              choice->partition.stage_chips.size(), choice->max_users, query.context_tokens);
  TspRequest resolved = request;
  resolved.set_prompt_tokens(prompt);
  return run(chip, system, topology, config, query, *choice, resolved);
}

absl::StatusOr<scheduler::RunReport> RunModelReport(const TspRequest& request, std::ostream& progress) {
  scheduler::RunReport report;
  RETURN_IF_ERROR(Partitioned(
      request, progress,
      [&](const isa::ChipModel& chip, const pipeline::SystemModel& system, const pipeline::Topology& topology,
          const models::ModelConfig& config, const scheduler::PartitionQuery& query,
          const scheduler::PartitionChoice& choice, const TspRequest& resolved) -> absl::Status {
        scheduler::ModelRunOptions options;
        options.format = query.format;
        options.context_tokens = query.context_tokens;
        options.prompt_tokens = resolved.prompt_tokens();
        options.threads = request.threads() > 0 ? static_cast<int>(request.threads()) : 2;
        options.verify = !request.no_verify();
        options.progress = [&](const std::string& line) { progress << line << "\n" << std::flush; };
        ASSIGN_OR_RETURN(report, scheduler::RunModel(config, chip, system, topology, choice, options));
        return absl::OkStatus();
      }));
  return report;
}

absl::Status RunModelCommand(const TspRequest& request, std::ostream& out, std::ostream& progress) {
  if (request.mode() == "functional") {
    return Partitioned(request, progress,
                       [&](const isa::ChipModel& chip, const pipeline::SystemModel& system,
                           const pipeline::Topology& topology, const models::ModelConfig& config,
                           const scheduler::PartitionQuery& query, const scheduler::PartitionChoice& choice,
                           const TspRequest&) {
                         return RunFunctional(request, config, query.format, chip, system, topology, choice, out,
                                              progress);
                       });
  }
  ASSIGN_OR_RETURN(scheduler::RunReport report, RunModelReport(request, progress));
  if (request.format() == "json") {
    out << ProtoJson(report) << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("%s (%s weights) on %s: %d chips = %d %s in %d %s, %d-way tensor parallel x %d %s\n",
                         report.model(), report.weight_format(), report.system(), report.chips(), report.nodes(),
                         report.nodes() == 1 ? "node" : "nodes", report.racks(), report.racks() == 1 ? "rack" : "racks",
                         report.tensor_parallel(), report.pipeline_stages(),
                         report.pipeline_stages() == 1 ? "stage" : "stages");
  out << absl::StrFormat("  decode at KV length %d : %d cycles per token predicted, %d emulated, + %d host cycles\n",
                         report.kv_length(), report.cycles_per_token_predicted(), report.cycles_per_token_emulated(),
                         report.host_cycles_per_token());
  out << absl::StrFormat("  per user               : %.1f tokens/s at %.0f MHz\n", report.tokens_per_s_per_user(),
                         report.clock_hz() / 1e6);
  out << absl::StrFormat("  time to first token    : %.3f ms for a %d-token prompt (run token by token)\n",
                         report.ttft_s() * 1e3, report.prompt_tokens());
  out << absl::StrFormat("  users                  : %d whose KV caches fit%s; %d pipelined -> %.1f tokens/s in all\n",
                         report.concurrent_users(),
                         request.users() > 1 ? absl::StrFormat(" (%d asked)", request.users()) : "",
                         report.pipelined_users(), report.aggregate_tokens_per_s());
  out << absl::StrFormat("  busy share per token   : MXM %.2f%%, VXM %.2f%%, links %.2f%%\n",
                         100 * report.mxm_busy_share(), 100 * report.vxm_busy_share(), 100 * report.link_busy_share());
  out << absl::StrFormat(
      "  checked                : %d distinct stage units compiled (%.1f s), %sand emulated (%.1f s), "
      "predicted == emulated in each\n",
      report.units_size(), report.compile_seconds(), report.verified() ? "verified from their programs " : "",
      report.emulate_seconds());
  out << absl::StrFormat("  wall time              : decode step %.1f s (its distinct units compiled and emulated on %d "
                         "threads), the prompt's other units %.1f s; peak memory %.2f GiB\n",
                         report.decode_step_wall_seconds(), report.threads(),
                         report.prompt_wall_seconds(), report.peak_memory_bytes() / 1073741824.0);
  scheduler::FitReport capacity;
  *capacity.mutable_stages() = report.stage_capacity();
  capacity.set_concurrent_users(report.concurrent_users());
  capacity.set_limiting_stage(-1);
  for (const scheduler::StageCapacityReport& stage : report.stage_capacity()) {
    if (stage.users() == report.concurrent_users()) {
      capacity.set_limiting_stage(stage.stage());
      break;
    }
  }
  ASSIGN_OR_RETURN(isa::ChipModel chip, RequestChip(request));
  capacity.set_sram_bytes_per_chip(scheduler::SramBytesPerChip(chip));
  out << "  capacity               :\n" << scheduler::CapacityText(capacity, "    ");
  return absl::OkStatus();
}

}  // namespace tsp::tools
