#include "tools/plan_command.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "isa/chip_model.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "scheduler/planner.h"
#include "tools/spec_overrides.h"
#include "tools/proto_json.h"
#include "tools/svg_plot.h"

namespace tsp::tools {
namespace {

constexpr char kDefaultSystem[] = "pipeline/specs/groq_576.textproto";
constexpr int kDefaultFirstChips = 128;
constexpr int kDefaultLastChips = 2304;

// "first:last:step", "a,b,c" or "n", in whole nodes of `per_node` chips.
absl::StatusOr<std::vector<int>> ChipCounts(const std::string& text, int per_node) {
  std::vector<int> counts;
  if (text.empty()) {
    for (int n = kDefaultFirstChips; n <= kDefaultLastChips; n += per_node) counts.push_back(n);
    return counts;
  }
  auto number = [&](absl::string_view part) -> absl::StatusOr<int> {
    int n = 0;
    if (!absl::SimpleAtoi(part, &n) || n <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("--chips=", text, ": '", part, "' is not a positive integer"));
    }
    if (n % per_node != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--chips=", text, ": ", n, " is not a whole number of ", per_node, "-chip nodes"));
    }
    return n;
  };
  if (text.find(':') != std::string::npos) {
    std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat("--chips=", text, ": a range is first:last:step"));
    }
    ASSIGN_OR_RETURN(int first, number(parts[0]));
    ASSIGN_OR_RETURN(int last, number(parts[1]));
    ASSIGN_OR_RETURN(int step, number(parts[2]));
    if (last < first) return absl::InvalidArgumentError(absl::StrCat("--chips=", text, ": last is below first"));
    for (int n = first; n <= last; n += step) counts.push_back(n);
    return counts;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    ASSIGN_OR_RETURN(int n, number(part));
    counts.push_back(n);
  }
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  return counts;
}

struct Specs {
  isa::ChipSpec chip;
  pipeline::SystemSpec system;
};

absl::StatusOr<Specs> LoadSpecs(const TspRequest& request, const std::vector<std::string>& extra_overrides) {
  Specs specs;
  if (request.chip().empty()) {
    RETURN_IF_ERROR(isa::ParseTextProto(isa::DefaultChipSpecText(), "isa/specs/tsp_v1.textproto", &specs.chip));
  } else {
    RETURN_IF_ERROR(isa::LoadTextProtoFile(request.chip(), &specs.chip));
  }
  RETURN_IF_ERROR(isa::LoadTextProtoFile(request.system().empty() ? kDefaultSystem : request.system(), &specs.system));
  if (!request.overlay().empty()) RETURN_IF_ERROR(ApplyOverlay(request.overlay(), &specs.chip, &specs.system));
  std::vector<std::string> overrides(request.set().begin(), request.set().end());
  overrides.insert(overrides.end(), extra_overrides.begin(), extra_overrides.end());
  RETURN_IF_ERROR(ApplyOverrides(overrides, &specs.chip, &specs.system));
  return specs;
}

absl::StatusOr<scheduler::PlanReport> PlanWith(const TspRequest& request, const std::vector<std::string>& overrides,
                                               std::ostream& progress) {
  if (request.model().empty()) return absl::InvalidArgumentError("plan: --model is required");
  if (request.context() < 0 || request.prompt_tokens() < 0 || request.users() < 0 ||
      request.min_tokens_per_s_per_user() < 0 || request.max_ttft_s() < 0 || request.threads() < 0) {
    return absl::InvalidArgumentError(
        "--context, --prompt_tokens, --users, --min_tokens_per_s_per_user, --max_ttft_s and --threads must not be "
        "negative");
  }
  ASSIGN_OR_RETURN(Specs specs, LoadSpecs(request, overrides));
  ASSIGN_OR_RETURN(isa::ChipModel chip, isa::ChipModel::Create(specs.chip));
  scheduler::PlanQuery query;
  ASSIGN_OR_RETURN(query.config, models::LoadModel(request.model()));
  query.system = specs.system;
  const int per_node = static_cast<int>(specs.system.chips_per_node().value());
  if (per_node < 1) return absl::InvalidArgumentError("the system spec has no chips per node");
  ASSIGN_OR_RETURN(query.chip_counts, ChipCounts(request.chip_counts(), per_node));
  query.formats.clear();
  for (absl::string_view name : absl::StrSplit(request.weights().empty() ? "int8,fp16" : request.weights(), ',')) {
    ASSIGN_OR_RETURN(models::NumberFormat format, models::ParseNumberFormat(name));
    query.formats.push_back(format);
  }
  if (request.tensor_parallel() > 0) query.widths = {static_cast<int>(request.tensor_parallel())};
  query.context_tokens = request.context() > 0 ? request.context() : query.config.context_tokens();
  query.prompt_tokens = request.prompt_tokens() > 0 ? request.prompt_tokens()
                                                    : std::min<int64_t>(2048, query.context_tokens - 1);
  if (query.prompt_tokens >= query.context_tokens) {
    return absl::InvalidArgumentError(absl::StrCat("a prompt of ", query.prompt_tokens,
                                                   " tokens must be shorter than the context of ",
                                                   query.context_tokens));
  }
  query.min_tokens_per_s_per_user = request.min_tokens_per_s_per_user();
  query.users = request.users() > 1 ? request.users() : 0;  // One user is always served.
  query.max_ttft_s = request.max_ttft_s();
  query.emulate_search = !request.no_emulate();
  query.every_row = request.all_rows();
  query.threads = request.threads() > 0 ? static_cast<int>(request.threads()) : 2;
  query.progress = [&progress](const std::string& line) { progress << line << "\n" << std::flush; };
  return scheduler::Plan(query, chip);
}

std::string Layout(const scheduler::PlanRow& row) {
  return absl::StrCat(row.weight_format(), " ", row.tensor_parallel(), "x", row.pipeline_stages(),
                      row.replicas() > 1 ? absl::StrCat(" x", row.replicas()) : "");
}

std::string Table(const scheduler::PlanReport& report, bool all_rows) {
  std::string text = absl::StrFormat(
      "%s on %s (%d to %d chips): KV caches of %d tokens, time to first token for %d prompt tokens\n\n",
      report.model(), report.system(), report.min_chips(), report.max_chips(), report.context_tokens(),
      report.prompt_tokens());
  absl::StrAppend(&text, absl::StrFormat("%-4s %6s %5s %5s  %-18s %12s %9s %7s %12s %8s %10s %9s  %s\n", "", "chips",
                                         "nodes", "racks", "pipeline", "tok/s/user", "TTFT s", "users",
                                         "aggr tok/s", "kW", "capital $", "$/Mtok", "cycles/token"));
  for (const scheduler::PlanRow& row : report.rows()) {
    if (!all_rows && !row.useful() && !row.chosen()) continue;
    const std::string mark = absl::StrCat(row.chosen() ? "*" : "", row.pareto() ? "P" : "");
    const std::string ttft = row.ttft_timed() ? absl::StrFormat("%.3f", row.ttft_s()) : "-";
    absl::StrAppend(&text, absl::StrFormat("%-4s %6d %5d %5d  %-18s %12.1f %9s %7d %12.1f %8.1f %10.0f %9.2f  %d%s\n",
                                           mark, row.chips(), row.nodes(), row.racks(), Layout(row),
                                           row.tokens_per_s_per_user(), ttft, row.concurrent_users(),
                                           row.aggregate_tokens_per_s(), row.watts() / 1000.0,
                                           row.capital_dollars(), row.dollars_per_million_tokens(),
                                           row.cycles_per_token_predicted(),
                                           row.emulated() ? " = emulated" : " predicted"));
  }
  absl::StrAppend(&text, "\n* chosen   P Pareto front (per-user speed vs chips)   pipeline: format, tensor-parallel "
                         "width x stages [x replicas]\n");
  absl::StrAppend(&text, report.verdict(), "\n");
  for (const std::string& assumption : report.assumptions()) absl::StrAppend(&text, "  ", assumption, "\n");
  absl::StrAppend(&text, absl::StrFormat("%d pipelines timed in %.1f s\n", report.configurations(),
                                         report.search_seconds()));
  return text;
}

Plot PlanPlot(const scheduler::PlanReport& report) {
  Plot plot;
  plot.title = absl::StrCat(report.model(), " on ", report.system(), ": options by chip count");
  plot.subtitle = absl::StrFormat("KV caches of %d tokens; every point a pipeline compiled by the scheduler (format width x stages [x replicas])%s",
                                  report.context_tokens(), report.chosen() >= 0 ? "; the chosen option labelled" : "");
  plot.x_label = "chips (whole nodes)";
  plot.highlight_meaning = "Pareto front";
  PlotPanel speed{"per-user speed (tokens/s)", false, {}};
  PlotPanel aggregate{"aggregate (tokens/s, all users)", false, {}};
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  std::vector<std::string> formats;
  for (const scheduler::PlanRow& row : report.rows()) {
    if (std::find(formats.begin(), formats.end(), row.weight_format()) == formats.end()) {
      formats.push_back(row.weight_format());
    }
  }
  for (size_t f = 0; f < formats.size(); ++f) {
    PlotSeries s{formats[f] + " weights", colors[f % 4], true, {}};
    PlotSeries a{formats[f] + " weights", colors[f % 4], false, {}};
    for (const scheduler::PlanRow& row : report.rows()) {
      if (row.weight_format() != formats[f] || (!row.useful() && !row.chosen())) continue;
      const std::string layout = absl::StrCat(row.chosen() ? "chosen: " : "", Layout(row));
      s.points.push_back({static_cast<double>(row.chips()), row.tokens_per_s_per_user(), row.pareto(), layout});
      a.points.push_back({static_cast<double>(row.chips()), row.aggregate_tokens_per_s(), row.pareto(),
                          absl::StrCat(layout, ", ", row.concurrent_users(), " users")});
    }
    speed.series.push_back(s);
    aggregate.series.push_back(a);
  }
  plot.panels = {speed, aggregate};
  return plot;
}

absl::Status CheckFormat(const TspRequest& request) {
  const std::string& f = request.format();
  if (f.empty() || f == "text" || f == "table" || f == "csv" || f == "json") return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--format=", f, " is not one of: table, csv, json"));
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

}  // namespace

absl::StatusOr<scheduler::PlanReport> PlanReportFor(const TspRequest& request, std::ostream& progress) {
  return PlanWith(request, {}, progress);
}

std::string PlanCsv(const scheduler::PlanReport& report, bool all_rows) {
  std::string csv =
      "chips,nodes,racks,weight_format,tensor_parallel,pipeline_stages,replicas,tokens_per_s_per_user,ttft_s,"
      "concurrent_users,aggregate_tokens_per_s,watts,capital_dollars,dollars_per_million_tokens,"
      "cycles_per_token_predicted,cycles_per_token_emulated,pareto,chosen,meets_constraints\n";
  for (const scheduler::PlanRow& row : report.rows()) {
    if (!all_rows && !row.useful() && !row.chosen()) continue;
    absl::StrAppend(&csv, absl::StrFormat("%d,%d,%d,%s,%d,%d,%d,%.6g,%.6g,%d,%.6g,%.6g,%.6g,%.6g,%d,%d,%d,%d,%d\n",
                                          row.chips(), row.nodes(), row.racks(), CsvField(row.weight_format()),
                                          row.tensor_parallel(), row.pipeline_stages(), row.replicas(),
                                          row.tokens_per_s_per_user(), row.ttft_s(), row.concurrent_users(),
                                          row.aggregate_tokens_per_s(), row.watts(), row.capital_dollars(),
                                          row.dollars_per_million_tokens(), row.cycles_per_token_predicted(),
                                          row.cycles_per_token_emulated(), row.pareto(), row.chosen(),
                                          row.meets_constraints()));
  }
  return csv;
}

absl::Status PlanCommand(const TspRequest& request, std::ostream& out, std::ostream& progress) {
  RETURN_IF_ERROR(CheckFormat(request));
  ASSIGN_OR_RETURN(scheduler::PlanReport report, PlanReportFor(request, progress));
  if (!request.plot().empty()) {
    RETURN_IF_ERROR(WriteSvgFile(request.plot(), RenderSvg(PlanPlot(report))));
    progress << "plot written to " << request.plot() << "\n";
  }
  if (request.format() == "json") {
    if (!request.all_rows()) {
      // Only the rows the table shows.
      scheduler::PlanReport shown = report;
      shown.clear_rows();
      int chosen = -1;
      for (const scheduler::PlanRow& row : report.rows()) {
        if (!row.useful() && !row.chosen()) continue;
        if (row.chosen()) chosen = shown.rows_size();
        *shown.add_rows() = row;
      }
      shown.set_chosen(chosen);
      report = std::move(shown);
    }
    out << ProtoJson(report) << "\n";
  } else if (request.format() == "csv") {
    out << PlanCsv(report, request.all_rows());
  } else {
    out << Table(report, request.all_rows());
  }
  return absl::OkStatus();
}

absl::Status SweepCommand(const TspRequest& request, std::ostream& out, std::ostream& progress) {
  RETURN_IF_ERROR(CheckFormat(request));
  if (request.field().empty() || request.values().empty()) {
    return absl::InvalidArgumentError(
        "sweep: --field=chip.<path> or system.<path> and --values=a,b,... are required");
  }
  scheduler::SweepReport sweep;
  sweep.set_model(request.model());
  sweep.set_field(request.field());
  for (const std::string& value : request.values()) {
    progress << "sweep: " << request.field() << " = " << value << "\n";
    const std::string assignment = absl::StrCat(request.field(), "=", value);
    // The assignment itself must be valid: a bad field or value stops the sweep.
    {
      Specs probe;
      RETURN_IF_ERROR(ApplyOverride(assignment, &probe.chip, &probe.system));
    }
    scheduler::SweepPoint* point = sweep.add_points();
    point->set_value(value);
    absl::StatusOr<scheduler::PlanReport> plan = PlanWith(request, {assignment}, progress);
    if (!plan.ok()) {
      if (!absl::IsResourceExhausted(plan.status())) return plan.status();
      point->set_fits(false);
      point->set_error(std::string(plan.status().message()));
      continue;
    }
    point->set_fits(true);
    point->set_fewest_chips(plan->rows(0).chips());
    for (const scheduler::PlanRow& row : plan->rows()) {
      point->set_best_tokens_per_s_per_user(std::max(point->best_tokens_per_s_per_user(), row.tokens_per_s_per_user()));
      point->set_most_users(std::max(point->most_users(), row.concurrent_users()));
      point->set_best_aggregate_tokens_per_s(
          std::max(point->best_aggregate_tokens_per_s(), row.aggregate_tokens_per_s()));
    }
    if (plan->chosen() >= 0) *point->mutable_chosen() = plan->rows(plan->chosen());
    point->set_verdict(plan->verdict());
  }
  if (request.format() == "json") {
    out << ProtoJson(sweep) << "\n";
    return absl::OkStatus();
  }
  const bool csv = request.format() == "csv";
  if (csv) {
    out << "value,fits,fewest_chips,best_tokens_per_s_per_user,most_users,best_aggregate_tokens_per_s,chosen_chips,"
           "chosen_tokens_per_s_per_user\n";
  } else {
    out << absl::StrFormat("%s on %s: how the plan moves with %s\n\n%-14s %8s %14s %10s %14s  %s\n", request.model(),
                           request.system().empty() ? "groq_576" : request.system(), request.field(), "value",
                           "chips", "best tok/s/user", "most users", "best aggr tok/s", "chosen (cheapest meeting)");
  }
  for (const scheduler::SweepPoint& p : sweep.points()) {
    const std::string chosen =
        p.chosen().chips() > 0
            ? absl::StrFormat("%d chips, %.1f tok/s/user", p.chosen().chips(), p.chosen().tokens_per_s_per_user())
            : "-";
    if (csv) {
      out << absl::StrFormat("%s,%d,%d,%.6g,%d,%.6g,%d,%.6g\n", CsvField(p.value()), p.fits(), p.fewest_chips(),
                             p.best_tokens_per_s_per_user(), p.most_users(), p.best_aggregate_tokens_per_s(),
                             p.chosen().chips(), p.chosen().tokens_per_s_per_user());
    } else if (!p.fits()) {
      out << absl::StrFormat("%-14s does not fit: %s\n", p.value(), p.error());
    } else {
      out << absl::StrFormat("%-14s %8d %14.1f %10d %14.1f  %s\n", p.value(), p.fewest_chips(),
                             p.best_tokens_per_s_per_user(), p.most_users(), p.best_aggregate_tokens_per_s(), chosen);
    }
  }
  return absl::OkStatus();
}

}  // namespace tsp::tools
