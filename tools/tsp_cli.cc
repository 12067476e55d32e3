#include "tools/tsp_cli.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "emulator/chip_emulator.h"
#include "emulator/kernels/matvec_kernel.h"
#include "emulator/kernels/matvec_reference.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "isa/assembler.h"
#include "isa/builtin_texts.h"
#include "isa/chip_model.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"
#include "models/reference_ops.h"
#include "pipeline/system_emulator.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "tools/chip_reports.pb.h"
#include "tools/command_line.h"
#include "tools/fit_command.h"
#include "tools/model_command.h"
#include "tools/proto_json.h"
#include "tools/request_specs.h"
#include "tools/usage_error.h"
#include "tools/compare_command.h"
#include "tools/plan_command.h"
#include "tools/trace_command.h"

namespace tsp::tools {
namespace {

absl::StatusOr<bool> Functional(const TspRequest& request) {
  if (request.mode().empty() || request.mode() == "functional") return true;
  if (request.mode() == "timing") return false;
  return UsageError(absl::StrCat("--mode=", request.mode(), " is not one of: functional, timing"));
}

// A program file: one chip's program or a system's (text: "program <id>"
// sections, isa/README.md; binary: a tsp.isa.SystemProgram, as tsp_program
// writes, or a tsp.isa.Program). One chip's program runs as chip 0.
absl::StatusOr<isa::SystemProgram> LoadPrograms(const TspRequest& request) {
  if (request.program().empty()) return UsageError("--program=FILE.tsp (or a binary Program FILE.pb) is required");
  ASSIGN_OR_RETURN(std::string text, isa::ReadFile(request.program()));
  isa::SystemProgram system;
  if (absl::EndsWith(request.program(), ".pb")) {
    // A SystemProgram's bytes that also parse as one Program are not told
    // apart by parsing alone: a system's has chips and nothing unknown.
    if (system.ParseFromString(text) && system.chips_size() > 0 &&
        system.GetReflection()->GetUnknownFields(system).empty()) {
      bool clean = true;
      for (const auto& [id, program] : system.chips()) {
        clean &= program.GetReflection()->GetUnknownFields(program).empty();
      }
      if (clean) return system;
    }
    system.Clear();
    if (!(*system.mutable_chips())[0].ParseFromString(text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          request.program(), ": not a valid binary tsp.isa.Program or tsp.isa.SystemProgram (truncated or corrupted?)"));
    }
    return system;
  }
  if (isa::IsSystemProgramText(text)) {
    absl::StatusOr<isa::SystemProgram> parsed = isa::ParseSystemProgram(text);
    if (!parsed.ok()) {
      return absl::Status(parsed.status().code(), absl::StrCat(request.program(), ": ", parsed.status().message()));
    }
    return parsed;
  }
  absl::StatusOr<isa::Program> program = isa::ParseProgram(text);
  if (!program.ok()) {
    return absl::Status(program.status().code(),
                        absl::StrCat(request.program(), ": ", program.status().message()));
  }
  (*system.mutable_chips())[0] = *std::move(program);
  return system;
}

// Whether a system's programs are one chip's program run as chip 0.
bool IsOneChip(const isa::SystemProgram& system) {
  return system.chips_size() == 1 && system.chips().begin()->first == 0;
}

// Refuses a request whose estimated host memory exceeds the limit, before
// allocating any of it.
absl::Status CheckHostMemory(const TspRequest& request, int64_t estimated_bytes, absl::string_view what) {
  const int64_t limit_mib = request.max_host_memory_mib() > 0 ? request.max_host_memory_mib() : 16384;
  if (estimated_bytes > limit_mib * 1048576) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s would need about %.1f GiB of host memory, over the limit of %.1f GiB "
        "(--max_host_memory_mib=%d); make it smaller, use --mode=timing, or raise the limit",
        what, estimated_bytes / 1073741824.0, limit_mib / 1024.0, limit_mib));
  }
  return absl::OkStatus();
}

double Microseconds(int64_t cycles, int64_t clock_hz) {
  return static_cast<double>(cycles) * 1e6 / static_cast<double>(clock_hz);
}

absl::Status RunMatvec(const TspRequest& request, std::ostream& out) {
  ASSIGN_OR_RETURN(isa::ChipModel chip, RequestChip(request));
  const int64_t lanes = chip.lanes();
  const int64_t rows = request.rows() == 0 ? 8 * lanes : request.rows();
  const int64_t columns = request.columns() == 0 ? 8 * lanes : request.columns();
  if (rows <= 0 || columns <= 0 || rows % lanes != 0 || columns % lanes != 0) {
    return UsageError(absl::StrCat("--rows and --columns must be positive multiples of ", lanes,
                                   " (the chip's lanes); got ", rows, " x ", columns));
  }
  const std::string weights = request.weights().empty() ? "int8" : request.weights();
  if (weights != "int8" && weights != "fp16") {
    return UsageError(absl::StrCat("--weights=", weights, " is not one of: int8, fp16"));
  }
  ASSIGN_OR_RETURN(bool functional, Functional(request));
  const isa::ElementType type = weights == "int8" ? isa::INT8 : isa::FP16;
  // The weights exist four times at most at once: generated, in the
  // program's memory images, in the emulated SRAM and read back for the
  // reference (2 bytes an element as generated).
  RETURN_IF_ERROR(CheckHostMemory(request, 4 * 2 * rows * columns,
                                  absl::StrCat("a ", rows, " x ", columns, " matvec")));
  const uint64_t seed = request.seed();
  const std::vector<uint16_t> w = type == isa::INT8 ? kernels::Int8TestValues(rows * columns, seed)
                                                    : kernels::ExactFp16TestValues(rows * columns, seed);
  const std::vector<uint16_t> x = type == isa::INT8 ? kernels::Int8TestValues(columns, seed + 1)
                                                    : kernels::ExactFp16TestValues(columns, seed + 1);
  kernels::MatvecShape shape{static_cast<int>(rows / lanes), static_cast<int>(columns / lanes), type};
  ASSIGN_OR_RETURN(kernels::MatvecKernel kernel, kernels::BuildMatvecKernel(chip, shape, w, x));

  emulator::RunOptions options;
  options.functional = functional;
  ASSIGN_OR_RETURN(std::unique_ptr<emulator::ChipEmulator> emulator,
                   emulator::ChipEmulator::Create(chip, kernel.program, options));
  ASSIGN_OR_RETURN(emulator::RunResult result, emulator->Run());

  int64_t matching = -1;
  if (functional) {
    std::vector<std::string> planes;
    for (const std::string& slice : kernel.output_slices) {
      ASSIGN_OR_RETURN(std::string plane,
                       emulator->ReadMemory(slice, kernel.output_address_base, shape.row_tiles));
      planes.push_back(std::move(plane));
    }
    const std::vector<uint32_t> y = kernels::AssembleMatvecOutput(kernel, chip.lanes(), planes);
    const std::vector<uint32_t> reference =
        type == isa::INT8 ? kernels::ReferenceMatvecInt8(w, x, rows, columns)
                          : kernels::ReferenceMatvecFp16(w, x, rows, columns, chip.lanes());
    matching = 0;
    for (size_t i = 0; i < y.size(); ++i) matching += y[i] == reference[i] ? 1 : 0;
  }
  const bool cycles_agree = result.last_event_cycle == kernel.predicted_last_event_cycle;
  const int64_t weight_bytes = rows * columns * (type == isa::INT8 ? 1 : 2);

  if (request.format() == "json") {
    MatvecReport report;
    report.set_chip(chip.name());
    report.set_rows(rows);
    report.set_columns(columns);
    report.set_weights(weights);
    report.set_mode(functional ? "functional" : "timing");
    report.set_predicted_last_event_cycle(kernel.predicted_last_event_cycle);
    report.set_emulated_last_event_cycle(result.last_event_cycle);
    report.set_completion_cycle(result.completion_cycle);
    report.set_completion_us(Microseconds(result.completion_cycle, chip.clock_hz()));
    report.set_instructions_issued(result.instructions_issued);
    report.set_weight_bytes(weight_bytes);
    report.set_outputs_matching_reference(matching);
    report.set_outputs(rows);
    report.set_seed(static_cast<int64_t>(seed));
    out << ProtoJson(report) << "\n";
  } else {
    out << absl::StrFormat(
        "tsp matvec: y = W x, W %d x %d %s, on chip %s (%d lanes, %.0f MHz)\n", rows, columns,
        weights, chip.name(), chip.lanes(), static_cast<double>(chip.clock_hz()) / 1e6);
    out << absl::StrFormat("  schedule    : %d tiles of %dx%d streamed from SRAM into one MXM plane\n",
                           shape.row_tiles * shape.column_tiles, lanes, lanes);
    out << absl::StrFormat("  predicted   : last event at cycle %d (from the schedule)\n",
                           kernel.predicted_last_event_cycle);
    out << absl::StrFormat("  emulated    : last event at cycle %d (%s) -> %s\n",
                           result.last_event_cycle, functional ? "functional" : "timing-only",
                           cycles_agree ? "agrees to the cycle" : "DIFFERS");
    out << absl::StrFormat("  completion  : %d cycles = %s (all %d superlanes done)\n",
                           result.completion_cycle,
                           absl::StrFormat("%.3f us", Microseconds(result.completion_cycle, chip.clock_hz())),
                           chip.superlanes());
    out << absl::StrFormat("  instructions: %d issued (each Repeat repetition counted)\n",
                           result.instructions_issued);
    out << absl::StrFormat("  weights     : %d bytes at %.0f bytes/cycle from SRAM\n", weight_bytes,
                           static_cast<double>(weight_bytes) /
                               static_cast<double>(std::max<int64_t>(result.completion_cycle, 1)));
    if (functional) {
      out << absl::StrFormat("  results     : %d of %d outputs bit-identical to the reference\n",
                             matching, rows);
    }
  }
  if (!cycles_agree) {
    return absl::InternalError(absl::StrCat("predicted cycle ", kernel.predicted_last_event_cycle,
                                            " differs from emulated ", result.last_event_cycle));
  }
  if (functional && matching != rows) {
    return absl::InternalError(absl::StrCat(rows - matching, " of ", rows,
                                            " outputs differ from the reference"));
  }
  return absl::OkStatus();
}

absl::Status RunSystemProgram(const TspRequest& request, const isa::SystemProgram& programs, bool functional,
                              std::ostream& out) {
  if (!request.trace().empty()) {
    return UsageError("--trace writes one chip's trace; for a system's programs use tsp trace --model");
  }
  ASSIGN_OR_RETURN(RequestHardware hardware, RequestChipAndSystem(request));
  ASSIGN_OR_RETURN(pipeline::Topology topology, pipeline::Topology::Create(hardware.system, hardware.chip));
  int64_t instructions = 0;
  for (const auto& [id, program] : programs.chips()) {
    for (const isa::QueueProgram& queue : program.queues()) instructions += queue.instructions_size();
  }
  RETURN_IF_ERROR(CheckHostMemory(request, 200 * instructions, absl::StrCat("running ", request.program())));
  isa::ChipPrograms chips;
  for (const auto& [id, program] : programs.chips()) {
    if (id < 0 || id >= hardware.system.chips()) {
      return absl::InvalidArgumentError(absl::StrCat(request.program(), ": program ", id, " is for a chip outside the ",
                                                     hardware.system.chips(), "-chip system ",
                                                     hardware.system.spec().name(), "; pick a larger --system"));
    }
    chips[id] = program;
  }
  pipeline::SystemRunOptions options;
  options.functional = functional;
  options.threads = 2;
  ASSIGN_OR_RETURN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                   pipeline::SystemEmulator::Create(hardware.chip, hardware.system, topology, chips, options));
  absl::StatusOr<pipeline::SystemRunResult> result = emulator->Run();
  if (!result.ok()) {
    return absl::Status(result.status().code(), absl::StrCat(request.program(), ": ", result.status().message()));
  }
  const int64_t predicted = programs.predicted_last_event_cycle();
  if (request.format() == "json") {
    ProgramRunReport report;
    report.set_program(request.program());
    report.set_chip(hardware.chip.name());
    report.set_mode(functional ? "functional" : "timing");
    report.set_last_event_cycle(result->last_event_cycle);
    report.set_completion_cycle(result->completion_cycle);
    report.set_completion_us(Microseconds(result->completion_cycle, hardware.chip.clock_hz()));
    report.set_instructions_issued(result->instructions_issued);
    report.set_vectors_sent(static_cast<int64_t>(result->transfers.size()));
    report.set_chips(programs.chips_size());
    report.set_system(hardware.system.spec().name());
    report.set_predicted_last_event_cycle(predicted);
    out << ProtoJson(report) << "\n";
  } else {
    out << absl::StrFormat("tsp run: %s on %d chips of %s (%s)\n", request.program(), programs.chips_size(),
                           hardware.system.spec().name(), functional ? "functional" : "timing-only");
    out << absl::StrFormat("  last event  : cycle %d%s\n", result->last_event_cycle,
                           predicted == 0 ? std::string()
                           : predicted == result->last_event_cycle
                               ? absl::StrCat(" (predicted ", predicted, ": equal)")
                               : absl::StrCat(" (predicted ", predicted, ": DIFFERS)"));
    out << absl::StrFormat("  completion  : %d cycles = %.3f us\n", result->completion_cycle,
                           Microseconds(result->completion_cycle, hardware.chip.clock_hz()));
    out << absl::StrFormat("  instructions: %d issued\n", result->instructions_issued);
    out << absl::StrFormat("  transfers   : %d vectors over links\n", result->transfers.size());
  }
  if (predicted != 0 && predicted != result->last_event_cycle) {
    return absl::InternalError(absl::StrCat(request.program(), ": the programs predict their last event at cycle ",
                                            predicted, " and ran to cycle ", result->last_event_cycle));
  }
  return absl::OkStatus();
}

absl::Status RunProgram(const TspRequest& request, std::ostream& out) {
  ASSIGN_OR_RETURN(isa::SystemProgram programs, LoadPrograms(request));
  ASSIGN_OR_RETURN(bool functional, Functional(request));
  if (!IsOneChip(programs)) return RunSystemProgram(request, programs, functional, out);
  if (!request.system().empty()) {
    return UsageError("--system applies to a system's programs (program <id> sections); this is one chip's program");
  }
  ASSIGN_OR_RETURN(isa::ChipModel chip, RequestChip(request));
  const isa::Program& program = programs.chips().at(0);
  {
    // Decoded instructions (about 200 bytes each, every Repeat repetition
    // traced when tracing) and, in functional mode, the SRAM the images touch.
    int64_t instructions = 0;
    int64_t repetitions = 0;
    for (const isa::QueueProgram& queue : program.queues()) {
      instructions += queue.instructions_size();
      for (const isa::Instruction& instruction : queue.instructions()) {
        if (isa::InstructionOpcode(instruction) == isa::Opcode::kRepeat) repetitions += std::max<int64_t>(instruction.n(), 0);
      }
    }
    int64_t estimate = 200 * instructions + (request.trace().empty() ? 0 : 48 * 2 * (instructions + repetitions));
    if (functional) {
      for (const isa::MemoryImage& image : program.memory()) estimate += 2 * static_cast<int64_t>(image.data().size());
    }
    RETURN_IF_ERROR(CheckHostMemory(request, estimate, absl::StrCat("running ", request.program())));
  }
  emulator::RunOptions options;
  options.functional = functional;
  options.record_trace = !request.trace().empty();
  ASSIGN_OR_RETURN(std::unique_ptr<emulator::ChipEmulator> emulator,
                   emulator::ChipEmulator::Create(chip, program, options));
  absl::StatusOr<emulator::RunResult> result = emulator->Run();
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(request.program(), ": ", result.status().message()));
  }
  if (!request.trace().empty()) {
    std::ofstream trace(request.trace());
    trace << emulator->FormatTrace(result->trace);
    if (!trace) return absl::UnavailableError(absl::StrCat("cannot write ", request.trace()));
  }
  std::vector<std::pair<int64_t, int>> busy;
  for (size_t s = 0; s < result->busy_cycles.size(); ++s) {
    if (result->busy_cycles[s] > 0) busy.push_back({-result->busy_cycles[s], static_cast<int>(s)});
  }
  std::sort(busy.begin(), busy.end());
  busy.resize(std::min<size_t>(busy.size(), 8));
  if (request.format() == "json") {
    ProgramRunReport report;
    report.set_program(request.program());
    report.set_chip(chip.name());
    report.set_mode(functional ? "functional" : "timing");
    report.set_last_event_cycle(result->last_event_cycle);
    report.set_completion_cycle(result->completion_cycle);
    report.set_completion_us(Microseconds(result->completion_cycle, chip.clock_hz()));
    report.set_instructions_issued(result->instructions_issued);
    report.set_vectors_sent(static_cast<int64_t>(result->sent.size()));
    for (const auto& [cycles, slice] : busy) {
      SliceBusy* b = report.add_busiest_slices();
      b->set_slice(chip.slices()[slice].name);
      b->set_busy_cycles(-cycles);
    }
    out << ProtoJson(report) << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("tsp run: %s on %s (%s)\n", request.program(), chip.name(),
                         functional ? "functional" : "timing-only");
  out << absl::StrFormat("  last event  : cycle %d\n", result->last_event_cycle);
  out << absl::StrFormat("  completion  : %d cycles = %.3f us\n", result->completion_cycle,
                         Microseconds(result->completion_cycle, chip.clock_hz()));
  out << absl::StrFormat("  instructions: %d issued\n", result->instructions_issued);
  for (const auto& [cycles, slice] : busy) {
    out << absl::StrFormat("  busy        : %-8s %d cycles\n", chip.slices()[slice].name, -cycles);
  }
  return absl::OkStatus();
}

absl::Status Check(const TspRequest& request, std::ostream& out) {
  ASSIGN_OR_RETURN(RequestHardware hardware, RequestChipAndSystem(request));
  const isa::ChipModel& chip = hardware.chip;
  const pipeline::SystemModel& system = hardware.system;
  CheckReport report;
  report.set_chip(chip.name());
  report.set_slices(static_cast<int32_t>(chip.slices().size()));
  report.set_queues(static_cast<int32_t>(chip.queues().size()));
  report.set_lanes(static_cast<int32_t>(chip.lanes()));
  report.set_mem_slices(static_cast<int32_t>(chip.SlicesOfKind(isa::SLICE_MEM).size()));
  report.set_mem_slice_bytes(chip.spec().mem().slice_bytes().value());
  report.set_clock_hz(static_cast<double>(chip.clock_hz()));
  report.set_system(system.spec().name());
  report.set_chips(system.chips());
  report.set_nodes(system.spec().nodes().value());
  report.set_racks(system.racks());
  report.set_link_latency_cycles(system.spec().link_latency_cycles().value());
  report.set_link_serialization_cycles(system.link_serialization_cycles());
  if (request.format() == "json") {
    out << ProtoJson(report) << "\n";
    return absl::OkStatus();
  }
  out << absl::StrFormat("chip %s: %d slices, %d queues, %d lanes, %d MEM slices of %d bytes, %.0f MHz\n",
                         report.chip(), report.slices(), report.queues(), report.lanes(), report.mem_slices(),
                         report.mem_slice_bytes(), report.clock_hz() / 1e6);
  out << absl::StrFormat("system %s: %d chips in %d nodes and %d racks, link %d + %d cycles per vector\n",
                         report.system(), report.chips(), report.nodes(), report.racks(),
                         report.link_latency_cycles(), report.link_serialization_cycles());
  return absl::OkStatus();
}

}  // namespace

absl::Status RealMain(const TspRequest& request, std::ostream& out) {
  const std::string& command = request.command();
  if (command == "plan") return PlanCommand(request, out, std::cerr);
  if (command == "sweep") return SweepCommand(request, out, std::cerr);
  if (command == "compare") return CompareCommand(request, out, std::cerr);
  if (command == "trace") return TraceCommand(request, out, std::cerr);
  if (!request.format().empty() && request.format() != "text" && request.format() != "json") {
    return UsageError(absl::StrCat("--format=", request.format(), " is not one of: text, json"));
  }
  if (command.empty() || command == "matvec") return RunMatvec(request, out);
  if (command == "run" && !request.model().empty()) return RunModelCommand(request, out, std::cerr);
  if (command == "run") return RunProgram(request, out);
  if (command == "check") return Check(request, out);
  if (command == "fit") return FitCommand(request, out);
  if (command == "asm") {
    ASSIGN_OR_RETURN(isa::SystemProgram programs, LoadPrograms(request));
    out << (IsOneChip(programs) && programs.predicted_last_event_cycle() == 0 ? isa::PrintProgram(programs.chips().at(0))
                                                                             : isa::PrintSystemProgram(programs));
    return absl::OkStatus();
  }
  return UsageError(absl::StrCat("unknown subcommand '", command, "'", isa::DidYouMean(command, SubcommandNames()),
                                 "; subcommands: ", absl::StrJoin(SubcommandNames(), ", ")));
}

}  // namespace tsp::tools
