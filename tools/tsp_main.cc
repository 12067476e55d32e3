// tsp: run programs on the emulated chip. See README.md and `tsp --help`.
//
//   tsp [matvec] [--rows=N --columns=N --weights=int8|fp16 --mode=functional|timing]
//   tsp run --program=FILE.tsp [--chip=SPEC] [--mode=...] [--trace=FILE] [--format=json]
//   tsp check [--chip=SPEC] [--system=SPEC]
//   tsp asm --program=FILE.tsp
//   tsp run --model=llama2_70b [--chips=N --system=SPEC --context=N --prompt_tokens=N --users=N
//           --weights=int8|fp16 --mode=timing --format=json]
//   tsp fit --model=llama2_70b [--weights=int8|fp16 --context=N --users=N --tp=N --stages=N]
//   tsp plan --model=llama2_70b [--chips=128:2304:8 --weights=int8,fp16 --min_tokens_per_s_per_user=X
//            --users=N --max_ttft_s=X --no_emulate --plot=FILE.svg --format=table|csv|json
//            --set=chip.<path>=V,system.<path>=V --overlay=FILE]
//   tsp sweep --model=... --field=chip.<path>|system.<path> --values=a,b,c [plan's flags]
//   tsp compare --model=llama2_70b [--input_tokens=2048 --output_tokens=128 --batch=N --efficiency=1
//               --accelerators=A.textproto,... --plot=FILE.svg --format=table|json]
//   tsp trace --model=llama2_70b --chips=640 --out=FILE.json [--detail=units|instructions
//             --trace_chips=0-7,16 --cycles=A:B --position=P]

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "google/protobuf/stubs/logging.h"
#include "tools/tsp_cli.h"
#include "tools/tsp_request.pb.h"

ABSL_FLAG(std::string, chip, "", "ChipSpec textproto (default: built-in tsp_v1)");
ABSL_FLAG(std::string, system, "", "SystemSpec textproto");
ABSL_FLAG(std::string, program, "", "program in the text form (.tsp)");
ABSL_FLAG(std::string, mode, "", "functional or timing (default: functional, but timing for run --model)");
ABSL_FLAG(int64_t, rows, 0, "matvec: rows of W (multiple of the lanes; default 8 x lanes)");
ABSL_FLAG(int64_t, columns, 0, "matvec: columns of W (multiple of the lanes; default 8 x lanes)");
ABSL_FLAG(std::string, weights, "", "int8 or fp16 (default int8; plan: int8,fp16 - a list)");
ABSL_FLAG(std::string, trace, "", "run: write the event trace to this file");
ABSL_FLAG(std::string, format, "", "text or json (plan and sweep: table, csv or json)");
ABSL_FLAG(uint64_t, seed, 1, "matvec: seed of the synthetic weights");
ABSL_FLAG(std::string, model, "", "fit: a built-in model name or a ModelConfig textproto");
ABSL_FLAG(int64_t, context, 0, "fit: KV cache tokens per user (default: the model's context)");
ABSL_FLAG(int64_t, users, 1, "fit: concurrent users");
ABSL_FLAG(int64_t, tp, 0, "fit: tensor-parallel width (with --stages)");
ABSL_FLAG(int64_t, stages, 0, "fit: pipeline stages (with --tp)");
ABSL_FLAG(int64_t, max_chips, 2304, "fit: the largest system to search");
ABSL_FLAG(std::string, chips, "",
          "run --model: chips to use (default: the whole system); plan: chip counts as first:last:step or a list "
          "(default 128:2304:8)");
ABSL_FLAG(double, min_tokens_per_s_per_user, 0, "plan: the per-user speed the chosen option must reach");
ABSL_FLAG(double, max_ttft_s, 0, "plan: the longest time to first token the chosen option may take");
ABSL_FLAG(bool, no_emulate, false, "plan: compile only during the search (the chosen and Pareto options are emulated)");
ABSL_FLAG(std::string, plot, "", "plan: write an SVG plot of the options to this file");
ABSL_FLAG(std::vector<std::string>, set, {},
          "plan, sweep: what-if spec overrides, chip.<field path>=<value> or system.<field path>=<value>, "
          "comma-separated");
ABSL_FLAG(std::string, overlay, "", "plan, sweep: a tsp.tools.SpecOverlay textproto merged over the specs");
ABSL_FLAG(std::string, field, "", "sweep: the spec field to vary (chip.<path> or system.<path>)");
ABSL_FLAG(std::vector<std::string>, values, {}, "sweep: the field's values, comma-separated");
ABSL_FLAG(bool, all_rows, false, "plan: every option, not only the useful ones");
ABSL_FLAG(int64_t, input_tokens, 2048, "compare: prompt tokens per request");
ABSL_FLAG(int64_t, output_tokens, 128, "compare: output tokens per request");
ABSL_FLAG(int64_t, batch, 0, "compare: a batch to report besides the largest that fits");
ABSL_FLAG(std::vector<std::string>, accelerators, {},
          "compare: AcceleratorSpec textprotos, comma-separated (default: pipeline/accelerators/*)");
ABSL_FLAG(double, efficiency, 1.0, "compare: the share of peak FLOPs the roofline assumes");
ABSL_FLAG(std::string, out, "", "trace: the Chrome trace-event JSON file to write");
ABSL_FLAG(std::string, detail, "units", "trace: units (busy intervals per slice kind) or instructions");
ABSL_FLAG(std::string, trace_chips, "", "trace: chips to show, e.g. 0-7,16 (default: all)");
ABSL_FLAG(std::string, cycles, "", "trace: cycles to show, first:last (default: all)");
ABSL_FLAG(int64_t, position, 0, "trace: the token's position (default: the last of the context)");
ABSL_FLAG(int64_t, prompt_tokens, 0, "run --model: prompt tokens for the time to first token (default 2048, or the context less one)");
ABSL_FLAG(int64_t, threads, 2, "run --model: emulator worker threads");
ABSL_FLAG(int64_t, max_host_memory_mib, 16384,
          "refuse, with an estimate, requests that would need more host memory than this");

int main(int argc, char** argv) {
  // Errors reach the user as one line from the returned status; protobuf's
  // own log lines (e.g. on invalid UTF-8 in a binary Program) would add more.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  absl::SetProgramUsageMessage(
      "tsp [matvec|run|check|asm|fit|plan|sweep|compare|trace] [flags]: the cycle-deterministic tensor-streaming chip "
      "emulator. Without a command it runs the built-in weight-streaming matvec demo.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  tsp::tools::TspRequest request;
  if (positional.size() > 2) {
    std::cerr << "tsp: expected at most one command, got " << positional.size() - 1 << "\n";
    return 2;
  }
  if (positional.size() == 2) request.set_command(positional[1]);
  request.set_chip(absl::GetFlag(FLAGS_chip));
  request.set_system(absl::GetFlag(FLAGS_system));
  request.set_program(absl::GetFlag(FLAGS_program));
  request.set_mode(absl::GetFlag(FLAGS_mode));
  request.set_rows(absl::GetFlag(FLAGS_rows));
  request.set_columns(absl::GetFlag(FLAGS_columns));
  request.set_weights(absl::GetFlag(FLAGS_weights));
  request.set_trace(absl::GetFlag(FLAGS_trace));
  request.set_format(absl::GetFlag(FLAGS_format));
  request.set_seed(absl::GetFlag(FLAGS_seed));
  request.set_model(absl::GetFlag(FLAGS_model));
  request.set_context(absl::GetFlag(FLAGS_context));
  request.set_users(absl::GetFlag(FLAGS_users));
  request.set_tensor_parallel(absl::GetFlag(FLAGS_tp));
  request.set_pipeline_stages(absl::GetFlag(FLAGS_stages));
  request.set_max_chips(absl::GetFlag(FLAGS_max_chips));
  request.set_max_host_memory_mib(absl::GetFlag(FLAGS_max_host_memory_mib));
  const std::string chips = absl::GetFlag(FLAGS_chips);
  if (request.command() == "plan" || request.command() == "sweep" || request.command() == "compare") {
    request.set_chip_counts(chips);
  } else if (!chips.empty()) {
    int64_t count = 0;
    if (!absl::SimpleAtoi(chips, &count)) {
      std::cerr << "tsp: --chips=" << chips << " is not a number of chips\n";
      return 2;
    }
    request.set_chips(count);
  }
  request.set_min_tokens_per_s_per_user(absl::GetFlag(FLAGS_min_tokens_per_s_per_user));
  request.set_max_ttft_s(absl::GetFlag(FLAGS_max_ttft_s));
  request.set_no_emulate(absl::GetFlag(FLAGS_no_emulate));
  request.set_plot(absl::GetFlag(FLAGS_plot));
  for (const std::string& s : absl::GetFlag(FLAGS_set)) request.add_set(s);
  request.set_overlay(absl::GetFlag(FLAGS_overlay));
  request.set_field(absl::GetFlag(FLAGS_field));
  for (const std::string& v : absl::GetFlag(FLAGS_values)) request.add_values(v);
  request.set_all_rows(absl::GetFlag(FLAGS_all_rows));
  request.set_input_tokens(absl::GetFlag(FLAGS_input_tokens));
  request.set_output_tokens(absl::GetFlag(FLAGS_output_tokens));
  request.set_batch(absl::GetFlag(FLAGS_batch));
  for (const std::string& a : absl::GetFlag(FLAGS_accelerators)) request.add_accelerators(a);
  request.set_efficiency(absl::GetFlag(FLAGS_efficiency));
  request.set_out(absl::GetFlag(FLAGS_out));
  request.set_detail(absl::GetFlag(FLAGS_detail));
  request.set_trace_chips(absl::GetFlag(FLAGS_trace_chips));
  request.set_cycles(absl::GetFlag(FLAGS_cycles));
  request.set_position(absl::GetFlag(FLAGS_position));
  request.set_prompt_tokens(absl::GetFlag(FLAGS_prompt_tokens));
  request.set_threads(absl::GetFlag(FLAGS_threads));
  const absl::Status status = tsp::tools::RealMain(request, std::cout);
  if (!status.ok()) {
    std::cerr << "tsp: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
