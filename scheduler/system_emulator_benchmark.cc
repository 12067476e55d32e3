// Timing-only emulation of the 576-chip system running the synthetic workload
// (scheduler/synthetic_workload.h), with 1 and 2 threads. Run optimized:
//   bazel run -c opt //scheduler:system_emulator_benchmark

#include <memory>

#include "benchmark/benchmark.h"
#include "isa/spec_loader.h"
#include "pipeline/system_emulator.h"
#include "scheduler/synthetic_workload.h"

namespace tsp::scheduler {
namespace {

void BM_System576TimingOnly(benchmark::State& state) {
  const isa::ChipModel chip = *isa::DefaultChipModel();
  const pipeline::SystemModel system = *pipeline::LoadSystemModel("groq_576", chip);
  const pipeline::Topology topology = *pipeline::Topology::Create(system, chip);
  const SyntheticWorkload workload =
      *BuildSyntheticWorkload(chip, system, topology, static_cast<int>(state.range(1)), 4);
  int64_t instructions = 0;
  int64_t chip_cycles = 0;
  int64_t cycles = 0;
  for (auto _ : state) {
    pipeline::SystemRunOptions options;
    options.functional = false;
    options.threads = static_cast<int>(state.range(0));
    auto emulator = pipeline::SystemEmulator::Create(chip, system, topology, workload.programs, options);
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
}  // namespace tsp::scheduler

BENCHMARK_MAIN();
