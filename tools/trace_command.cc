#include "tools/trace_command.h"

#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "isa/status_macros.h"
#include "absl/strings/match.h"
#include "pipeline/trace_html.h"
#include "pipeline/trace_writer.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/model_run.h"
#include "tools/gzip_ostream.h"
#include "tools/model_command.h"
#include "tools/proto_json.h"
#include "tools/trace_report.pb.h"
#include "tools/usage_error.h"

namespace tsp::tools {
namespace {

// "0-7,16" -> {0..7, 16}.
absl::StatusOr<std::set<int>> ChipSet(const std::string& text) {
  std::set<int> chips;
  if (text.empty()) return chips;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    int first = 0, last = 0;
    if (range.size() > 2 || !absl::SimpleAtoi(range[0], &first) ||
        !absl::SimpleAtoi(range.size() == 2 ? range[1] : range[0], &last) || first < 0 || last < first) {
      return absl::InvalidArgumentError(absl::StrCat("--trace_chips=", text, ": '", part,
                                                     "' is not a chip or a range a-b"));
    }
    for (int c = first; c <= last; ++c) chips.insert(c);
  }
  return chips;
}

// Swallows what it is given (the writers that feed the HTML page).
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

}  // namespace

absl::Status TraceCommand(const TspRequest& request, std::ostream& out, std::ostream& progress) {
  if (request.out().empty()) return UsageError("trace: --out=FILE.json, FILE.json.gz or FILE.html is required");
  const bool html = absl::EndsWith(request.out(), ".html");
  const bool gzip = absl::EndsWith(request.out(), ".json.gz");
  if (!html && !gzip && !absl::EndsWith(request.out(), ".json")) {
    return UsageError(absl::StrCat("--out=", request.out(),
                                   ": the file's name says what to write: .json (trace events), .json.gz (the same, "
                                   "gzip) or .html (a page)"));
  }
  if (!request.format().empty() && request.format() != "text" && request.format() != "json") {
    return UsageError(absl::StrCat("--format=", request.format(), " is not one of: text, json"));
  }
  pipeline::TraceOptions options;
  if (request.detail() == "instructions") {
    options.detail = pipeline::TraceOptions::Detail::kInstructions;
  } else if (!request.detail().empty() && request.detail() != "units") {
    return UsageError(absl::StrCat("--detail=", request.detail(), " is not one of: units, instructions"));
  }
  ASSIGN_OR_RETURN(options.chips, ChipSet(request.trace_chips()));
  if (!request.cycles().empty()) {
    std::vector<absl::string_view> parts = absl::StrSplit(request.cycles(), ':');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &options.first_cycle) ||
        !absl::SimpleAtoi(parts[1], &options.last_cycle) || options.first_cycle < 0 ||
        options.last_cycle <= options.first_cycle) {
      return UsageError(absl::StrCat("--cycles=", request.cycles(), " is not first:last (0 <= first < last)"));
    }
  }
  {
    ASSIGN_OR_RETURN(models::ModelConfig config, LoadRequestModel(request));
    const int64_t context = request.context() > 0 ? request.context() : config.context_tokens();
    if (request.has_position() && request.position() >= context) {
      return UsageError(absl::StrCat("--position=", request.position(), " is beyond the KV cache of ", context,
                                     " tokens (--context); give 0..", context - 1));
    }
  }
  TspRequest timing = request;
  timing.set_mode("timing");
  return Partitioned(timing, progress, [&](const isa::ChipModel& chip, const pipeline::SystemModel& system,
                                          const pipeline::Topology& topology, const models::ModelConfig& config,
                                          const scheduler::PartitionQuery& query,
                                          const scheduler::PartitionChoice& choice,
                                          const TspRequest& resolved) -> absl::Status {
    const absl::Time start = absl::Now();
    const int64_t context = query.context_tokens;
    const int64_t position = request.has_position() ? request.position() : context - 1;
    scheduler::DecoderOptions decoder;
    decoder.format = query.format;
    decoder.context_tokens = context;
    decoder.users = std::max<int64_t>(1, choice.max_users);
    ASSIGN_OR_RETURN(scheduler::DecoderCompiler compiler,
                     scheduler::DecoderCompiler::Create(config, chip, system, topology, choice.partition, decoder));
    const scheduler::DecoderPartition& partition = choice.partition;
    const int stages = static_cast<int>(partition.stage_chips.size());
    // Plain or gzip: one stream either way.
    std::ofstream plain;
    GzipStreamBuffer compressed;
    std::ostream file(gzip ? static_cast<std::streambuf*>(&compressed) : plain.rdbuf());
    if (gzip) {
      RETURN_IF_ERROR(compressed.Open(request.out()));
    } else {
      plain.open(request.out());
      if (!plain) return absl::UnavailableError(absl::StrCat("cannot write ", request.out()));
    }
    // JSON: one writer. HTML: every chip by units, and the chips asked (by
    // default the first of the first and of the last stage) instruction by
    // instruction.
    NullBuffer null_buffer;
    std::ostream null(&null_buffer);
    pipeline::TraceOptions units_options = options;
    units_options.detail = pipeline::TraceOptions::Detail::kUnits;
    units_options.chips.clear();
    pipeline::TraceOptions detail_options = options;
    detail_options.detail = pipeline::TraceOptions::Detail::kInstructions;
    if (detail_options.chips.empty()) {
      detail_options.chips = {partition.stage_chips.front()[0], partition.stage_chips.back()[0]};
    }
    pipeline::TraceWriter writer(html ? null : file, chip, topology, html ? units_options : options);
    pipeline::TraceWriter detail(null, chip, topology, detail_options);
    std::vector<pipeline::TokenSpan> tokens;
    // Distinct units compiled once; a stage like an earlier one reuses its
    // programs with chips moved by the stage distance.
    std::map<std::string, std::pair<int, scheduler::CompiledStep>> units;
    const int64_t tiles = position / chip.lanes() + 1;
    int64_t offset = 0;
    int64_t beat = 0;
    std::vector<std::pair<int64_t, int64_t>> stage_spans;
    for (int s = 0; s < stages; ++s) {
      const std::string signature = scheduler::StageUnitSignature(partition, topology, s, tiles);
      auto it = units.find(signature);
      if (it == units.end()) {
        progress << absl::StrFormat("compiling stage %d of %d ...\n", s, stages);
        ASSIGN_OR_RETURN(scheduler::CompiledStep step, compiler.CompileStageUnit(s, position));
        it = units.emplace(signature, std::make_pair(s, std::move(step))).first;
      }
      const int representative = it->second.first;
      const scheduler::CompiledStep& unit = it->second.second;
      // Same unit, same route shapes: every chip of it (the stage's, the
      // previous stage's, those forwarding between them) moves by whole
      // stages, which lie tp chips apart.
      const int shift = (partition.stage_chips[s][0] - partition.stage_chips[representative][0]);
      for (const auto& [id, program] : unit.programs) {
        const int moved = id + shift;
        if (moved < 0 || moved >= topology.chips()) {
          return absl::InternalError(absl::StrCat("stage ", s, ": chip ", id, " of stage ", representative,
                                                  "'s unit moves outside the system"));
        }
        writer.AddProgram(moved, program, offset);
        if (html) detail.AddProgram(moved, program, offset);
      }
      const int64_t cycles = s + 1 == stages ? unit.predicted_last_cycle : unit.stage_last_cycle;
      stage_spans.emplace_back(offset, offset + unit.stage_last_cycle);
      beat = std::max(beat, unit.stage_last_cycle);
      offset += cycles;
    }
    // The traced token (user 0) and the users pipelined behind it.
    const int64_t users = std::min<int64_t>(std::max<int64_t>(1, choice.max_users), stages);
    for (int64_t u = 0; u < users; ++u) {
      for (int s = 0; s < stages; ++s) {
        writer.AddSpan(absl::StrCat("user ", u, " token, stage ", s, u == 0 ? "" : " (pipelined, not traced)"),
                       "token", u * stages + s + 1, partition.stage_chips[s][0], stage_spans[s].first + u * beat,
                       stage_spans[s].second + u * beat);
        tokens.push_back({static_cast<int>(u), s, stage_spans[s].first + u * beat, stage_spans[s].second + u * beat});
      }
    }
    RETURN_IF_ERROR(writer.Finish());
    const std::string title =
        absl::StrFormat("%s, %d chips (%d-way x %d stages), one token at KV length %d", config.name(),
                        choice.chips_used, partition.tensor_parallel, stages, position + 1);
    if (html) {
      RETURN_IF_ERROR(detail.Finish());
      pipeline::TraceHtmlInput page;
      page.title = title;
      page.cycles = offset;
      page.tokens_per_s_per_user = static_cast<double>(chip.clock_hz()) / static_cast<double>(offset);
      page.stage_chips = partition.stage_chips;
      page.tokens = tokens;
      page.units = &writer;
      page.detail = &detail;
      file << pipeline::TraceHtml(chip, page);
    }
    file.flush();
    if (!file) return absl::UnavailableError(absl::StrCat("could not write all of ", request.out()));
    if (gzip) {
      RETURN_IF_ERROR(compressed.Close());
    } else {
      plain.close();
      if (!plain) return absl::UnavailableError(absl::StrCat("could not write all of ", request.out()));
    }
    std::ifstream size(request.out(), std::ios::binary | std::ios::ate);
    TraceReport report;
    report.set_out(request.out());
    report.set_kind(html ? "HTML page" : gzip ? "trace-event JSON, gzip" : "trace-event JSON");
    report.set_detail(html ? "units and instructions"
                      : options.detail == pipeline::TraceOptions::Detail::kUnits ? "units" : "instructions");
    report.set_model(config.name());
    report.set_chips(choice.chips_used);
    report.set_tensor_parallel(partition.tensor_parallel);
    report.set_pipeline_stages(stages);
    report.set_kv_length(position + 1);
    report.set_cycles(offset);
    report.set_distinct_stage_units(static_cast<int32_t>(units.size()));
    report.set_events(writer.events());
    report.set_bytes(static_cast<int64_t>(size.tellg()));
    report.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
    if (request.format() == "json") {
      out << ProtoJson(report) << "\n";
    } else {
      out << absl::StrFormat(
          "%s: %s, %d chips (%d-way x %d stages), token at KV length %d: %d cycles, %d distinct stage units; "
          "%d events, %.1f MB in %.1f s (%s, %s)\n",
          report.out(), report.model(), report.chips(), report.tensor_parallel(), report.pipeline_stages(),
          report.kv_length(), report.cycles(), report.distinct_stage_units(), report.events(),
          static_cast<double>(report.bytes()) / 1e6, report.seconds(), report.kind(), report.detail());
    }
    (void)resolved;
    return absl::OkStatus();
  });
}

}  // namespace tsp::tools
