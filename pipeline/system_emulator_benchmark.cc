// Timing-only emulation of the 576-chip system running the synthetic workload
// (pipeline/synthetic_workload.h), with 1 and 2 threads. Run optimized:
//   bazel run -c opt //pipeline:system_emulator_benchmark

#include <memory>

#include "benchmark/benchmark.h"
#include "isa/spec_loader.h"
#include "pipeline/synthetic_workload.h"
#include "pipeline/system_emulator.h"

namespace tsp::pipeline {
namespace {

void BM_System576TimingOnly(benchmark::State& state) {
  const isa::ChipModel chip = *isa::DefaultChipModel();
  const SystemModel system = *LoadSystemModel("pipeline/specs/groq_576.textproto", chip);
  const Topology topology = *Topology::Create(system, chip);
  const SyntheticWorkload workload =
      *BuildSyntheticWorkload(chip, system, topology, static_cast<int>(state.range(1)), 4);
  int64_t instructions = 0;
  int64_t chip_cycles = 0;
  int64_t cycles = 0;
  for (auto _ : state) {
    SystemRunOptions options;
    options.functional = false;
    options.threads = static_cast<int>(state.range(0));
    auto emulator = SystemEmulator::Create(chip, system, topology, workload.programs, options);
    auto result = (*emulator)->Run();
    if (!result.ok() || result->last_event_cycle != workload.predicted_last_event_cycle) {
      state.SkipWithError("run failed or differs from the schedule");
      return;
    }
    instructions += result->instructions_issued;
    cycles = result->completion_cycle;
    chip_cycles += result->completion_cycle * static_cast<int64_t>(workload.programs.size());
  }
  state.counters["instructions/s"] =
      benchmark::Counter(static_cast<double>(instructions), benchmark::Counter::kIsRate);
  state.counters["chip_cycles/s"] =
      benchmark::Counter(static_cast<double>(chip_cycles), benchmark::Counter::kIsRate);
  state.counters["emulated_cycles"] = static_cast<double>(cycles);
}
// Args: threads, weight tiles each way per chip.
BENCHMARK(BM_System576TimingOnly)
    ->Args({1, 4})
    ->Args({2, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace tsp::pipeline

BENCHMARK_MAIN();
