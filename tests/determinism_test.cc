// Same input, same bytes: every program generator gives byte-identical
// Program protobufs across runs, and emulation gives the same hash of the full
// traces, link transfers and memory with 1 and with 2 threads.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "emulator/kernels/matvec_kernel.h"
#include "emulator/kernels/matvec_reference.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "scheduler/synthetic_workload.h"
#include "pipeline/system_emulator.h"

namespace tsp {
namespace {

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

// FNV-1a, 64 bits.
uint64_t Hash(const std::string& text, uint64_t hash = 14695981039346656037ull) {
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

TEST(DeterminismTest, KernelProgramsAreByteIdentical) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  std::string first;
  for (int run = 0; run < 2; ++run) {
    const std::vector<uint16_t> w = kernels::ExactFp16TestValues(640 * 640, 3);
    const std::vector<uint16_t> x = kernels::ExactFp16TestValues(640, 4);
    TSP_ASSERT_OK_AND_ASSIGN(kernels::MatvecKernel kernel,
                             kernels::BuildMatvecKernel(chip, {2, 2, isa::FP16}, w, x));
    const std::string bytes = DeterministicBytes(kernel.program);
    if (run == 0) first = bytes;
    EXPECT_EQ(bytes, first);
    EXPECT_GT(bytes.size(), 640u * 640 * 2);
  }
}

TEST(DeterminismTest, SystemProgramsAndRunsAreIdenticalForAnyThreadCount) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  pipeline::SystemSpec spec;
  TSP_ASSERT_OK(isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec));
  spec.mutable_nodes()->set_value(6);
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemModel system, pipeline::SystemModel::Create(spec, chip));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  std::map<int, std::string> first_programs;
  uint64_t first_hash = 0;
  for (int threads : {1, 2, 1, 2}) {
    TSP_ASSERT_OK_AND_ASSIGN(scheduler::SyntheticWorkload workload,
                             scheduler::BuildSyntheticWorkload(chip, system, topology, 2, 3));
    std::map<int, std::string> programs;
    for (const auto& [id, program] : workload.programs) programs[id] = DeterministicBytes(program);
    if (first_programs.empty()) first_programs = programs;
    EXPECT_EQ(programs, first_programs);

    pipeline::SystemRunOptions options;
    options.threads = threads;
    options.record_trace = true;
    TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                             pipeline::SystemEmulator::Create(chip, system, topology, workload.programs, options));
    TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, emulator->Run());
    EXPECT_EQ(result.last_event_cycle, workload.predicted_last_event_cycle);
    uint64_t hash = Hash(absl::StrCat(result.last_event_cycle, " ", result.instructions_issued));
    for (const auto& [id, chip_result] : result.chips) {
      hash = Hash(emulator->chip_emulator(id)->FormatTrace(chip_result.trace), hash);
      for (const char* slice : {"MEM_E0", "MEM_E1", "MEM_E2", "MEM_E3"}) {
        hash = Hash(*emulator->ReadMemory(id, slice, 0, 8), hash);
      }
    }
    for (const pipeline::Transfer& transfer : result.transfers) {
      hash = Hash(absl::StrCat(transfer.link, ":", transfer.departure_cycle, ":", transfer.arrival_cycle), hash);
    }
    if (first_hash == 0) first_hash = hash;
    EXPECT_EQ(hash, first_hash) << threads << " threads";
  }
}

}  // namespace
}  // namespace tsp
