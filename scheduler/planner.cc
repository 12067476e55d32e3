#include "scheduler/planner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "isa/status_macros.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/model_run.h"
#include "scheduler/partitioner.h"

namespace tsp::scheduler {
namespace {

constexpr double kHoursPerYear = 8766;  // 365.25 days.

struct Pipeline {
  models::NumberFormat format = models::NumberFormat::kInt8;
  int tp = 0;
  int stages = 0;
  PartitionChoice choice;
  RunReport run;
  bool emulated = false;
  bool verified = false;
  bool ttft_timed = false;
  std::string failure;  // Why the compiler could not time it; empty when it could.
  std::shared_ptr<UnitCache> units = NewUnitCache();  // Shared by its runs.
};

std::string Describe(models::NumberFormat format, int tp, int stages) {
  return absl::StrCat(models::NumberFormatName(format), ", ", tp, "-way x ", stages, " stages");
}

std::string Describe(const Pipeline& p) { return Describe(p.format, p.tp, p.stages); }

// The partition of `tp` x `stages` chips for one user; nullopt when it does
// not fit; other errors returned.
absl::StatusOr<std::optional<PartitionChoice>> Fit(const PlanQuery& query, models::NumberFormat format,
                                                   int tp, int stages, const isa::ChipModel& chip,
                                                   const pipeline::SystemModel& system,
                                                   const pipeline::Topology& topology) {
  PartitionQuery request;
  request.config = query.config;
  request.format = format;
  request.context_tokens = query.context_tokens;
  request.users = 1;
  request.chips = tp * stages;
  request.tensor_parallel = tp;
  request.stages = stages;
  absl::StatusOr<PartitionChoice> choice = ChoosePartition(request, chip, system, topology);
  if (absl::IsResourceExhausted(choice.status())) return std::optional<PartitionChoice>();
  if (!choice.ok()) return choice.status();
  return std::optional<PartitionChoice>(*std::move(choice));
}

// The pipelines worth timing: per format and width the fewest stages that
// fit, then half the layers per stage, and half again, down to one; and for
// listed chip counts, the pipeline that uses each count whole. A format and
// width the compiler cannot lay out are left out, with why, in `skipped`.
absl::StatusOr<std::vector<Pipeline>> Pipelines(const PlanQuery& query, const isa::ChipModel& chip,
                                                const pipeline::SystemModel& system,
                                                const pipeline::Topology& topology,
                                                std::vector<std::string>* skipped) {
  const int per_node = static_cast<int>(query.system.chips_per_node().value());
  const int max_chips = query.chip_counts.back();
  const int layers = static_cast<int>(query.config.layers());
  // The partitioner's widths (up to four nodes), narrowest first.
  std::vector<int> widths = query.widths;
  if (widths.empty()) {
    widths = WidthsToTry(query.config, per_node);
    std::sort(widths.begin(), widths.end());
  }
  std::vector<Pipeline> pipelines;
  for (models::NumberFormat format : query.formats) {
    for (int tp : widths) {
      if (tp < 1 || tp > max_chips || !CheckWidth(query.config, tp).ok()) continue;  // Does not split this way.
      PartitionQuery request;
      request.config = query.config;
      request.format = format;
      request.context_tokens = query.context_tokens;
      request.users = 1;
      request.tensor_parallel = tp;
      absl::StatusOr<FewestChips> fewest = FindFewestChips(request, chip, system, topology, max_chips);
      if (absl::IsNotFound(fewest.status())) continue;  // Does not fit this width within the counts.
      if (!fewest.ok()) {
        skipped->push_back(absl::StrCat(models::NumberFormatName(format), ", ", tp, "-way: ",
                                        fewest.status().message()));
        continue;
      }
      std::set<int> stage_counts;
      for (int per_stage = (layers + fewest->stages - 1) / fewest->stages;; per_stage = (per_stage + 1) / 2) {
        stage_counts.insert(std::max(fewest->stages, (layers + per_stage - 1) / per_stage));
        if (per_stage == 1) break;
      }
      if (query.chip_counts_listed) {
        for (int n : query.chip_counts) {
          if (n % tp == 0 && n / tp >= fewest->stages) stage_counts.insert(std::min(layers, n / tp));
        }
      }
      for (int stages : stage_counts) {
        if (stages * tp > max_chips) continue;
        Pipeline p;
        p.format = format;
        p.tp = tp;
        p.stages = stages;
        if (stages == fewest->stages && fewest->confirmed) {
          p.choice = fewest->choice;
        } else {
          absl::StatusOr<std::optional<PartitionChoice>> fit =
              Fit(query, format, tp, stages, chip, system, topology);
          if (!fit.ok()) {
            skipped->push_back(absl::StrCat(Describe(format, tp, stages), ": ", fit.status().message()));
            continue;
          }
          if (!fit->has_value()) continue;
          p.choice = **std::move(fit);
        }
        pipelines.push_back(std::move(p));
      }
    }
  }
  return pipelines;
}

// Times the pipelines one after another, each one's distinct stage units in
// parallel: units are many and alike, so the threads stay busy (pipelines
// differ in cost tenfold).
// A pipeline that fails is marked (its `failure`, a line in `skipped`) and
// the others go on.
void Time(const PlanQuery& query, const isa::ChipModel& chip, const pipeline::SystemModel& system,
          const pipeline::Topology& topology, bool emulate, int64_t prompt_tokens, std::vector<Pipeline*> todo,
          std::vector<std::string>* skipped) {
  for (size_t i = 0; i < todo.size(); ++i) {
    Pipeline& p = *todo[i];
    if (!p.failure.empty()) continue;
    ModelRunOptions options;
    options.format = p.format;
    options.context_tokens = query.context_tokens;
    options.prompt_tokens = prompt_tokens;
    options.threads = std::max(1, query.threads);
    options.emulate = emulate;
    options.verify = query.verify;
    options.cache = p.units;
    const absl::Time start = absl::Now();
    absl::StatusOr<RunReport> run = RunModel(query.config, chip, system, topology, p.choice, options);
    if (run.ok() && p.run.cycles_per_token_predicted() != 0 &&
        p.run.cycles_per_token_predicted() != run->cycles_per_token_predicted()) {
      run = absl::InternalError(absl::StrCat("compiled twice, predicted ", p.run.cycles_per_token_predicted(),
                                             " then ", run->cycles_per_token_predicted(), " cycles per token"));
    }
    if (!run.ok()) {
      p.failure = std::string(run.status().message());
      const bool bug = absl::IsInternal(run.status());
      skipped->push_back(absl::StrCat(Describe(p), ": ", bug ? "INTERNAL ERROR (a bug, please report it): " : "",
                                      p.failure));
      if (query.progress) query.progress(absl::StrCat("  [", i + 1, "/", todo.size(), "] ", skipped->back()));
      continue;
    }
    p.run = *std::move(run);
    p.emulated = emulate;
    p.verified = query.verify;
    p.ttft_timed = prompt_tokens > 0;
    if (query.progress) {
      query.progress(absl::StrFormat("  [%d/%d] %s: %.1f tokens/s per user, %d %s%s, %s in %.1f s", i + 1,
                                     todo.size(), Describe(p), p.run.tokens_per_s_per_user(),
                                     p.run.concurrent_users(), p.run.concurrent_users() == 1 ? "user" : "users",
                                     p.ttft_timed ? absl::StrFormat(", first token %.3f s", p.run.ttft_s()) : "",
                                     emulate ? "compiled and emulated" : "compiled",
                                     absl::ToDoubleSeconds(absl::Now() - start)));
    }
  }
}

PlanRow Row(const Pipeline& p, int replicas, const PlanQuery& query) {
  const pipeline::SystemSpec& spec = query.system;
  const int per_node = static_cast<int>(spec.chips_per_node().value());
  const int per_rack = static_cast<int>(spec.nodes_per_rack().value());
  PlanRow row;
  row.set_nodes((replicas * p.tp * p.stages + per_node - 1) / per_node);
  row.set_chips(row.nodes() * per_node);
  row.set_racks((row.nodes() + per_rack - 1) / per_rack);
  row.set_tensor_parallel(p.tp);
  row.set_pipeline_stages(p.stages);
  row.set_replicas(replicas);
  row.set_weight_format(models::NumberFormatName(p.format));
  row.set_tokens_per_s_per_user(p.run.tokens_per_s_per_user());
  row.set_ttft_s(p.run.ttft_s());
  row.set_concurrent_users(replicas * p.run.concurrent_users());
  row.set_aggregate_tokens_per_s(replicas * p.run.aggregate_tokens_per_s());
  row.set_watts(static_cast<double>(row.chips()) * static_cast<double>(spec.watts_per_chip().value()));
  row.set_capital_dollars(row.chips() * spec.dollars_per_chip().value());
  const double dollars_per_hour = row.capital_dollars() / (spec.amortization_years().value() * kHoursPerYear) +
                                  row.watts() / 1000.0 * spec.dollars_per_kilowatt_hour().value();
  row.set_dollars_per_million_tokens(dollars_per_hour / (row.aggregate_tokens_per_s() * 3600.0) * 1e6);
  row.set_cycles_per_token_predicted(p.run.cycles_per_token_predicted());
  row.set_cycles_per_token_emulated(p.run.cycles_per_token_emulated());
  row.set_emulated(p.emulated);
  row.set_verified(p.verified);
  row.set_ttft_timed(p.ttft_timed);
  row.set_meets_constraints(
      (query.min_tokens_per_s_per_user <= 0 || row.tokens_per_s_per_user() >= query.min_tokens_per_s_per_user) &&
      (query.users <= 0 || row.concurrent_users() >= query.users) &&
      (query.max_ttft_s <= 0 || row.ttft_s() <= query.max_ttft_s));
  return row;
}

// Whether `a` is at least as good as `b` on chips, per-user speed, users and
// aggregate rate, and better on one. (Not on time to first token: a prompt
// runs token by token, so it follows the per-token speed.)
bool Dominates(const PlanRow& a, const PlanRow& b) {
  const bool no_worse = a.chips() <= b.chips() && a.tokens_per_s_per_user() >= b.tokens_per_s_per_user() &&
                        a.concurrent_users() >= b.concurrent_users() &&
                        a.aggregate_tokens_per_s() >= b.aggregate_tokens_per_s();
  const bool better = a.chips() < b.chips() || a.tokens_per_s_per_user() > b.tokens_per_s_per_user() ||
                      a.concurrent_users() > b.concurrent_users() ||
                      a.aggregate_tokens_per_s() > b.aggregate_tokens_per_s();
  return no_worse && better;
}

std::string Layout(const PlanRow& row) {
  return absl::StrCat(row.weight_format(), " ", row.tensor_parallel(), "-way x ", row.pipeline_stages(),
                      " stages", row.replicas() > 1 ? absl::StrCat(" x ", row.replicas(), " replicas") : "",
                      " on ", row.chips(), " chips");
}

// Which constraint no option meets, and by how much; or that none meets all.
std::string Shortfall(const PlanReport& report) {
  const PlanRow* fastest = nullptr;
  const PlanRow* most_users = nullptr;
  const PlanRow* quickest = nullptr;
  for (const PlanRow& row : report.rows()) {
    if (fastest == nullptr || row.tokens_per_s_per_user() > fastest->tokens_per_s_per_user()) fastest = &row;
    if (most_users == nullptr || row.concurrent_users() > most_users->concurrent_users()) most_users = &row;
    if (quickest == nullptr || row.ttft_s() < quickest->ttft_s()) quickest = &row;
  }
  std::vector<std::string> fails;
  if (report.min_tokens_per_s_per_user() > 0 &&
      fastest->tokens_per_s_per_user() < report.min_tokens_per_s_per_user()) {
    fails.push_back(absl::StrFormat(
        "per-user speed: the fastest option gives %.1f tokens/s (%s), %.1f short of %.1f (%.1f%%)",
        fastest->tokens_per_s_per_user(), Layout(*fastest),
        report.min_tokens_per_s_per_user() - fastest->tokens_per_s_per_user(), report.min_tokens_per_s_per_user(),
        100.0 * (1.0 - fastest->tokens_per_s_per_user() / report.min_tokens_per_s_per_user())));
  }
  if (report.users() > 0 && most_users->concurrent_users() < report.users()) {
    fails.push_back(absl::StrFormat("users: at most %d within %d chips (%s), %d short of %d",
                                    most_users->concurrent_users(), report.max_chips(), Layout(*most_users),
                                    report.users() - most_users->concurrent_users(), report.users()));
  }
  if (report.max_ttft_s() > 0 && quickest->ttft_s() > report.max_ttft_s()) {
    fails.push_back(absl::StrFormat("time to first token: the quickest is %.3f s (%s), %.3f s over %.3f s",
                                    quickest->ttft_s(), Layout(*quickest), quickest->ttft_s() - report.max_ttft_s(),
                                    report.max_ttft_s()));
  }
  if (fails.empty()) {
    return "each constraint is met by some option, but no option meets them all at once; relax one or "
           "allow more chips";
  }
  return absl::StrCat("no option meets the constraints: ", absl::StrJoin(fails, "; "));
}

// The options of the timed pipelines, fewest chips first, with the Pareto
// front, the useful ones and the cheapest meeting the constraints marked;
// `row_pipeline` gets each row's pipeline.
absl::Status Tabulate(const PlanQuery& query, const std::vector<Pipeline>& pipelines, bool constrained,
                      PlanReport* report, std::vector<int>* row_pipeline) {
  report->Clear();
  report->set_model(query.config.name());
  report->set_system(query.system.name());
  report->set_context_tokens(query.context_tokens);
  report->set_prompt_tokens(query.prompt_tokens);
  report->set_min_tokens_per_s_per_user(query.min_tokens_per_s_per_user);
  report->set_users(query.users);
  report->set_max_ttft_s(query.max_ttft_s);
  report->set_min_chips(query.chip_counts.front());
  for (int n : query.chip_counts) report->add_chip_counts_asked(n);
  report->set_max_chips(query.chip_counts.back());
  std::vector<std::pair<PlanRow, int>> rows;
  int configurations = 0;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    const Pipeline& p = pipelines[i];
    if (!p.failure.empty()) continue;
    ++configurations;
    // At each chip count, as many copies as fill it (fewer copies on the
    // same nodes serve fewer users at the same capital).
    for (int n : query.chip_counts) {
      const int replicas = n / (p.tp * p.stages);
      if (replicas < 1) continue;
      PlanRow row = Row(p, replicas, query);
      if (row.chips() == n) rows.emplace_back(std::move(row), static_cast<int>(i));
    }
  }
  report->set_configurations(configurations);
  // Fewest chips first; then the faster per user.
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.first.chips() != b.first.chips()) return a.first.chips() < b.first.chips();
    return a.first.tokens_per_s_per_user() > b.first.tokens_per_s_per_user();
  });
  row_pipeline->clear();
  for (auto& [row, pipeline] : rows) {
    *report->add_rows() = std::move(row);
    row_pipeline->push_back(pipeline);
  }
  // On the front when faster than every option of fewer chips (rows come
  // fewest chips first; those of one count tie among themselves).
  double best_before = 0, best_here = 0;
  int count = -1;
  for (PlanRow& row : *report->mutable_rows()) {
    if (row.chips() != count) {
      best_before = std::max(best_before, best_here);
      count = row.chips();
    }
    row.set_pareto(row.tokens_per_s_per_user() > best_before);
    best_here = std::max(best_here, row.tokens_per_s_per_user());
  }
  // Listed: a pipeline not dominated by another option (at least as good on
  // chips, speed, users and aggregate, better on one), and its copies where
  // they are on the front. Every listed row is undominated, so no hidden row
  // beats a listed one on every column; copies off the front only scale
  // users and aggregate with chips, and are left out of the table.
  for (PlanRow& row : *report->mutable_rows()) {
    bool dominated = false;
    for (const PlanRow& other : report->rows()) dominated |= Dominates(other, row);
    row.set_useful(!dominated && (row.replicas() == 1 || row.pareto()));
  }
  // The cheapest meeting the constraints: fewest chips, then the lowest cost
  // per token. Rows whose time to first token is not timed cannot be chosen
  // (it is timed for every pipeline when it is bounded).
  report->set_chosen(-1);
  if (!constrained) return absl::OkStatus();
  for (int i = 0; i < report->rows_size(); ++i) {
    const PlanRow& row = report->rows(i);
    if (!row.meets_constraints() || !row.ttft_timed()) continue;
    if (report->chosen() < 0) {
      report->set_chosen(i);
      continue;
    }
    const PlanRow& best = report->rows(report->chosen());
    if (row.chips() == best.chips() && row.dollars_per_million_tokens() < best.dollars_per_million_tokens()) {
      report->set_chosen(i);
    }
  }
  return absl::OkStatus();
}

std::string Brief(const PlanRow& row) {
  return absl::StrFormat("%s (%.1f tokens/s per user, %d %s, %.1f aggregate)", Layout(row),
                         row.tokens_per_s_per_user(), row.concurrent_users(),
                         row.concurrent_users() == 1 ? "user" : "users", row.aggregate_tokens_per_s());
}

// Why each chip count asked for has no listed row.
void NoteUnlistedCounts(const PlanQuery& query, const std::vector<Pipeline>& pipelines, PlanReport* report) {
  report->clear_unlisted_chip_counts();
  const int per_node = static_cast<int>(query.system.chips_per_node().value());
  const Pipeline* smallest = nullptr;
  for (const Pipeline& p : pipelines) {
    if (p.failure.empty() && (smallest == nullptr || p.tp * p.stages < smallest->tp * smallest->stages)) {
      smallest = &p;
    }
  }
  for (int n : query.chip_counts) {
    const PlanRow* best_here = nullptr;  // The fastest row at n (rows come fastest first per count).
    bool listed = false;
    for (const PlanRow& row : report->rows()) {
      if (row.chips() != n) continue;
      listed |= row.useful() || row.chosen();
      if (best_here == nullptr) best_here = &row;
    }
    if (listed) continue;
    std::string reason, kind;
    const Pipeline* failed = nullptr;  // One the compiler could not time, that would fill n.
    for (const Pipeline& p : pipelines) {
      const int chips = p.tp * p.stages;
      if (!p.failure.empty() && n % chips == 0 && (n - chips) < per_node) failed = &p;
    }
    if (best_here == nullptr && failed != nullptr) {
      reason = absl::StrCat(Describe(*failed), ": ", failed->failure);
      kind = "left out";
    } else if (best_here != nullptr) {
      // Dominance is transitive, so a listed row dominates it, unless it is
      // only copies of a listed pipeline, off the front.
      for (const PlanRow& row : report->rows()) {
        if ((row.useful() || row.chosen()) && Dominates(row, *best_here)) {
          reason = absl::StrCat(Brief(*best_here), " is beaten by ", Brief(row));
          kind = "dominated";
          break;
        }
      }
      if (reason.empty()) {
        reason = absl::StrCat("copies of a listed pipeline, slower than an option of fewer chips: ", Brief(*best_here));
        kind = "copies off the front";
      }
    } else if (smallest == nullptr || n < (smallest->tp * smallest->stages + per_node - 1) / per_node * per_node) {
      reason = smallest == nullptr
                   ? "no pipeline of the widths tried holds the model"
                   : absl::StrFormat("the fewest chips that hold the model with one user's caches are %d (%s)",
                                     smallest->tp * smallest->stages, Describe(*smallest));
      kind = "does not fit";
    } else {
      const PlanRow* within = nullptr;
      for (const PlanRow& row : report->rows()) {
        if (row.chips() < n && (row.useful() || row.chosen()) &&
            (within == nullptr || row.tokens_per_s_per_user() > within->tokens_per_s_per_user())) {
          within = &row;
        }
      }
      reason = within != nullptr ? absl::StrCat("the fastest within it: ", Brief(*within))
                                 : "no option of fewer chips either";
      kind = "no pipeline takes it";
    }
    ChipCountNote* note = report->add_unlisted_chip_counts();
    note->set_chips(n);
    note->set_kind(kind);
    note->set_reason(reason);
  }
}

// The partitioner's own account of the model (in the first format) on
// `nodes` nodes of the system: OK when it fits, else why, in bytes, with the
// fewest chips that fit. `chips` 0: the whole system.
absl::Status PartitionerAccount(const PlanQuery& query, const isa::ChipModel& chip, int64_t nodes, int chips) {
  pipeline::SystemSpec spec = query.system;
  spec.mutable_nodes()->set_value(nodes);
  ASSIGN_OR_RETURN(pipeline::SystemModel system, pipeline::SystemModel::Create(spec, chip));
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  PartitionQuery request;
  request.config = query.config;
  request.format = query.formats.front();
  request.context_tokens = query.context_tokens;
  request.chips = chips;
  return ChoosePartition(request, chip, system, topology).status();
}

}  // namespace

absl::StatusOr<PlanReport> Plan(const PlanQuery& query, const isa::ChipModel& chip) {
  const absl::Time start = absl::Now();
  if (query.chip_counts.empty()) return absl::InvalidArgumentError("no chip counts to plan over");
  if (query.formats.empty()) return absl::InvalidArgumentError("no number formats to plan over");
  const int per_node = static_cast<int>(query.system.chips_per_node().value());
  if (per_node < 1) return absl::InvalidArgumentError("the system spec has no chips per node");
  for (size_t i = 0; i < query.chip_counts.size(); ++i) {
    const int n = query.chip_counts[i];
    if (n < per_node || n % per_node != 0 || (i > 0 && n <= query.chip_counts[i - 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chip counts must be whole nodes of ", per_node, " chips, ascending; got ", n));
    }
  }
  auto say = [&](const std::string& line) {
    if (query.progress) query.progress(line);
  };
  // One system as large as the largest count: every pipeline lies on its
  // first nodes, and a pipeline's routes do not depend on the nodes beyond.
  pipeline::SystemSpec spec = query.system;
  spec.mutable_nodes()->set_value(query.chip_counts.back() / per_node);
  spec.mutable_nodes()->set_source(
      absl::StrCat("DERIVED: tsp plan, the largest chip count asked (", query.chip_counts.back(), ")"));
  ASSIGN_OR_RETURN(pipeline::SystemModel system, pipeline::SystemModel::Create(spec, chip));
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));

  std::vector<std::string> skipped;
  ASSIGN_OR_RETURN(std::vector<Pipeline> pipelines, Pipelines(query, chip, system, topology, &skipped));
  if (pipelines.empty() && !skipped.empty()) {
    return absl::ResourceExhaustedError(absl::StrCat("no pipeline of ", query.config.name(),
                                                     " could be laid out: ", absl::StrJoin(skipped, "; ")));
  }
  if (pipelines.empty()) {
    // ChoosePartition's own account: the preferred width's shortfall and the
    // fewest chips that would fit (measured on a system of at least three
    // stages of two nodes, so that a first, a middle and a last stage exist).
    RETURN_IF_ERROR(PartitionerAccount(query, chip, std::max<int64_t>(spec.nodes().value(), 6),
                                       query.chip_counts.back()));
    return absl::ResourceExhaustedError(absl::StrCat(query.config.name(), " fits no pipeline of the widths tried within ",
                                                     query.chip_counts.back(), " chips"));
  }
  // One token at the full context for every pipeline (speed, users,
  // aggregate); then the prompt, for the time to first token, of the
  // pipelines whose options are listed (all of them when a bound on it or
  // every row is asked): emulated where on the Pareto front or when the
  // search emulates; then the chosen option's pipeline emulated if it was not.
  std::vector<Pipeline*> all;
  for (Pipeline& p : pipelines) all.push_back(&p);
  say(absl::StrFormat("tsp plan: %s on %d to %d chips: %d pipelines fit; one token each (%s) ...",
                      query.config.name(), query.chip_counts.front(), query.chip_counts.back(), pipelines.size(),
                      query.emulate_search ? "compiled and emulated" : "compiled only"));
  Time(query, chip, system, topology, query.emulate_search, 0, all, &skipped);
  const bool constrained = query.min_tokens_per_s_per_user > 0 || query.users > 0 || query.max_ttft_s > 0;
  PlanReport report;
  std::vector<int> row_pipeline;
  RETURN_IF_ERROR(Tabulate(query, pipelines, constrained, &report, &row_pipeline));
  std::vector<Pipeline*> emulated, compiled;
  for (size_t i = 0; i < pipelines.size(); ++i) {
    bool listed = query.every_row || query.max_ttft_s > 0, pareto = false;
    for (int r = 0; r < report.rows_size(); ++r) {
      if (row_pipeline[r] != static_cast<int>(i)) continue;
      listed |= report.rows(r).useful();
      pareto |= report.rows(r).pareto();
    }
    if (!listed) continue;
    (query.emulate_search || pareto ? emulated : compiled).push_back(&pipelines[i]);
  }
  say(absl::StrFormat("the prompt of %d tokens for %d pipelines (%d emulated) ...", query.prompt_tokens,
                      emulated.size() + compiled.size(), emulated.size()));
  Time(query, chip, system, topology, true, query.prompt_tokens, emulated, &skipped);
  Time(query, chip, system, topology, query.emulate_search, query.prompt_tokens, compiled, &skipped);
  RETURN_IF_ERROR(Tabulate(query, pipelines, constrained, &report, &row_pipeline));
  if (report.chosen() >= 0 && !pipelines[row_pipeline[report.chosen()]].emulated) {
    say("emulating the chosen option's pipeline ...");
    Time(query, chip, system, topology, true, query.prompt_tokens, {&pipelines[row_pipeline[report.chosen()]]},
         &skipped);
    RETURN_IF_ERROR(Tabulate(query, pipelines, constrained, &report, &row_pipeline));
  }
  report.set_prompt_tokens(query.prompt_tokens);
  if (report.chosen() >= 0) {
    report.mutable_rows(report.chosen())->set_chosen(true);
    report.mutable_rows(report.chosen())->set_useful(true);
    const PlanRow& row = report.rows(report.chosen());
    report.set_verdict(absl::StrFormat("cheapest meeting the constraints: %s: %.1f tokens/s per user, %d users, "
                                       "time to first token %.3f s, $%.2f per million tokens",
                                       Layout(row), row.tokens_per_s_per_user(), row.concurrent_users(),
                                       row.ttft_s(), row.dollars_per_million_tokens()));
  } else if (report.rows_size() == 0) {
    report.set_verdict(absl::StrCat("no pipeline of ", query.config.name(),
                                    " occupies one of the chip counts asked; each count's reason follows"));
  } else if (constrained) {
    report.set_verdict(Shortfall(report));
  } else {
    report.set_verdict("no constraints given (--min_tokens_per_s_per_user, --users, --max_ttft_s): every useful option listed");
  }
  const pipeline::SystemSpec& s = query.system;
  report.add_assumptions(absl::StrCat("power: ", s.watts_per_chip().value(), " W per chip (",
                                      s.watts_per_chip().source(), ")"));
  report.add_assumptions(absl::StrCat("price: $", s.dollars_per_chip().value(), " per chip (",
                                      s.dollars_per_chip().source(), ")"));
  report.add_assumptions(absl::StrCat("amortization: ", s.amortization_years().value(), " years (",
                                      s.amortization_years().source(), ")"));
  report.add_assumptions(absl::StrCat("electricity: $", s.dollars_per_kilowatt_hour().value(), " per kWh (",
                                      s.dollars_per_kilowatt_hour().source(), ")"));
  report.add_assumptions(
      "per-user speed: one token at the full context's KV length, plus the host's PCIe transfer (SystemSpec)");
  report.add_assumptions("time to first token: the prompt run token by token (no batched prefill)");
  report.add_assumptions(
      "replicas: copies of one pipeline on disjoint nodes serving disjoint users; users and aggregate scale "
      "with the copies");
  for (const std::string& line : skipped) report.add_skipped(line);
  NoteUnlistedCounts(query, pipelines, &report);
  // Counts too small: the partitioner's own account, in bytes, at the
  // largest of them (the smaller ones fall shorter still).
  int too_small = 0;
  for (const ChipCountNote& note : report.unlisted_chip_counts()) {
    if (note.kind() == "does not fit") too_small = std::max(too_small, note.chips());
  }
  if (too_small > 0) {
    const absl::Status account = PartitionerAccount(query, chip, too_small / per_node, 0);
    if (absl::IsResourceExhausted(account)) {
      for (ChipCountNote& note : *report.mutable_unlisted_chip_counts()) {
        if (note.kind() == "does not fit") {
          note.set_reason(absl::StrCat(note.reason(), "; at ", too_small, " chips: ", account.message()));
        }
      }
    }
  }
  report.set_search_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return report;
}

}  // namespace tsp::scheduler
