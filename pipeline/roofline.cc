#include "pipeline/roofline.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "isa/builtin_texts.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"

// From the genrule over pipeline/accelerators/*.textproto.
extern const char* const kTspBuiltinAccelerators[][2];

namespace tsp::pipeline {
namespace {

const isa::BuiltinTexts& BuiltinAccelerators() {
  static const isa::BuiltinTexts accelerators(kTspBuiltinAccelerators);
  return accelerators;
}

// Latency and ring transfer of one all-reduce of `bytes` among `devices`.
double AllReduceSeconds(const AcceleratorSpec& d, int devices, double bytes) {
  if (devices <= 1) return 0;
  return d.allreduce_latency_us().value() * 1e-6 +
         2.0 * (devices - 1) / devices * bytes / (d.link_gigabytes_per_second().value() * 1e9);
}

}  // namespace

int64_t DecoderParameters(const models::ModelConfig& c) {
  const int64_t h = c.hidden_size();
  const int64_t head_dim = h / c.heads();
  const int64_t attention = 2 * h * h + 2 * h * c.kv_heads() * head_dim;  // q, o; k, v
  const int64_t experts = std::max<int64_t>(1, c.experts());
  const int64_t mlp = experts * 3 * h * c.ffn_size() + (c.experts() > 0 ? h * c.experts() : 0);
  return c.layers() * (attention + mlp + 2 * h) + 2 * c.vocab_size() * h + h;
}

int64_t ActiveParameters(const models::ModelConfig& c) {
  if (c.experts() <= 0) return DecoderParameters(c);
  return DecoderParameters(c) -
         c.layers() * (c.experts() - c.experts_per_token()) * 3 * c.hidden_size() * c.ffn_size();
}

absl::Status ValidateAcceleratorSpec(const AcceleratorSpec& spec, const std::string& origin) {
  if (spec.name().empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": no name"));
  const google::protobuf::Descriptor& type = *spec.GetDescriptor();
  const google::protobuf::Reflection& reflection = *spec.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type.field(i);
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (!reflection.HasField(spec, field)) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": ", field->name(), " is missing"));
    }
    const RealFigure& figure = static_cast<const RealFigure&>(reflection.GetMessage(spec, field));
    if (!(figure.value() > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": ", field->name(), " must be positive, got ", figure.value()));
    }
    if (figure.source().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ": ", field->name(), " has no source (a public source, or ASSUMED: and a reason)"));
    }
  }
  if (spec.devices_per_server().value() != std::floor(spec.devices_per_server().value())) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": devices_per_server must be a whole number"));
  }
  return absl::OkStatus();
}

std::vector<std::string> BuiltinAcceleratorNames() { return BuiltinAccelerators().names(); }

absl::StatusOr<AcceleratorSpec> LoadAcceleratorSpec(absl::string_view name_or_path) {
  AcceleratorSpec spec;
  std::string origin(name_or_path);
  if (const char* text = BuiltinAccelerators().Find(name_or_path); text != nullptr) {
    origin = absl::StrCat("pipeline/accelerators/", name_or_path, ".textproto");
    RETURN_IF_ERROR(isa::ParseTextProto(text, origin, &spec));
  } else if (isa::IsPath(name_or_path)) {
    RETURN_IF_ERROR(isa::LoadTextProtoFile(name_or_path, &spec));
  } else {
    return absl::NotFoundError(absl::StrCat("no accelerator '", name_or_path, "'",
                                            isa::DidYouMean(name_or_path, BuiltinAcceleratorNames()),
                                            "; built-in accelerators: ",
                                            absl::StrJoin(BuiltinAcceleratorNames(), ", "),
                                            " (or give a path to an AcceleratorSpec textproto)"));
  }
  RETURN_IF_ERROR(ValidateAcceleratorSpec(spec, origin));
  return spec;
}

absl::StatusOr<RooflineResult> Roofline(const RooflineQuery& q) {
  RETURN_IF_ERROR(ValidateAcceleratorSpec(q.device, q.device.name()));
  const models::ModelConfig& c = q.config;
  if (q.input_tokens < 1 || q.output_tokens < 1 || q.batch < 0 || !(q.efficiency > 0 && q.efficiency <= 1) ||
      (q.weight_bytes != 1 && q.weight_bytes != 2)) {
    return absl::InvalidArgumentError(
        "roofline: input and output tokens must be at least 1, the batch not negative, the efficiency in (0, 1] "
        "and the weights 1 or 2 bytes");
  }
  const AcceleratorSpec& d = q.device;
  RooflineResult r;
  const int per_server = static_cast<int>(d.devices_per_server().value());
  const double hbm = d.hbm_gigabytes().value() * 1e9;
  const double bandwidth = d.hbm_terabytes_per_second().value() * 1e12;
  const double peak = (q.weight_bytes == 1 ? d.dense_tflops_8bit() : d.dense_tflops_16bit()).value() * 1e12 *
                      q.efficiency;
  const int64_t context = q.input_tokens + q.output_tokens;
  const int64_t head_dim = c.hidden_size() / c.heads();
  r.parameters = DecoderParameters(c);
  r.active_parameters = ActiveParameters(c);
  r.weight_bytes = static_cast<double>(r.parameters) * q.weight_bytes;
  r.kv_bytes_per_token = 2.0 * c.layers() * c.kv_heads() * head_dim * q.weight_bytes;
  const double sequence_bytes = r.kv_bytes_per_token * static_cast<double>(context);
  // Servers: the fewest whose HBM holds the weights and one sequence.
  r.servers = static_cast<int>(std::ceil((r.weight_bytes + sequence_bytes) / (per_server * hbm)));
  r.devices = r.servers * per_server;
  r.racks = static_cast<int>(std::ceil(r.servers / d.servers_per_rack().value()));
  r.watts = r.devices * d.watts_per_device().value();
  const double free = r.devices * hbm - r.weight_bytes;
  r.max_batch = static_cast<int64_t>(std::floor(free / sequence_bytes));
  r.batch = q.batch > 0 ? q.batch : r.max_batch;
  if (r.batch > r.max_batch) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s: a batch of %d sequences of %d tokens needs %.1f GB of KV cache; %d devices hold %.1f GB beside "
        "the %.1f GB of weights (at most %d sequences)",
        d.name(), r.batch, context, r.batch * sequence_bytes / 1e9, r.devices, free / 1e9, r.weight_bytes / 1e9,
        r.max_batch));
  }
  const double b = static_cast<double>(r.batch);
  const int stages = r.servers;
  const double layers_per_stage = static_cast<double>(c.layers()) / stages;
  // One pass of `tokens` tokens per sequence through the pipeline reading
  // `kv_tokens` of cache per sequence: {memory, compute, collective} seconds.
  struct Pass {
    double memory, compute, collective;
    double seconds() const { return std::max(memory, compute) + collective; }
  };
  auto pass = [&](double sequences, double tokens, double attention_flops) {
    Pass p;
    p.memory = (r.weight_bytes + sequences * r.kv_bytes_per_token * tokens) / (r.devices * bandwidth);
    p.compute = (2.0 * r.active_parameters * sequences * tokens + attention_flops) / (r.devices * peak);
    p.collective = stages * 2 * layers_per_stage *
                   AllReduceSeconds(d, per_server, sequences * tokens * c.hidden_size() * 2.0);
    return p;
  };
  // Decode: KV lengths I .. I + O - 1; the memory term reads the caches
  // (t tokens a sequence), written here with `tokens` = t per sequence.
  double total = 0;
  for (int64_t t = q.input_tokens; t < context; ++t) {
    Pass step = pass(b, 1, 4.0 * c.layers() * c.heads() * head_dim * static_cast<double>(t) * b);
    step.memory = (r.weight_bytes + b * r.kv_bytes_per_token * static_cast<double>(t)) / (r.devices * bandwidth);
    total += step.seconds();
  }
  r.step_seconds = total / static_cast<double>(q.output_tokens);
  const double mean_t = q.input_tokens + (q.output_tokens - 1) / 2.0;
  Pass middle = pass(b, 1, 4.0 * c.layers() * c.heads() * head_dim * mean_t * b);
  middle.memory = (r.weight_bytes + b * r.kv_bytes_per_token * mean_t) / (r.devices * bandwidth);
  r.step_memory_seconds = middle.memory;
  r.step_compute_seconds = middle.compute;
  r.step_collective_seconds = middle.collective;
  r.bound = middle.memory >= middle.compute ? "memory bandwidth" : "compute";
  // The prompt of one request (writes I tokens of cache).
  const double i = static_cast<double>(q.input_tokens);
  const Pass prefill = pass(1, i, 2.0 * c.layers() * c.heads() * head_dim * i * i);
  r.ttft_s = prefill.seconds();
  r.tokens_per_s_per_user = 1.0 / r.step_seconds;
  const double cycle = static_cast<double>(q.output_tokens) * r.step_seconds + b * r.ttft_s;
  r.aggregate_output_tokens_per_s = b * q.output_tokens / cycle;
  r.aggregate_total_tokens_per_s = b * static_cast<double>(context) / cycle;
  r.assumptions = {
      absl::StrFormat("roofline, not measured: %s peak %.0f dense TFLOPS (%s) x efficiency %.2f, HBM %.2f TB/s per device",
                      d.name(), peak / q.efficiency / 1e12, q.weight_bytes == 1 ? "8-bit" : "16-bit", q.efficiency,
                      bandwidth / 1e12),
      absl::StrFormat("%d-way tensor parallel in a server of %d, %d server(s) in a pipeline run one after another; "
                      "two all-reduces a layer (%.1f us + ring over %.0f GB/s links)",
                      per_server, per_server, r.servers, d.allreduce_latency_us().value(),
                      d.link_gigabytes_per_second().value()),
      absl::StrFormat("batch %d of at most %d: KV caches of %d tokens (%.2f MB a token) in the HBM left after "
                      "%.1f GB of weights; all HBM usable",
                      r.batch, r.max_batch, context, r.kv_bytes_per_token / 1e6, r.weight_bytes / 1e9),
      "time to first token: one request's prompt as one batch, not queued; aggregate counts B prefills per O "
      "decode steps",
  };
  return r;
}

}  // namespace tsp::pipeline
