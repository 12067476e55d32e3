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
#include "scheduler/partitioner.h"
#include "scheduler/planner.h"
#include "tools/model_command.h"
#include "tools/request_specs.h"
#include "tools/spec_overrides.h"
#include "tools/usage_error.h"
#include "tools/proto_json.h"
#include "tools/svg_plot.h"

namespace tsp::tools {
namespace {

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
      return UsageError(absl::StrCat("--chips=", text, ": '", part, "' is not a positive integer"));
    }
    if (n % per_node != 0) {
      return UsageError(absl::StrCat("--chips=", text, ": ", n, " is not a whole number of ", per_node,
                                     "-chip nodes; plan counts whole nodes (try ", n - n % per_node > 0 ? absl::StrCat(n - n % per_node, " or ") : "",
                                     n - n % per_node + per_node, ")"));
    }
    return n;
  };
  if (text.find(':') != std::string::npos) {
    std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
    if (parts.size() != 3) {
      return UsageError(absl::StrCat("--chips=", text, ": a range is first:last:step"));
    }
    ASSIGN_OR_RETURN(int first, number(parts[0]));
    ASSIGN_OR_RETURN(int last, number(parts[1]));
    ASSIGN_OR_RETURN(int step, number(parts[2]));
    if (last < first) return UsageError(absl::StrCat("--chips=", text, ": last is below first"));
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

absl::StatusOr<scheduler::PlanReport> PlanWith(const TspRequest& request, const std::vector<std::string>& overrides,
                                               std::ostream& progress) {
  if (request.context() < 0 || request.prompt_tokens() < 0 || request.users() < 0 ||
      request.min_tokens_per_s_per_user() < 0 || request.max_ttft_s() < 0 || request.threads() < 0) {
    return UsageError(
        "--context, --prompt_tokens, --users, --min_tokens_per_s_per_user, --max_ttft_s and --threads must not be "
        "negative");
  }
  ASSIGN_OR_RETURN(models::ModelConfig config, LoadRequestModel(request));
  ASSIGN_OR_RETURN(RequestSpecs specs, LoadRequestSpecs(request, overrides));
  ASSIGN_OR_RETURN(isa::ChipModel chip, isa::ChipModel::Create(specs.chip));
  scheduler::PlanQuery query;
  query.config = config;
  query.system = specs.system;
  const int per_node = static_cast<int>(specs.system.chips_per_node().value());
  if (per_node < 1) return absl::InvalidArgumentError("the system spec has no chips per node");
  ASSIGN_OR_RETURN(query.chip_counts, ChipCounts(request.chip_counts(), per_node));
  query.chip_counts_listed = !request.chip_counts().empty() && request.chip_counts().find(':') == std::string::npos;
  query.formats.clear();
  for (absl::string_view name : absl::StrSplit(request.weights().empty() ? "int8,fp16" : request.weights(), ',')) {
    absl::StatusOr<models::NumberFormat> format = models::ParseNumberFormat(name);
    if (!format.ok()) return AsUsageError(format.status());
    query.formats.push_back(*format);
  }
  if (request.tensor_parallel() > 0) {
    RETURN_IF_ERROR(AsUsageError(scheduler::CheckWidth(config, static_cast<int>(request.tensor_parallel()))));
    query.widths = {static_cast<int>(request.tensor_parallel())};
  }
  query.context_tokens = request.context() > 0 ? request.context() : query.config.context_tokens();
  query.prompt_tokens = request.prompt_tokens() > 0 ? request.prompt_tokens()
                                                    : std::min<int64_t>(2048, query.context_tokens - 1);
  if (query.prompt_tokens >= query.context_tokens) {
    return UsageError(absl::StrCat("a prompt of ", query.prompt_tokens, " tokens must be shorter than the context of ",
                                   query.context_tokens, " (--prompt_tokens, --context)"));
  }
  query.min_tokens_per_s_per_user = request.min_tokens_per_s_per_user();
  query.users = request.users() > 1 ? request.users() : 0;  // One user is always served.
  query.max_ttft_s = request.max_ttft_s();
  query.emulate_search = !request.no_emulate();
  query.verify = !request.no_verify();
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
                                           row.emulated()   ? " = emulated"
                                           : row.verified() ? " verified"
                                                            : " predicted"));
  }
  absl::StrAppend(&text, "\n* chosen   P Pareto front (per-user speed vs chips)   pipeline: format, tensor-parallel "
                         "width x stages [x replicas]\n");
  absl::StrAppend(&text, report.verdict(), "\n");
  if (report.unlisted_chip_counts_size() > 0) {
    absl::StrAppend(&text, "\nChip counts asked for without a row (--format=json gives each count's own account):\n");
    // One line per kind of reason, its counts as runs of neighbours in the
    // list asked for ("136..184, 200"), with the first count's account.
    std::vector<std::pair<std::string, std::vector<const scheduler::ChipCountNote*>>> kinds;
    for (const scheduler::ChipCountNote& note : report.unlisted_chip_counts()) {
      auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == note.kind(); });
      if (it == kinds.end()) it = kinds.insert(kinds.end(), {note.kind(), {}});
      it->second.push_back(&note);
    }
    const std::vector<int> asked(report.chip_counts_asked().begin(), report.chip_counts_asked().end());
    auto index = [&](int n) { return std::find(asked.begin(), asked.end(), n) - asked.begin(); };
    for (const auto& [kind, notes] : kinds) {
      std::vector<std::string> runs;
      for (size_t i = 0; i < notes.size();) {
        size_t j = i + 1;
        while (j < notes.size() && index(notes[j]->chips()) == index(notes[j - 1]->chips()) + 1) ++j;
        runs.push_back(j - i == 1 ? absl::StrCat(notes[i]->chips())
                                  : absl::StrCat(notes[i]->chips(), "..", notes[j - 1]->chips()));
        i = j;
      }
      if (runs.size() > 10) {  // The JSON has them all; the table the ends.
        const size_t hidden = runs.size() - 8;
        runs.erase(runs.begin() + 6, runs.end() - 2);
        runs.insert(runs.begin() + 6, absl::StrCat("... (", hidden, " runs more)"));
      }
      std::string hint;
      if (kind == "no pipeline takes it") hint = " (list counts, --chips=A,B,..., to time the pipeline that uses each whole)";
      if (kind == "copies off the front") hint = " (--all_rows lists them)";
      absl::StrAppend(&text, "  ", kind, hint, ": ", absl::StrJoin(runs, ", "),
                      notes.size() > 1 ? absl::StrCat(" (", notes.size(), " counts); e.g. ") : ": ",
                      notes.size() > 1 ? absl::StrCat(notes[0]->chips(), ": ") : "", notes[0]->reason(), "\n");
    }
  }
  if (report.skipped_size() > 0) {
    absl::StrAppend(&text, "\nLeft out (the compiler could not lay them out or time them):\n");
    for (const std::string& line : report.skipped()) absl::StrAppend(&text, "  ", line, "\n");
  }
  absl::StrAppend(&text, "\n");
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
  plot.x_low = report.min_chips();
  plot.x_high = report.max_chips();
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
  return UsageError(absl::StrCat("--format=", f, " is not one of: table, csv, json"));
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
    return UsageError("sweep: --field=chip.<path> or system.<path> and --values=a,b,... are required");
  }
  scheduler::SweepReport sweep;
  sweep.set_model(request.model());
  sweep.set_field(request.field());
  for (const std::string& value : request.values()) {
    progress << "sweep: " << request.field() << " = " << value << "\n";
    const std::string assignment = absl::StrCat(request.field(), "=", value);
    // The assignment itself must be valid: a bad field or value stops the sweep.
    {
      RequestSpecs probe;
      RETURN_IF_ERROR(AsUsageError(ApplyOverride(assignment, &probe.chip, &probe.system)));
    }
    scheduler::SweepPoint* point = sweep.add_points();
    point->set_value(value);
    absl::StatusOr<scheduler::PlanReport> plan = PlanWith(request, {assignment}, progress);
    if (!plan.ok()) {
      // A point that fails (does not fit, or a value the specs refuse) is
      // reported and the sweep goes on; a mistake on the command line stops it.
      if (IsUsageError(plan.status())) return plan.status();
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
                           request.system().empty() ? pipeline::kDefaultSystemName : request.system(),
                           request.field(), "value",
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
      out << absl::StrFormat("%-14s no plan: %s\n", p.value(), p.error());
    } else {
      out << absl::StrFormat("%-14s %8d %14.1f %10d %14.1f  %s\n", p.value(), p.fewest_chips(),
                             p.best_tokens_per_s_per_user(), p.most_users(), p.best_aggregate_tokens_per_s(), chosen);
    }
  }
  return absl::OkStatus();
}

}  // namespace tsp::tools
