// One whole decode step of llama2_70b (int8, KV caches of 4,096 tokens) on
// the production 576-chip system (16-way x 36 stages), compiled and emulated in timing-only mode through its distinct
// stage units (RunModel without a prompt), on 1 and 2 threads, and on 1 without the
// program verifier (what tracking producers in the emulator costs alone). Counters:
// cycles per token (predicted == emulated is checked by RunModel), distinct
// units, and the seconds spent compiling and emulating them (summed over the
// units), to tell which side a change moves.
//
//   bazel run -c opt //scheduler:model_run_benchmark

#include <memory>

#include "benchmark/benchmark.h"
#include "isa/spec_loader.h"
#include "models/model_registry.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/model_run.h"
#include "scheduler/partitioner.h"

namespace tsp::scheduler {
namespace {

void BM_Llama70bDecodeStepOn576Chips(benchmark::State& state) {
  const isa::ChipModel chip = *isa::DefaultChipModel();
  pipeline::SystemSpec spec;
  if (!isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec).ok()) std::abort();
  const pipeline::SystemModel system = *pipeline::SystemModel::Create(spec, chip);
  const pipeline::Topology topology = *pipeline::Topology::Create(system, chip);
  PartitionQuery query;
  query.config = *models::LoadModel("llama2_70b");
  query.context_tokens = 4096;
  query.chips = 576;
  const PartitionChoice choice = *ChoosePartition(query, chip, system, topology);
  ModelRunOptions options;
  options.context_tokens = 4096;
  options.prompt_tokens = 0;
  options.threads = static_cast<int>(state.range(0));
  options.verify = state.range(1) != 0;
  RunReport report;
  for (auto _ : state) {
    absl::StatusOr<RunReport> run = RunModel(query.config, chip, system, topology, choice, options);
    if (!run.ok()) {
      state.SkipWithError(std::string(run.status().message()).c_str());
      return;
    }
    report = *run;
  }
  state.counters["cycles_per_token"] = static_cast<double>(report.cycles_per_token_emulated());
  state.counters["distinct_units"] = report.units_size();
  state.counters["chips"] = report.chips();
  state.counters["compile_s"] = report.compile_seconds();
  state.counters["emulate_s"] = report.emulate_seconds();
}
BENCHMARK(BM_Llama70bDecodeStepOn576Chips)
    ->ArgNames({"threads", "verify"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace tsp::scheduler

BENCHMARK_MAIN();
