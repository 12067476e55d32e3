#include "scheduler/model_run.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "isa/status_macros.h"
#include "pipeline/system_emulator.h"
#include "pipeline/system_verifier.h"
#include "scheduler/capacity_report.h"
#include "scheduler/decoder_compiler.h"

namespace tsp::scheduler {
namespace {

struct UnitResult {
  bool emulated_run = false;
  bool verified = false;  // Its programs passed the verifier.
  int64_t predicted = 0;
  int64_t emulated = 0;
  int64_t stage_predicted = 0;  // The unit's own stage's last cycle.
  int64_t stage_emulated = 0;
  int64_t instructions = 0;
  double compile_seconds = 0;
  double emulate_seconds = 0;
  double verify_seconds = 0;  // Units compiled only (emulated ones verify as they decode).
  int64_t mxm_busy = 0;  // Busy cycles summed over the stage's chips' MXM slices.
  int64_t vxm_busy = 0;
  int64_t link_busy = 0;  // Serialization cycles of the unit's transfers.
  std::vector<int> stages;
};

int64_t Tiles(int64_t position, int lanes) { return position / lanes + 1; }

absl::StatusOr<UnitResult> RunUnit(const DecoderCompiler& compiler, const isa::ChipModel& chip,
                                   const pipeline::SystemModel& system, const pipeline::Topology& topology, int stage,
                                   int64_t position, int threads, bool emulate, bool verify) {
  UnitResult result;
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(CompiledStep unit, compiler.CompileStageUnit(stage, position));
  const absl::Time compiled = absl::Now();
  result.compile_seconds = absl::ToDoubleSeconds(compiled - start);
  result.predicted = unit.predicted_last_cycle;
  result.stage_predicted = unit.stage_last_cycle;
  result.instructions = unit.instructions;
  result.emulated_run = emulate;
  result.verified = verify;
  if (!emulate) {
    result.emulated = result.predicted;
    result.stage_emulated = result.stage_predicted;
    if (verify) {
      RETURN_IF_ERROR(pipeline::VerifySystemPrograms(chip, system, topology, unit.programs, threads));
      result.verify_seconds = absl::ToDoubleSeconds(absl::Now() - compiled);
    }
    return result;
  }
  pipeline::SystemRunOptions options;
  options.functional = false;
  options.threads = threads;
  options.verify = verify;
  ASSIGN_OR_RETURN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                   pipeline::SystemEmulator::Create(chip, system, topology, unit.programs, options));
  ASSIGN_OR_RETURN(pipeline::SystemRunResult run, emulator->Run());
  result.emulate_seconds = absl::ToDoubleSeconds(absl::Now() - compiled);
  result.emulated = run.last_event_cycle;
  for (int id : compiler.partition().stage_chips[stage]) {
    auto it = run.chips.find(id);
    if (it == run.chips.end()) continue;
    result.stage_emulated = std::max(result.stage_emulated, it->second.last_event_cycle);
    for (size_t slice = 0; slice < it->second.busy_cycles.size(); ++slice) {
      const isa::SliceKind kind = chip.slices()[slice].kind;
      if (kind == isa::SLICE_MXM) result.mxm_busy += it->second.busy_cycles[slice];
      if (kind == isa::SLICE_VXM) result.vxm_busy += it->second.busy_cycles[slice];
    }
  }
  result.link_busy = static_cast<int64_t>(run.transfers.size()) * system.link_serialization_cycles();
  if (result.predicted != result.emulated || result.stage_predicted != result.stage_emulated) {
    return absl::InternalError(absl::StrCat("stage ", stage, " at position ", position, ": predicted ",
                                            result.predicted, " (stage ", result.stage_predicted,
                                            ") but emulated ", result.emulated, " (stage ",
                                            result.stage_emulated, ")"));
  }
  return result;
}

}  // namespace

std::string StageUnitSignature(const DecoderPartition& partition, const pipeline::Topology& topology, int stage,
                      int64_t tiles) {
  const int stages = static_cast<int>(partition.stage_chips.size());
  const int per_node = topology.chips_per_node();
  std::string signature = absl::StrCat(stage == 0 ? "first" : stage == stages - 1 ? "last" : "middle",
                                       "/", partition.stage_layers[stage], "/", tiles);
  auto add_route = [&](int from, int to) {
    absl::StatusOr<std::vector<pipeline::Hop>> route = topology.Route(from, to);
    if (!route.ok()) {
      absl::StrAppend(&signature, "|unroutable");
      return;
    }
    absl::StrAppend(&signature, "|");
    for (const pipeline::Hop& hop : *route) {
      absl::StrAppend(&signature, hop.from % per_node, ":", hop.from_port, ">", hop.to % per_node, ":",
                      hop.to_port, "@", hop.to / per_node - hop.from / per_node, ",");
    }
  };
  for (size_t r = 0; r < partition.stage_chips[stage].size(); ++r) {
    if (stage > 0) add_route(partition.stage_chips[stage - 1][r], partition.stage_chips[stage][r]);
    if (stage == stages - 1 && stages > 1) add_route(partition.stage_chips[stage][r], partition.stage_chips[0][r]);
    // Within the stage (its all-reduces).
    for (size_t q = 0; q < partition.stage_chips[stage].size(); ++q) {
      if (q != r) add_route(partition.stage_chips[stage][r], partition.stage_chips[stage][q]);
    }
  }
  return signature;
}

struct UnitCache {
  std::map<std::string, UnitResult> units;
};

std::shared_ptr<UnitCache> NewUnitCache() { return std::make_shared<UnitCache>(); }

absl::StatusOr<RunReport> RunModel(const models::ModelConfig& config, const isa::ChipModel& chip,
                                   const pipeline::SystemModel& system, const pipeline::Topology& topology,
                                   const PartitionChoice& choice, const ModelRunOptions& options) {
  const DecoderPartition& partition = choice.partition;
  const int stages = static_cast<int>(partition.stage_chips.size());
  const int64_t context = options.context_tokens > 0 ? options.context_tokens : config.context_tokens();
  if (options.prompt_tokens < 0 || options.prompt_tokens >= context) {
    return absl::InvalidArgumentError(absl::StrCat("a prompt of ", options.prompt_tokens,
                                                   " tokens must not be negative and shorter than the context of ",
                                                   context));
  }
  DecoderOptions decoder;
  decoder.format = options.format;
  decoder.context_tokens = context;
  decoder.users = std::max<int64_t>(1, choice.max_users);
  ASSIGN_OR_RETURN(DecoderCompiler compiler,
                   DecoderCompiler::Create(config, chip, system, topology, partition, decoder));
  auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  std::shared_ptr<UnitCache> cache = options.cache != nullptr ? options.cache : NewUnitCache();
  std::map<std::string, UnitResult>& units = cache->units;
  for (auto& [signature, unit] : units) unit.stages.clear();  // This run's stages only.
  absl::Mutex mutex;
  auto signature = [&](int stage, int64_t position) {
    return StageUnitSignature(partition, topology, stage, Tiles(position, chip.lanes()));
  };
  // Compiles (and emulates) every distinct unit the given token positions
  // need, all in parallel (each emulated on one thread).
  auto prepare = [&](const std::vector<int64_t>& positions) -> absl::Status {
    std::vector<std::pair<int, int64_t>> missing;
    std::set<std::string> queued;
    for (int64_t position : positions) {
      for (int s = 0; s < stages; ++s) {
        const std::string key = signature(s, position);
        auto known = units.find(key);
        const bool usable = known != units.end() && (known->second.emulated_run || !options.emulate) &&
                            (known->second.verified || !options.verify);
        if (!usable && queued.insert(key).second) missing.emplace_back(s, position);
      }
    }
    std::vector<absl::StatusOr<UnitResult>> results(missing.size(), absl::UnknownError("not run"));
    std::atomic<size_t> next{0};
    const char* verb = options.emulate ? "compiling and emulating" : "compiling";
    auto work = [&] {
      for (size_t i = next++; i < missing.size(); i = next++) {
        const auto [s, position] = missing[i];
        {
          absl::MutexLock lock(&mutex);
          say(absl::StrFormat("%s stage %d of %d (KV length %d) ...", verb, s, stages, position + 1));
        }
        results[i] = RunUnit(compiler, chip, system, topology, s, position, 1, options.emulate, options.verify);
        absl::MutexLock lock(&mutex);
        if (results[i].ok()) {
          say(absl::StrFormat("  stage %d: %d cycles, %d instructions, compile %.1f s, emulate %.1f s", s,
                              results[i]->stage_predicted, results[i]->instructions, results[i]->compile_seconds,
                              results[i]->emulate_seconds));
        }
      }
    };
    std::vector<std::thread> workers;
    for (int t = 1; t < std::max(1, options.threads); ++t) workers.emplace_back(work);
    work();
    for (std::thread& worker : workers) worker.join();
    for (size_t i = 0; i < missing.size(); ++i) {
      if (!results[i].ok()) return results[i].status();
      units[signature(missing[i].first, missing[i].second)] = *std::move(results[i]);
    }
    return absl::OkStatus();
  };
  // The cycles of one token at `position` (its units prepared), predicted
  // and emulated, and its stages' shares.
  auto token = [&](int64_t position, std::vector<const UnitResult*>* per_stage) {
    int64_t predicted = 0, emulated = 0;
    for (int s = 0; s < stages; ++s) {
      UnitResult& unit = units.at(signature(s, position));
      if (std::find(unit.stages.begin(), unit.stages.end(), s) == unit.stages.end()) unit.stages.push_back(s);
      if (per_stage != nullptr) per_stage->push_back(&unit);
      const bool last = s == stages - 1;
      predicted += last ? unit.predicted : unit.stage_predicted;
      emulated += last ? unit.emulated : unit.stage_emulated;
    }
    return std::make_pair(predicted, emulated);
  };
  // Decode at the full context (the longest attention a user's token sees),
  // and the prompt token by token: one unit per attention-tile count.
  const int64_t position = context - 1;
  std::map<int64_t, int64_t> bucket_position;  // Tiles -> the position that times them.
  for (int64_t p = 0; p < options.prompt_tokens; ++p) {
    const int64_t tiles = Tiles(p, chip.lanes());
    bucket_position.emplace(tiles, std::min(tiles * chip.lanes() - 1, options.prompt_tokens - 1));
  }
  // The decode step first, timed on its own.
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(prepare({position}));
  const absl::Time decode_prepared = absl::Now();
  std::vector<int64_t> prompt_positions;
  for (const auto& [tiles, p] : bucket_position) prompt_positions.push_back(p);
  RETURN_IF_ERROR(prepare(prompt_positions));
  const absl::Time prompt_prepared = absl::Now();

  RunReport report;
  report.set_model(config.name());
  report.set_system(system.spec().name());
  report.set_chips(choice.chips_used);
  const int per_node = topology.chips_per_node();
  report.set_nodes((choice.chips_used + per_node - 1) / per_node);
  const int64_t per_rack = system.spec().nodes_per_rack().value();
  report.set_racks(static_cast<int32_t>((report.nodes() + per_rack - 1) / std::max<int64_t>(1, per_rack)));
  report.set_tensor_parallel(partition.tensor_parallel);
  report.set_pipeline_stages(stages);
  report.set_weight_format(models::NumberFormatName(options.format));
  report.set_context_tokens(context);
  report.set_prompt_tokens(options.prompt_tokens);
  report.set_concurrent_users(choice.max_users);
  *report.mutable_stage_capacity() = CapacityOf(choice, chip).stages();
  report.set_mode(options.emulate ? "timing" : "timing, compiled only (not emulated)");
  const double clock = static_cast<double>(chip.clock_hz());
  report.set_clock_hz(clock);

  report.set_kv_length(context);
  std::vector<const UnitResult*> per_stage;
  const auto decode = token(position, &per_stage);
  report.set_cycles_per_token_predicted(decode.first);
  report.set_cycles_per_token_emulated(options.emulate ? decode.second : 0);
  const double host_seconds = system.spec().host_latency_ns().value() * 1e-9 +
                              4.0 / static_cast<double>(system.spec().host_bytes_per_second().value());
  report.set_host_cycles_per_token(static_cast<int64_t>(std::ceil(host_seconds * clock)));
  const double per_token = static_cast<double>(decode.second + report.host_cycles_per_token());
  report.set_tokens_per_s_per_user(clock / per_token);

  // Users pipelined through the stages: one token per stage at a time, the
  // slowest stage setting the beat.
  int64_t beat = 0;
  int64_t mxm = 0, vxm = 0, link = 0;
  for (const UnitResult* unit : per_stage) {
    beat = std::max(beat, unit->stage_emulated);
    mxm += unit->mxm_busy;
    vxm += unit->vxm_busy;
    link += unit->link_busy;
  }
  const int64_t pipelined = std::min<int64_t>(std::max<int64_t>(1, choice.max_users), stages);
  report.set_pipelined_users(pipelined);
  report.set_aggregate_tokens_per_s(
      std::min(static_cast<double>(pipelined) * clock / per_token, clock / static_cast<double>(beat)));
  const double chip_cycles = static_cast<double>(decode.second) * choice.chips_used;
  const int mxm_slices = static_cast<int>(chip.SlicesOfKind(isa::SLICE_MXM).size());
  report.set_mxm_busy_share(static_cast<double>(mxm) / (chip_cycles * mxm_slices));
  report.set_vxm_busy_share(static_cast<double>(vxm) / chip_cycles);
  int64_t links_used = 0;
  for (const pipeline::Link& l : topology.links()) {
    if (l.a.chip < choice.chips_used && l.b.chip < choice.chips_used) ++links_used;
  }
  report.set_link_busy_share(links_used == 0 ? 0.0 : static_cast<double>(link) /
                                                         (static_cast<double>(decode.second) * 2 * links_used));

  // The prompt, token by token: every position's cycles (none without a
  // prompt: decode only).
  int64_t ttft = 0;
  std::map<int64_t, int64_t> cycles_by_tiles;
  for (const auto& [tiles, p] : bucket_position) cycles_by_tiles[tiles] = token(p, nullptr).second;
  for (int64_t p = 0; p < options.prompt_tokens; ++p) ttft += cycles_by_tiles.at(Tiles(p, chip.lanes()));
  if (options.prompt_tokens > 0) ttft += report.host_cycles_per_token();
  report.set_ttft_cycles(ttft);
  report.set_ttft_s(static_cast<double>(ttft) / clock);

  double compile_seconds = 0, emulate_seconds = 0, verify_seconds = 0;
  for (const auto& [signature, unit] : units) {
    if (unit.stages.empty()) continue;  // An earlier run's, not this one's.
    StageUnitReport* u = report.add_units();
    for (int s : unit.stages) u->add_stages(s);
    u->set_layers(partition.stage_layers[unit.stages.front()]);
    u->set_predicted_last_cycle(unit.predicted);
    u->set_emulated_last_cycle(unit.emulated);
    u->set_stage_cycles(unit.stage_emulated);
    u->set_instructions(unit.instructions);
    u->set_compile_seconds(unit.compile_seconds);
    u->set_emulate_seconds(unit.emulate_seconds);
    u->set_verify_seconds(unit.verify_seconds);
    compile_seconds += unit.compile_seconds;
    emulate_seconds += unit.emulate_seconds;
    verify_seconds += unit.verify_seconds;
  }
  report.set_compile_seconds(compile_seconds);
  report.set_emulate_seconds(emulate_seconds);
  report.set_verify_seconds(verify_seconds);
  report.set_verified(options.verify);
  report.set_decode_step_wall_seconds(absl::ToDoubleSeconds(decode_prepared - start));
  report.set_threads(std::max(1, options.threads));
  report.set_prompt_wall_seconds(absl::ToDoubleSeconds(prompt_prepared - decode_prepared));
  rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) report.set_peak_memory_bytes(int64_t{usage.ru_maxrss} * 1024);  // KiB.
  return report;
}

}  // namespace tsp::scheduler
