// Mutation testing of compiled programs (issue 20): seeded random
// one-instruction changes (move by 1 to 5 cycles, drop, swap two of a queue,
// change an address, a stream or a port), each emulated with values. Each
// must be rejected by the emulator, or leave every declared output
// bit-identical; a mutation that runs clean and changes an output is a hole
// in what the emulator proves, and fails the test. The independent verifier
// (pipeline/system_verifier.h), from the programs alone, must reject exactly
// the mutations the emulator rejects, in the same words. The kill rate is printed.

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "emulator/kernels/random.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/opcode.h"
#include "isa/status_macros.h"
#include "isa/status_matchers.h"
#include "isa/test_scale.h"
#include "models/model_registry.h"
#include "pipeline/system_emulator.h"
#include "pipeline/system_verifier.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler {
namespace {

struct Case {
  const char* model;
  models::NumberFormat format;
  int tensor_parallel;
  int stages;
  int64_t context;
  int64_t position;
  int mutations;
};

// The declared outputs' values after a run (every chip's), or the error.
absl::StatusOr<std::map<std::string, std::string>> Outputs(const isa::ChipModel& chip,
                                                           const pipeline::SystemModel& system,
                                                           const pipeline::Topology& topology,
                                                           const isa::ChipPrograms& programs,
                                                           const isa::ChipPrograms& declared) {
  // A timing-only run first: it checks every rule and intent too, at a
  // fraction of the cost, and rejects most mutations.
  pipeline::SystemRunOptions options;
  options.functional = false;
  {
    ASSIGN_OR_RETURN(std::unique_ptr<pipeline::SystemEmulator> timing,
                     pipeline::SystemEmulator::Create(chip, system, topology, programs, options));
    RETURN_IF_ERROR(timing->Run().status());
  }
  options.functional = true;
  ASSIGN_OR_RETURN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                   pipeline::SystemEmulator::Create(chip, system, topology, programs, options));
  ASSIGN_OR_RETURN(pipeline::SystemRunResult result, emulator->Run());
  (void)result;
  std::map<std::string, std::string> values;
  for (const auto& [id, program] : declared) {
    for (const isa::Output& output : program.outputs()) {
      ASSIGN_OR_RETURN(values[absl::StrCat(id, " ", output.slice(), " ", output.address())],
                       emulator->ReadMemory(id, output.slice(), output.address(), 1));
    }
  }
  return values;
}

// Where a mutation changed a program, to put it back from the original.
struct Change {
  int queue = -1;
  int index = 0;
  int instructions = 0;  // Changed from `index` on (a swap changes two).
  bool dropped = false;
};

// Puts back what `change` changed in `program`, from `original`, copying one
// or two instructions (copying every program per mutation cost more than
// running them).
void Undo(const Change& change, const isa::Program& original, isa::Program& program) {
  if (change.queue < 0) return;
  isa::QueueProgram& queue = *program.mutable_queues(change.queue);
  const isa::QueueProgram& before = original.queues(change.queue);
  if (change.dropped) {
    queue.add_instructions();
    for (int i = queue.instructions_size() - 1; i > change.index; --i) queue.mutable_instructions()->SwapElements(i, i - 1);
  }
  for (int i = change.index; i < change.index + change.instructions; ++i) {
    *queue.mutable_instructions(i) = before.instructions(i);
  }
}

// One mutation of one instruction of `program`; false when the one drawn
// does not apply (then another is drawn). `what` says what was done;
// `change` where, to undo it, whether or not it applies.
bool Mutate(kernels::SplitMix64& random, isa::Program& program, std::string* what, Change* change) {
  if (program.queues_size() == 0) return false;
  change->queue = static_cast<int>(random.Below(program.queues_size()));
  isa::QueueProgram& queue = *program.mutable_queues(change->queue);
  if (queue.instructions_size() == 0) return false;
  const int index = static_cast<int>(random.Below(queue.instructions_size()));
  change->index = index;
  change->instructions = 1;
  isa::Instruction& instruction = *queue.mutable_instructions(index);
  const std::string before = isa::PrintInstruction(instruction, &program);
  const int kind = static_cast<int>(random.Below(6));
  *what = absl::StrCat(queue.queue(), " `", before, "`: ");
  switch (kind) {
    case 0: {  // Move by 1 to 5 cycles, either way.
      const int64_t by = static_cast<int64_t>(random.Below(5)) + 1;
      const int64_t moved = instruction.cycle() + (random.Below(2) == 0 ? -by : by);
      if (moved < 0) return false;
      instruction.set_cycle(moved);
      absl::StrAppend(what, "moved to cycle ", moved);
      return true;
    }
    case 1:
      queue.mutable_instructions()->DeleteSubrange(index, 1);
      change->dropped = true;
      absl::StrAppend(what, "dropped");
      return true;
    case 2: {  // Swap with its neighbour: each keeps its place's cycle.
      if (index + 1 >= queue.instructions_size()) return false;
      change->instructions = 2;
      isa::Instruction& next = *queue.mutable_instructions(index + 1);
      const int64_t cycle = instruction.cycle();
      const int64_t next_cycle = next.cycle();
      instruction.Swap(&next);
      instruction.set_cycle(cycle);
      next.set_cycle(next_cycle);
      absl::StrAppend(what, "swapped with the next");
      return true;
    }
    case 3:
      if (!instruction.has_address()) return false;
      instruction.set_address(instruction.address() + (random.Below(2) == 0 ? -1 : 1));
      if (instruction.address() < 0) return false;
      absl::StrAppend(what, "address ", instruction.address());
      return true;
    case 4: {
      std::vector<isa::StreamRef*> streams;
      if (instruction.has_a()) streams.push_back(instruction.mutable_a());
      if (instruction.has_b()) streams.push_back(instruction.mutable_b());
      if (instruction.has_c()) streams.push_back(instruction.mutable_c());
      if (instruction.has_dst()) streams.push_back(instruction.mutable_dst());
      if (streams.empty()) return false;
      isa::StreamRef& stream = *streams[random.Below(streams.size())];
      stream.set_index(stream.index() + (random.Below(2) == 0 ? -1 : 1));
      if (stream.index() < 0) return false;
      absl::StrAppend(what, "a stream to ", isa::PrintStreamRef(stream));
      return true;
    }
    default:
      if (!instruction.has_port()) return false;
      instruction.set_port(instruction.port() + (random.Below(2) == 0 ? -1 : 1));
      if (instruction.port() < 0) return false;
      absl::StrAppend(what, "port ", instruction.port());
      return true;
  }
}

class MutationTest : public SystemFixture<::testing::TestWithParam<Case>> {};

// Under AddressSanitizer a sixth of the mutations runs every kind of change
// through every error path (isa/test_scale.h).
constexpr int kMutationDivisor = ::tsp::testing::kUnderAddressSanitizer ? 6 : 1;

TEST_P(MutationTest, EveryMutationIsRejectedOrChangesNoOutput) {
  const Case& c = GetParam();
  Build(4);  // Four nodes: a stage per node for 4 stages.
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(c.model));
  TSP_ASSERT_OK_AND_ASSIGN(DecoderPartition partition, EvenPartition(config, c.tensor_parallel, c.stages, 8));
  DecoderOptions options;
  options.format = c.format;
  options.context_tokens = c.context;
  TSP_ASSERT_OK_AND_ASSIGN(DecoderCompiler compiler,
                           DecoderCompiler::Create(config, *chip_, *system_, *topology_, partition, options));
  TSP_ASSERT_OK_AND_ASSIGN(CompiledStep step, compiler.CompileStep(c.position));
  TSP_ASSERT_OK_AND_ASSIGN(auto expected, Outputs(*chip_, *system_, *topology_, step.programs, step.programs));
  ASSERT_FALSE(expected.empty());
  std::vector<int> chips;
  for (const auto& [id, program] : step.programs) chips.push_back(id);
  // The verifier passes what the compiler emits.
  TSP_EXPECT_OK(pipeline::VerifySystemPrograms(*chip_, *system_, *topology_, step.programs));
  kernels::SplitMix64 random(c.position * 1000 + c.tensor_parallel * 10 + c.stages);
  const int mutations = c.mutations / kMutationDivisor;
  int rejected = 0;
  int same = 0;
  int verifier_rejected = 0;  // Of those the emulator rejects.
  int same_text = 0;          // Of those, in the emulator's words.
  // One copy of the step; each mutation is undone after.
  isa::ChipPrograms mutated;
  for (const auto& [id, program] : step.programs) mutated[id] = program;
  for (int m = 0; m < mutations;) {
    const int chip = chips[random.Below(chips.size())];
    std::string what;
    Change change;
    const bool applies = Mutate(random, mutated[chip], &what, &change);
    absl::Cleanup undo = [&] { Undo(change, step.programs.at(chip), mutated[chip]); };
    if (!applies) continue;
    ++m;
    absl::StatusOr<std::map<std::string, std::string>> outputs =
        Outputs(*chip_, *system_, *topology_, mutated, step.programs);
    // The verifier, from the programs alone, rejects what the emulator
    // rejects and nothing else, in the same words.
    const absl::Status verified = pipeline::VerifySystemPrograms(*chip_, *system_, *topology_, mutated);
    if (!verified.ok()) {
      EXPECT_FALSE(outputs.ok()) << what << ": the verifier rejects what runs clean: " << verified;
      ++verifier_rejected;
      if (!outputs.ok() && outputs.status().message() == verified.message()) ++same_text;
    }
    if (!outputs.ok()) {
      EXPECT_EQ(verified.message(), outputs.status().message()) << what << ": the verifier and the emulator differ";
    }
    if (!outputs.ok()) {
      ++rejected;
      continue;
    }
    if (*outputs == expected) {
      ++same;
      continue;
    }
    ADD_FAILURE() << "chip " << chip << ", " << what << ": runs clean and changes an output";
  }
  std::cout << c.model << " " << models::NumberFormatName(c.format) << " " << c.tensor_parallel << "x" << c.stages
            << " at position " << c.position << ": " << mutations << " mutations, " << rejected << " rejected ("
            << 100.0 * rejected / mutations << "%), " << same << " ran clean with every output bit-identical; the "
            << "verifier rejects " << verifier_rejected << " of the " << rejected << " rejected, " << same_text
            << " in the emulator's words\n";
}

INSTANTIATE_TEST_SUITE_P(Tiny, MutationTest,
                         ::testing::Values(Case{"tiny_dense", models::NumberFormat::kInt8, 1, 1, 64, 0, 300},
                                           Case{"tiny_dense", models::NumberFormat::kFp16, 2, 1, 64, 3, 300},
                                           Case{"tiny_wide", models::NumberFormat::kInt8, 2, 4, 64, 1, 300},
                                           Case{"tiny_wide", models::NumberFormat::kInt8, 1, 1, 700, 650, 300},
                                           Case{"tiny_wide", models::NumberFormat::kFp16, 2, 1, 400, 330, 300},
                                           Case{"tiny_moe", models::NumberFormat::kInt8, 1, 1, 64, 2, 300},
                                           Case{"tiny_moe", models::NumberFormat::kFp16, 2, 1, 64, 0, 300}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return absl::StrCat(info.param.model, "_", models::NumberFormatName(info.param.format), "_",
                                               info.param.tensor_parallel, "x", info.param.stages);
                         });

}  // namespace
}  // namespace tsp::scheduler
