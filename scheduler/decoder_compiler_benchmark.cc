// Compile time, and timing-only emulation time, of llama2_70b decoder layers
// on 8-chip nodes (int8, KV length 4096): two stages of one layer each on two
// nodes, since one node's SRAM holds one layer beside the embedding or the
// LM head.
//
//   bazel run -c opt //scheduler:decoder_compiler_benchmark

#include <memory>

#include "benchmark/benchmark.h"
#include "isa/spec_loader.h"
#include "models/model_registry.h"
#include "pipeline/system_emulator.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"

namespace tsp::scheduler {
namespace {

struct Setup {
  std::unique_ptr<isa::ChipModel> chip;
  std::unique_ptr<pipeline::SystemModel> system;
  std::unique_ptr<pipeline::Topology> topology;
  std::unique_ptr<DecoderCompiler> compiler;
};

Setup MakeSetup() {
  Setup s;
  s.chip = std::make_unique<isa::ChipModel>(*isa::DefaultChipModel());
  pipeline::SystemSpec spec;
  if (!isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec).ok()) std::abort();
  spec.mutable_nodes()->set_value(2);
  s.system = std::make_unique<pipeline::SystemModel>(*pipeline::SystemModel::Create(spec, *s.chip));
  s.topology = std::make_unique<pipeline::Topology>(*pipeline::Topology::Create(*s.system, *s.chip));
  models::ModelConfig config = *models::LoadModel("llama2_70b");
  config.set_layers(2);
  DecoderOptions options;
  options.context_tokens = 4096;
  s.compiler = std::make_unique<DecoderCompiler>(*DecoderCompiler::Create(
      config, *s.chip, *s.system, *s.topology, *EvenPartition(config, 8, 2, 8), options));
  return s;
}

void BM_CompileTwoLlama70bLayers(benchmark::State& state) {
  Setup s = MakeSetup();
  int64_t instructions = 0;
  for (auto _ : state) {
    absl::StatusOr<CompiledStep> step = s.compiler->CompileStep(4095);
    if (!step.ok()) state.SkipWithError(std::string(step.status().message()).c_str());
    instructions = step->instructions;
  }
  state.counters["instructions"] = static_cast<double>(instructions);
}
BENCHMARK(BM_CompileTwoLlama70bLayers)->Unit(benchmark::kSecond)->Iterations(1);

void BM_EmulateTwoLlama70bLayersTimingOnly(benchmark::State& state) {
  Setup s = MakeSetup();
  const CompiledStep step = *s.compiler->CompileStep(4095);
  pipeline::SystemRunOptions options;
  options.functional = false;
  options.threads = static_cast<int>(state.range(0));
  int64_t issued = 0;
  for (auto _ : state) {
    auto emulator = pipeline::SystemEmulator::Create(*s.chip, *s.system, *s.topology, step.programs, options);
    absl::StatusOr<pipeline::SystemRunResult> run = (*emulator)->Run();
    if (!run.ok() || run->last_event_cycle != step.predicted_last_cycle) {
      state.SkipWithError("emulation failed or disagreed with the prediction");
    }
    issued = run->instructions_issued;
  }
  state.counters["issued/s"] = benchmark::Counter(static_cast<double>(issued), benchmark::Counter::kIsRate);
  state.counters["cycles"] = static_cast<double>(step.predicted_last_cycle);
}
BENCHMARK(BM_EmulateTwoLlama70bLayersTimingOnly)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace tsp::scheduler

BENCHMARK_MAIN();
