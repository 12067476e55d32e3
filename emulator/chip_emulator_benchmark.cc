// Emulated instructions per second on the weight-streaming matvec kernel
// (emulator/kernels/matvec_kernel.h), functional and timing-only, and the cost
// of a Repeat against its expansion. Run with an optimized build:
//   bazel run -c opt //emulator:chip_emulator_benchmark

#include <memory>
#include <vector>

#include "benchmark/benchmark.h"
#include "emulator/chip_emulator.h"
#include "emulator/kernels/matvec_kernel.h"
#include "emulator/kernels/random.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"

namespace tsp::emulator {
namespace {

const isa::ChipModel& Chip() {
  static const isa::ChipModel* chip = new isa::ChipModel(*isa::DefaultChipModel());
  return *chip;
}

kernels::MatvecKernel Kernel(int tiles_each_way, isa::ElementType type) {
  const int64_t n = static_cast<int64_t>(tiles_each_way) * Chip().lanes();
  kernels::SplitMix64 random(1);
  std::vector<uint16_t> w(n * n), x(n);
  for (auto& v : w) v = static_cast<uint16_t>(random.Below(type == isa::FP16 ? 0x7BFF : 256));
  for (auto& v : x) v = static_cast<uint16_t>(random.Below(type == isa::FP16 ? 0x7BFF : 256));
  return *kernels::BuildMatvecKernel(Chip(), {tiles_each_way, tiles_each_way, type}, w, x);
}

void RunKernel(benchmark::State& state, isa::ElementType type, bool functional) {
  const kernels::MatvecKernel kernel = Kernel(static_cast<int>(state.range(0)), type);
  int64_t instructions = 0;
  int64_t cycles = 0;
  for (auto _ : state) {
    RunOptions options;
    options.functional = functional;
    auto emulator = ChipEmulator::Create(Chip(), kernel.program, options);
    auto result = (*emulator)->Run();
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    instructions += result->instructions_issued;
    cycles = result->completion_cycle;
  }
  state.counters["instructions/s"] =
      benchmark::Counter(static_cast<double>(instructions), benchmark::Counter::kIsRate);
  state.counters["emulated_cycles"] = static_cast<double>(cycles);
  state.counters["instructions_per_run"] =
      static_cast<double>(instructions) / static_cast<double>(state.iterations());
}

void BM_MatvecInt8Functional(benchmark::State& state) { RunKernel(state, isa::INT8, true); }
void BM_MatvecInt8TimingOnly(benchmark::State& state) { RunKernel(state, isa::INT8, false); }
void BM_MatvecFp16Functional(benchmark::State& state) { RunKernel(state, isa::FP16, true); }
void BM_MatvecFp16TimingOnly(benchmark::State& state) { RunKernel(state, isa::FP16, false); }
BENCHMARK(BM_MatvecInt8Functional)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatvecInt8TimingOnly)->Arg(2)->Arg(8)->Arg(24)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatvecFp16Functional)->Arg(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatvecFp16TimingOnly)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond);

// One queue streaming `n` reads, as a Repeat or written out, decoded and run.
isa::Program StreamingReads(int64_t n, bool repeat) {
  isa::Program program;
  isa::QueueProgram* queue = program.add_queues();
  queue->set_queue("MEM_W0");
  auto add = [&](int64_t cycle, int64_t address) {
    isa::Instruction* read = queue->add_instructions();
    read->set_cycle(cycle);
    isa::SetInstructionOpcode(isa::Opcode::kRead, read);
    read->set_address(address);
    read->mutable_dst()->set_direction(isa::EAST);
    read->mutable_dst()->set_index(0);
  };
  add(0, 0);
  if (repeat) {
    isa::Instruction* repeat_instruction = queue->add_instructions();
    repeat_instruction->set_cycle(1);
    isa::SetInstructionOpcode(isa::Opcode::kRepeat, repeat_instruction);
    repeat_instruction->set_n(n - 1);
    repeat_instruction->set_every(1);
    repeat_instruction->set_stride(1);
  } else {
    for (int64_t i = 1; i < n; ++i) add(i, i);
  }
  return program;
}

void RunStreamingReads(benchmark::State& state, bool repeat) {
  const isa::Program program = StreamingReads(state.range(0), repeat);
  for (auto _ : state) {
    RunOptions options;
    options.functional = false;
    auto emulator = ChipEmulator::Create(Chip(), program, options);
    benchmark::DoNotOptimize((*emulator)->Run());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_ReadsAsRepeat(benchmark::State& state) { RunStreamingReads(state, true); }
void BM_ReadsExpanded(benchmark::State& state) { RunStreamingReads(state, false); }
BENCHMARK(BM_ReadsAsRepeat)->Arg(8000);
BENCHMARK(BM_ReadsExpanded)->Arg(8000);

}  // namespace
}  // namespace tsp::emulator

BENCHMARK_MAIN();
