#include "tools/compare_command.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "pipeline/roofline.h"
#include "isa/builtin_texts.h"
#include "tools/model_command.h"
#include "tools/plan_command.h"
#include "tools/usage_error.h"
#include "tools/proto_json.h"
#include "tools/svg_plot.h"

namespace tsp::tools {
namespace {

// In the order of the table: the H100 first, the newest after.
constexpr const char* kDefaultAccelerators[] = {"h100_sxm", "h200", "b200", "trainium2", "sohu"};

// An LPU plan option seen as a request-serving system: users in flight
// (aggregate over per-user decode rate), each request a prompt run token by
// token then O output tokens.
struct LpuOption {
  const scheduler::PlanRow* row;
  double users;
  double request_seconds;
  double aggregate_output;
  double aggregate_total;
};

LpuOption Serve(const scheduler::PlanRow& row, int64_t input, int64_t output) {
  LpuOption o;
  o.row = &row;
  o.users = row.aggregate_tokens_per_s() / row.tokens_per_s_per_user();
  o.request_seconds = row.ttft_s() + static_cast<double>(output) / row.tokens_per_s_per_user();
  o.aggregate_output = o.users * static_cast<double>(output) / o.request_seconds;
  o.aggregate_total = o.users * static_cast<double>(input + output) / o.request_seconds;
  return o;
}

// The fewest chips of an LPU option reaching `at_least` of a figure; 0 when
// none within the search.
int32_t FewestChips(const std::vector<LpuOption>& options, double at_least, bool per_user) {
  int32_t best = 0;
  for (const LpuOption& o : options) {
    const double value = per_user ? o.row->tokens_per_s_per_user() : o.aggregate_output;
    if (value >= at_least && (best == 0 || o.row->chips() < best)) best = o.row->chips();
  }
  return best;
}

std::string Table(const CompareReport& report) {
  std::string text = absl::StrFormat(
      "%s, %d input + %d output tokens per request, %s weights: the LPU from the exact compiler and emulator, "
      "the others from a roofline of their published specs\n\n",
      report.model(), report.input_tokens(), report.output_tokens(), report.weight_format());
  absl::StrAppend(&text, absl::StrFormat("%-22s %8s %7s %5s  %-8s %6s %12s %12s %10s %9s %8s %11s %11s\n", "system",
                                         "devices", "servers", "racks", "method", "batch", "out tok/s",
                                         "total tok/s", "tok/s/user", "TTFT s", "kW", "LPU=aggr", "LPU=user"));
  auto chips = [](int32_t n) { return n > 0 ? absl::StrCat(n) : std::string("none"); };
  for (const CompareRow& row : report.rows()) {
    absl::StrAppend(&text, absl::StrFormat("%-22s %8d %7d %5d  %-8s %6d %12.0f %12.0f %10.1f %9.3f %8.1f %11s %11s\n",
                                           row.system(), row.devices(), row.servers(), row.racks(), row.method(),
                                           row.batch(), row.aggregate_output_tokens_per_s(),
                                           row.aggregate_total_tokens_per_s(), row.tokens_per_s_per_user(),
                                           row.ttft_s(), row.watts() / 1000, chips(row.lpu_chips_for_aggregate()),
                                           chips(row.lpu_chips_for_per_user())));
  }
  absl::StrAppend(&text, "\nLPU=aggr, LPU=user: the fewest LPU chips (whole nodes) matching the row's aggregate "
                         "output tokens/s, and its per-user tokens/s\n");
  for (const std::string& a : report.assumptions()) absl::StrAppend(&text, "  ", a, "\n");
  return text;
}

Plot ComparePlot(const CompareReport& report, const std::vector<LpuOption>& lpu,
                 const std::vector<std::pair<std::string, std::vector<pipeline::RooflineResult>>>& curves) {
  Plot plot;
  plot.title = absl::StrCat(report.model(), ": per-user speed against throughput per rack");
  plot.subtitle = absl::StrFormat("%d input + %d output tokens per request, %s weights; LPU emulated, others roofline "
                                  "(batch 1 up to the largest that fits)",
                                  report.input_tokens(), report.output_tokens(), report.weight_format());
  plot.x_label = "aggregate output tokens/s per rack (log)";
  plot.log_x = true;
  plot.highlight_meaning = "LPU Pareto / largest batch";
  PlotPanel panel{"per-user tokens/s (log)", true, {}};
  const char* colors[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  PlotSeries l{"LPU (emulated)", "#ff7f0e", true, {}};
  for (const LpuOption& o : lpu) {
    l.points.push_back({o.aggregate_output / std::max(1, o.row->racks()), o.row->tokens_per_s_per_user(),
                        o.row->pareto(),
                        o.row->pareto() ? absl::StrCat(o.row->chips(), " chips") : std::string()});
  }
  panel.series.push_back(l);
  for (size_t k = 0; k < curves.size(); ++k) {
    PlotSeries s{curves[k].first + " (roofline)", colors[k % 7], false, {}};
    for (size_t i = 0; i < curves[k].second.size(); ++i) {
      const pipeline::RooflineResult& r = curves[k].second[i];
      const bool largest = i + 1 == curves[k].second.size();
      s.points.push_back({r.aggregate_output_tokens_per_s / std::max(1, r.racks), r.tokens_per_s_per_user, largest,
                          largest ? absl::StrCat("batch ", r.batch) : std::string()});
    }
    panel.series.push_back(s);
  }
  plot.panels = {panel};
  plot.panel_height = 520;
  return plot;
}

}  // namespace

absl::StatusOr<CompareReport> CompareReportFor(const TspRequest& request, std::ostream& progress, std::string* svg) {
  if (request.model().empty()) return UsageError("compare: --model is required");
  const int64_t input = request.input_tokens() > 0 ? request.input_tokens() : 2048;
  const int64_t output = request.output_tokens() > 0 ? request.output_tokens() : 128;
  if (request.input_tokens() < 0 || request.output_tokens() < 0 || request.batch() < 0 || request.efficiency() < 0 ||
      request.efficiency() > 1) {
    return UsageError("--input_tokens, --output_tokens and --batch must not be negative, --efficiency in (0, 1]");
  }
  const double efficiency = request.efficiency() > 0 ? request.efficiency() : 1.0;
  const std::string format = request.weights().empty() ? "int8" : request.weights();
  if (format != "int8" && format != "fp16") {
    return UsageError(absl::StrCat("--weights=", format, " is not one of: int8, fp16"));
  }
  ASSIGN_OR_RETURN(models::ModelConfig config, LoadRequestModel(request));
  std::vector<std::string> names(request.accelerators().begin(), request.accelerators().end());
  if (names.empty()) names.assign(std::begin(kDefaultAccelerators), std::end(kDefaultAccelerators));
  std::vector<pipeline::AcceleratorSpec> devices;
  for (const std::string& name : names) {
    absl::StatusOr<pipeline::AcceleratorSpec> spec = pipeline::LoadAcceleratorSpec(name);
    if (absl::IsNotFound(spec.status()) && !isa::IsPath(name)) return AsUsageError(spec.status());
    if (!spec.ok()) return spec.status();
    devices.push_back(*std::move(spec));
  }

  // The LPU: the plan over chip counts for this workload's caches and prompt.
  TspRequest plan = request;
  plan.set_command("plan");
  plan.set_context(input + output);
  plan.set_prompt_tokens(input);
  plan.set_weights(format);
  plan.set_no_emulate(true);
  plan.set_all_rows(true);
  plan.set_users(0);
  plan.set_min_tokens_per_s_per_user(0);
  plan.set_max_ttft_s(0);
  ASSIGN_OR_RETURN(scheduler::PlanReport lpu_plan, PlanReportFor(plan, progress));
  std::vector<LpuOption> lpu;
  for (const scheduler::PlanRow& row : lpu_plan.rows()) lpu.push_back(Serve(row, input, output));

  CompareReport report;
  report.set_model(config.name());
  report.set_input_tokens(input);
  report.set_output_tokens(output);
  report.set_weight_format(format);
  // The LPU row: the planner's fewest-chip Pareto option.
  const LpuOption* pick = nullptr;
  for (const LpuOption& o : lpu) {
    if (o.row->pareto()) {
      pick = &o;
      break;
    }
  }
  if (pick == nullptr) {
    std::string why = lpu_plan.verdict();
    if (lpu_plan.unlisted_chip_counts_size() > 0) {
      const scheduler::ChipCountNote& note = lpu_plan.unlisted_chip_counts(0);
      absl::StrAppend(&why, "; e.g. ", note.chips(), " chips: ", note.kind(), ": ", note.reason());
    }
    return absl::ResourceExhaustedError(absl::StrCat("the LPU has no option to compare: ", why));
  }
  CompareRow* row = report.add_rows();
  row->set_system(absl::StrCat("LPU (", lpu_plan.system(), ")"));
  row->set_devices(pick->row->chips());
  row->set_servers(pick->row->nodes());
  row->set_racks(pick->row->racks());
  row->set_method(pick->row->emulated() ? "emulated" : "compiled");
  row->set_batch(static_cast<int64_t>(std::llround(pick->users)));
  row->set_aggregate_output_tokens_per_s(pick->aggregate_output);
  row->set_aggregate_total_tokens_per_s(pick->aggregate_total);
  row->set_tokens_per_s_per_user(pick->row->tokens_per_s_per_user());
  row->set_ttft_s(pick->row->ttft_s());
  row->set_watts(pick->row->watts());
  row->set_note(absl::StrFormat("%d-way x %d stages x %d, the plan's fewest-chip Pareto option",
                                pick->row->tensor_parallel(), pick->row->pipeline_stages(), pick->row->replicas()));

  std::vector<std::pair<std::string, std::vector<pipeline::RooflineResult>>> curves;
  std::vector<std::string> roofline_assumptions;
  for (const pipeline::AcceleratorSpec& device : devices) {
    pipeline::RooflineQuery q;
    q.config = config;
    q.device = device;
    q.weight_bytes = format == "int8" ? 1 : 2;
    q.input_tokens = input;
    q.output_tokens = output;
    q.efficiency = efficiency;
    ASSIGN_OR_RETURN(pipeline::RooflineResult largest, pipeline::Roofline(q));
    std::vector<int64_t> batches = {largest.batch};
    if (request.batch() > 0) batches.push_back(request.batch());
    for (int64_t batch : batches) {
      q.batch = batch;
      absl::StatusOr<pipeline::RooflineResult> r = pipeline::Roofline(q);
      CompareRow* out = report.add_rows();
      out->set_system(absl::StrCat(device.devices_per_server().value(), "x ", device.name()));
      out->set_method("roofline");
      out->set_batch(batch);
      if (!r.ok()) {
        out->set_note(std::string(r.status().message()));
        continue;
      }
      out->set_devices(r->devices);
      out->set_servers(r->servers);
      out->set_racks(r->racks);
      out->set_aggregate_output_tokens_per_s(r->aggregate_output_tokens_per_s);
      out->set_aggregate_total_tokens_per_s(r->aggregate_total_tokens_per_s);
      out->set_tokens_per_s_per_user(r->tokens_per_s_per_user);
      out->set_ttft_s(r->ttft_s);
      out->set_watts(r->watts);
      out->set_bound(r->bound);
      out->set_note(batch == largest.batch ? "largest batch that fits" : "batch asked");
      out->set_lpu_chips_for_aggregate(FewestChips(lpu, r->aggregate_output_tokens_per_s, false));
      out->set_lpu_chips_for_per_user(FewestChips(lpu, r->tokens_per_s_per_user, true));
    }
    std::vector<pipeline::RooflineResult> curve;
    for (int64_t batch = 1; batch < largest.batch; batch *= 2) {
      q.batch = batch;
      ASSIGN_OR_RETURN(pipeline::RooflineResult r, pipeline::Roofline(q));
      curve.push_back(r);
    }
    curve.push_back(largest);
    curves.emplace_back(device.name(), std::move(curve));
    if (roofline_assumptions.empty()) roofline_assumptions = largest.assumptions;
  }
  report.mutable_rows(0)->set_lpu_chips_for_aggregate(pick->row->chips());
  report.mutable_rows(0)->set_lpu_chips_for_per_user(pick->row->chips());
  report.add_assumptions(absl::StrFormat(
      "LPU: emulated; KV caches of %d tokens, decode timed at the full length, the prompt run token by token; "
      "users in flight = aggregate / per-user decode rate, each request its prompt then %d tokens",
      input + output, output));
  for (const std::string& a : roofline_assumptions) report.add_assumptions(absl::StrCat("others: ", a));
  report.add_assumptions(absl::StrFormat("others: efficiency %.2f of peak (--efficiency); spec sources in "
                                         "pipeline/accelerators/*.textproto",
                                         efficiency));
  if (svg != nullptr) *svg = RenderSvg(ComparePlot(report, lpu, curves));
  return report;
}

absl::Status CompareCommand(const TspRequest& request, std::ostream& out, std::ostream& progress) {
  const std::string& f = request.format();
  if (!f.empty() && f != "text" && f != "table" && f != "json") {
    return UsageError(absl::StrCat("--format=", f, " is not one of: table, json"));
  }
  std::string svg;
  ASSIGN_OR_RETURN(CompareReport report, CompareReportFor(request, progress, &svg));
  if (!request.plot().empty()) {
    RETURN_IF_ERROR(WriteSvgFile(request.plot(), svg));
    progress << "plot written to " << request.plot() << "\n";
  }
  if (f == "json") {
    out << ProtoJson(report) << "\n";
  } else {
    out << Table(report);
  }
  return absl::OkStatus();
}

}  // namespace tsp::tools
