// Prints, for a fixed list of models and partitions, every distinct stage
// unit of one decode step as the compiler makes it: its predicted last cycle,
// its stage's cycles, its instruction count and a hash of its programs (so a
// reshaping of the compiler that changes one instruction shows). The golden
// test (step_cycles_golden_test) compares the output with
// step_cycles.golden; `bazel run //tests/goldens:step_cycles_golden_test.update`
// writes it anew.
//
//   step_cycles [--large]   (--large adds llama2_70b on the 576-chip system)

#include <cstdint>
#include <iostream>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/model_run.h"
#include "scheduler/partitioner.h"

namespace tsp {
namespace {

struct Case {
  std::string model;
  models::NumberFormat format;
  int chips;
  int64_t context;
  int64_t position;  // The decode step's token position (KV length - 1).
};

// FNV-1a over the programs, each serialized deterministically, with its chip.
uint64_t ProgramsHash(const isa::ChipPrograms& programs) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](const std::string& bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  for (const auto& [chip, program] : programs) {
    std::string bytes;
    {
      google::protobuf::io::StringOutputStream stream(&bytes);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      program.SerializeToCodedStream(&coded);
    }
    mix(absl::StrCat(chip, ":"));
    mix(bytes);
  }
  return hash;
}

absl::Status Print(const Case& c, const isa::ChipModel& chip, std::ostream& out) {
  pipeline::SystemSpec spec;
  RETURN_IF_ERROR(pipeline::LoadSystemSpec(pipeline::kDefaultSystemName, &spec));
  ASSIGN_OR_RETURN(pipeline::SystemModel system, pipeline::SystemModel::Create(spec, chip));
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  scheduler::PartitionQuery query;
  ASSIGN_OR_RETURN(query.config, models::LoadModel(c.model));
  query.format = c.format;
  query.context_tokens = c.context;
  query.chips = c.chips;
  ASSIGN_OR_RETURN(scheduler::PartitionChoice choice, scheduler::ChoosePartition(query, chip, system, topology));
  scheduler::DecoderOptions options;
  options.format = c.format;
  options.context_tokens = c.context;
  options.users = choice.max_users;
  ASSIGN_OR_RETURN(scheduler::DecoderCompiler compiler,
                   scheduler::DecoderCompiler::Create(query.config, chip, system, topology, choice.partition, options));
  const scheduler::DecoderPartition& partition = choice.partition;
  const int stages = static_cast<int>(partition.stage_chips.size());
  out << absl::StrFormat("%s %s on %d chips (%d-way x %d stages), KV length %d:\n", c.model,
                         models::NumberFormatName(c.format), choice.chips_used, partition.tensor_parallel, stages,
                         c.position + 1);
  // Units of one signature are one program up to chip ids: compiled once.
  std::map<std::string, std::pair<int64_t, int64_t>> seen;  // Signature -> (last cycle, stage cycles).
  int64_t token = 0;
  for (int s = 0; s < stages; ++s) {
    const std::string signature =
        scheduler::StageUnitSignature(partition, topology, s, c.position / chip.lanes() + 1);
    auto known = seen.find(signature);
    if (known != seen.end()) {
      token += s + 1 == stages ? known->second.first : known->second.second;
      continue;
    }
    ASSIGN_OR_RETURN(scheduler::CompiledStep unit, compiler.CompileStageUnit(s, c.position));
    token += s + 1 == stages ? unit.predicted_last_cycle : unit.stage_last_cycle;
    seen[signature] = {unit.predicted_last_cycle, unit.stage_last_cycle};
    out << absl::StrFormat("  stage %2d, %d layers: last cycle %d, stage %d cycles, %d instructions, programs %016x\n",
                           s, partition.stage_layers[s], unit.predicted_last_cycle, unit.stage_last_cycle,
                           unit.instructions, ProgramsHash(unit.programs));
  }
  out << absl::StrFormat("  a token: %d cycles predicted\n", token);
  return absl::OkStatus();
}

}  // namespace
}  // namespace tsp

int main(int argc, char** argv) {
  const bool large = argc > 1 && std::string(argv[1]) == "--large";
  using tsp::models::NumberFormat;
  std::vector<tsp::Case> cases = {
      {"tiny_dense", NumberFormat::kInt8, 1, 64, 63},   {"tiny_dense", NumberFormat::kInt8, 2, 64, 20},
      {"tiny_dense", NumberFormat::kFp16, 8, 64, 63},   {"tiny_moe", NumberFormat::kInt8, 8, 256, 255},
      {"tiny_wide", NumberFormat::kInt8, 8, 1024, 700}, {"tiny_wide", NumberFormat::kFp16, 8, 1024, 959},
  };
  if (large) cases.push_back({"llama2_70b", NumberFormat::kInt8, 576, 4096, 4095});
  const absl::StatusOr<tsp::isa::ChipModel> chip = tsp::isa::DefaultChipModel();
  if (!chip.ok()) {
    std::cerr << chip.status().message() << "\n";
    return 1;
  }
  for (const tsp::Case& c : cases) {
    const absl::Status status = tsp::Print(c, *chip, std::cout);
    if (!status.ok()) {
      std::cerr << c.model << ": " << status.message() << "\n";
      return 1;
    }
  }
  return 0;
}
