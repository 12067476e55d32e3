// Prints the scheduled programs of a kernel or of a model's decode step in
// the text form (isa/README.md), one chip after another, for golden tests
// (tools/defs.bzl, tsp_golden_schedule_test); with --out, also writes them as
// a binary tsp.isa.SystemProgram (tsp_program).

#include <fstream>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include <map>

#include "emulator/kernels/lane_sum_kernel.h"
#include "isa/status_macros.h"
#include "emulator/kernels/matvec_kernel.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"
#include "models/model_registry.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/partitioner.h"

ABSL_FLAG(std::string, kernel, "", "matvec or lane_sum");
ABSL_FLAG(int64_t, row_tiles, 2, "matvec: row tiles");
ABSL_FLAG(int64_t, column_tiles, 2, "matvec: column tiles");
ABSL_FLAG(std::string, model, "", "a model: its decode step");
ABSL_FLAG(std::string, system, "pipeline/specs/groq_576.textproto", "SystemSpec textproto");
ABSL_FLAG(int64_t, chips, 1, "model: chips to lay it over");
ABSL_FLAG(int64_t, context, 64, "model: KV cache tokens");
ABSL_FLAG(int64_t, position, 0, "model: the step's position");
ABSL_FLAG(std::string, weights, "int8", "model: int8 or fp16");
ABSL_FLAG(std::string, out, "", "also write a binary tsp.isa.SystemProgram here");

namespace tsp::tools {
namespace {

absl::StatusOr<isa::SystemProgram> Build() {
  ASSIGN_OR_RETURN(isa::ChipModel chip, isa::DefaultChipModel());
  isa::SystemProgram out;
  const std::string kernel = absl::GetFlag(FLAGS_kernel);
  if (kernel == "matvec") {
    kernels::MatvecShape shape;
    shape.row_tiles = static_cast<int>(absl::GetFlag(FLAGS_row_tiles));
    shape.column_tiles = static_cast<int>(absl::GetFlag(FLAGS_column_tiles));
    ASSIGN_OR_RETURN(kernels::MatvecKernel k, kernels::BuildMatvecKernel(chip, shape, {}, {}));
    (*out.mutable_chips())[0] = k.program;
    out.set_predicted_last_event_cycle(k.predicted_last_event_cycle);
    return out;
  }
  if (kernel == "lane_sum") {
    ASSIGN_OR_RETURN(kernels::LaneSumKernel k, kernels::BuildLaneSumKernel(chip, {}));
    (*out.mutable_chips())[0] = k.program;
    out.set_predicted_last_event_cycle(k.predicted_last_event_cycle);
    return out;
  }
  if (!kernel.empty() || absl::GetFlag(FLAGS_model).empty()) {
    return absl::InvalidArgumentError("give --kernel=matvec|lane_sum or --model=NAME");
  }
  ASSIGN_OR_RETURN(pipeline::SystemModel system, pipeline::LoadSystemModel(absl::GetFlag(FLAGS_system), chip));
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(system, chip));
  scheduler::PartitionQuery query;
  ASSIGN_OR_RETURN(query.config, models::LoadModel(absl::GetFlag(FLAGS_model)));
  ASSIGN_OR_RETURN(query.format, models::ParseNumberFormat(absl::GetFlag(FLAGS_weights)));
  query.context_tokens = absl::GetFlag(FLAGS_context);
  query.chips = static_cast<int>(absl::GetFlag(FLAGS_chips));
  ASSIGN_OR_RETURN(scheduler::PartitionChoice choice, scheduler::ChoosePartition(query, chip, system, topology));
  scheduler::DecoderOptions options;
  options.format = query.format;
  options.context_tokens = query.context_tokens;
  ASSIGN_OR_RETURN(scheduler::DecoderCompiler compiler,
                   scheduler::DecoderCompiler::Create(query.config, chip, system, topology, choice.partition, options));
  ASSIGN_OR_RETURN(scheduler::CompiledStep step, compiler.CompileStep(absl::GetFlag(FLAGS_position)));
  for (const auto& [id, program] : step.programs) (*out.mutable_chips())[id] = program;  // Off the arena.
  out.set_predicted_last_event_cycle(step.predicted_last_cycle);
  return out;
}

}  // namespace
}  // namespace tsp::tools

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<tsp::isa::SystemProgram> programs = tsp::tools::Build();
  if (!programs.ok()) {
    std::cerr << "schedule_text: " << programs.status().message() << "\n";
    return 1;
  }
  std::cout << tsp::isa::PrintSystemProgram(*programs);
  if (const std::string path = absl::GetFlag(FLAGS_out); !path.empty()) {
    std::ofstream file(path, std::ios::binary);
    if (!programs->SerializeToOstream(&file)) {
      std::cerr << "schedule_text: cannot write " << path << "\n";
      return 1;
    }
  }
  return 0;
}
