#include "tools/command_line.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "isa/builtin_texts.h"
#include "isa/status_macros.h"
#include "tools/usage_error.h"
#include "tools/version_stamp.h"

namespace tsp::tools {
namespace {

// The forms flags apply to: a subcommand, and run's two forms.
enum Form : uint32_t {
  kMatvec = 1 << 0,
  kRunProgram = 1 << 1,
  kRunModel = 1 << 2,
  kCheck = 1 << 3,
  kAsm = 1 << 4,
  kFit = 1 << 5,
  kPlan = 1 << 6,
  kSweep = 1 << 7,
  kCompare = 1 << 8,
  kTrace = 1 << 9,
};
constexpr uint32_t kLoadsSpecs = kMatvec | kRunProgram | kRunModel | kCheck | kFit | kPlan | kSweep | kCompare | kTrace;
constexpr uint32_t kPartitions = kRunModel | kFit | kTrace;
constexpr uint32_t kPlans = kPlan | kSweep;

struct Subcommand {
  const char* name;
  uint32_t forms;
  const char* summary;
  const char* usage;
};

const std::vector<Subcommand>& Subcommands() {
  static const auto* const subcommands = new std::vector<Subcommand>{
      {"matvec", kMatvec, "the weight-streaming matvec demo on one chip, checked against the reference (the default)",
       "tsp [matvec] [flags]"},
      {"run", kRunProgram | kRunModel,
       "programs (--program: one chip's, or a system's), or a model on a system (--model): compiled, emulated, checked",
       "tsp run --program=FILE [flags]\n       tsp run --model=NAME|FILE [flags]"},
      {"check", kCheck, "validate a chip spec and a system spec", "tsp check [--chip=FILE] [--system=NAME|FILE]"},
      {"asm", kAsm, "print a program's canonical text (the assembler's round trip)", "tsp asm --program=FILE"},
      {"fit", kFit, "the partition of a model that fits SRAM, and what fills each stage's chips",
       "tsp fit --model=NAME|FILE [flags]"},
      {"plan", kPlan, "capacity planning: the options of serving a model over chip counts, compiled and emulated",
       "tsp plan --model=NAME|FILE [flags]"},
      {"sweep", kSweep, "a plan at each value of one spec field (what-if)",
       "tsp sweep --model=NAME|FILE --field=chip.PATH|system.PATH --values=A,B,... [flags]"},
      {"compare", kCompare, "the LPU beside HBM accelerator servers (a roofline of their specs) on one job",
       "tsp compare --model=NAME|FILE [flags]"},
      {"trace", kTrace, "one decode step as a Perfetto/Chrome trace (.json, .json.gz) or an HTML page",
       "tsp trace --model=NAME|FILE --out=FILE.json|FILE.json.gz|FILE.html [flags]"},
      {"help", 0, "this overview, or one subcommand's flags: tsp help SUBCOMMAND", "tsp help [SUBCOMMAND]"},
      {"version", 0, "the version, commit and build mode", "tsp version"},
  };
  return *subcommands;
}

// One flag as it applies to some forms: several entries may share a name when
// the flag means something different per subcommand (--chips: one count for
// run, a list for plan).
struct Flag {
  const char* name;
  const char* field;    // The TspRequest field it sets.
  uint32_t forms;
  const char* value;    // What to write after '=', for help ("N", "FILE", ...).
  const char* default_text;  // "" when there is none (required or off).
  const char* help;     // With the unit.
  const char* choices = "";  // '|'-separated allowed values; with ',' in `value`, a list of them.
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool required = false;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

const std::vector<Flag>& Flags() {
  static const auto* const flags = new std::vector<Flag>{
      // What to run.
      {"model", "model", kRunModel | kFit | kPlan | kSweep | kCompare | kTrace, "NAME|FILE", "",
       "a built-in model (llama2_70b, llama3_8b, mixtral_8x7b, tiny_dense, ...) or a ModelConfig textproto", "",
       -kInf, kInf, true},
      {"program", "program", kRunProgram | kAsm, "FILE", "",
       "a program: text (.tsp, one chip's or a system's) or binary (.pb, a tsp.isa.Program or SystemProgram)", "",
       -kInf, kInf, true},
      // Hardware.
      {"chip", "chip", kLoadsSpecs, "FILE", "the built-in tsp_v1", "a ChipSpec textproto"},
      {"system", "system", kCheck | kRunModel | kFit | kPlans | kCompare | kTrace, "NAME|FILE", "groq_576",
       "a built-in system (groq_576, groq_1152) or a SystemSpec textproto"},
      {"system", "system", kRunProgram, "NAME|FILE", "groq_576",
       "the system a system's programs (program <id> sections) run on; not for one chip's program"},
      {"set", "set", kLoadsSpecs, "chip.PATH=V,system.PATH=V", "none",
       "what-if overrides of spec fields, comma-separated (e.g. chip.clock_hz.value=1200000000)"},
      {"overlay", "overlay", kLoadsSpecs, "FILE", "none", "a tsp.tools.SpecOverlay textproto merged over the specs"},
      // Partitions.
      {"chips", "chips", kRunModel | kTrace, "N", "the system's, as many as the layers take",
       "chips to use, exactly: N = tensor-parallel width x stages", "", 1},
      {"chips", "chips", kFit, "N", "the fewest that fit, up to --max_chips",
       "chips to use, exactly: N = tensor-parallel width x stages", "", 1},
      {"chips", "chip_counts", kPlans | kCompare, "FIRST:LAST:STEP|A,B,...", "128:2304:8",
       "chip counts to plan over, whole nodes; a list also times the pipeline that uses each count whole"},
      {"tp", "tensor_parallel", kPartitions, "N", "chosen (a node's width first)",
       "tensor-parallel width: chips per stage, splitting heads, KV heads, FFN and vocabulary", "", 1},
      {"tp", "tensor_parallel", kPlans, "N", "1, 2, 4, half a node, a node, two and four nodes", "only this tensor-parallel width",
       "", 1},
      {"stages", "pipeline_stages", kPartitions, "N", "chosen (as many as the chips allow)",
       "pipeline stages (groups of --tp chips, each running consecutive layers)", "", 1},
      {"max_chips", "max_chips", kFit, "N", "2304", "the largest system searched for the fewest chips", "", 1},
      {"weights", "weights", kMatvec | kRunModel | kFit | kCompare | kTrace, "int8|fp16", "int8",
       "number format of weights and KV caches", "int8|fp16"},
      {"weights", "weights", kPlans, "int8,fp16", "int8,fp16", "number formats to plan over: one or both",
       "int8|fp16"},
      {"context", "context", kRunModel | kFit | kPlans | kTrace, "TOKENS", "the model's context",
       "KV cache length per user, in tokens", "", 1},
      {"users", "users", kRunModel | kFit, "N", "1", "users whose KV caches must fit beside the weights", "", 1},
      {"users", "users", kPlans, "N", "none", "concurrent users the chosen option must hold", "", 1},
      // How.
      {"mode", "mode", kMatvec | kRunProgram, "functional|timing", "functional",
       "functional (real values, checked against the reference) or timing (cycles only)", "functional|timing"},
      {"mode", "mode", kRunModel, "timing|functional", "timing",
       "timing (cycles of every unit, emulated) or functional (a small model's tokens computed by the chips against "
       "the reference decoder)",
       "timing|functional"},
      {"prompt_tokens", "prompt_tokens", kRunModel, "TOKENS", "2048, or the context less one; functional: 4",
       "prompt length for the time to first token (functional runs: the prompt's tokens, at most 16)", "", 1},
      {"prompt_tokens", "prompt_tokens", kPlans, "TOKENS", "2048, or the context less one",
       "prompt length for the time to first token", "", 1},
      {"threads", "threads", kRunModel | kPlans | kCompare | kTrace, "N", "2",
       "host threads compiling and emulating units (results identical for any count)", "", 1, 256},
      {"seed", "seed", kMatvec | kRunModel, "N", "1", "seed of the synthetic weights and inputs", "", 0},
      {"max_host_memory_mib", "max_host_memory_mib", kMatvec | kRunProgram | kRunModel, "MiB", "16384",
       "refuse up front, with an estimate, work needing more host memory than this", "", 1},
      // matvec.
      {"rows", "rows", kMatvec, "N", "8 x lanes (2560)", "rows of W, a multiple of the chip's lanes", "", 1},
      {"columns", "columns", kMatvec, "N", "8 x lanes (2560)", "columns of W, a multiple of the chip's lanes", "", 1},
      // run --program.
      {"trace", "trace", kRunProgram, "FILE", "none", "write the emulator's event trace (text) to this file"},
      // plan and sweep.
      {"min_tokens_per_s_per_user", "min_tokens_per_s_per_user", kPlans, "TOKENS_PER_S", "none",
       "per-user speed the chosen option must reach, in tokens/s", "", 0},
      {"max_ttft_s", "max_ttft_s", kPlans, "SECONDS", "none",
       "longest time to first token the chosen option may take, in seconds", "", 0},
      {"no_emulate", "no_emulate", kPlans, "", "off",
       "compile only during the search (the chosen and Pareto options are still emulated)"},
      {"no_verify", "no_verify", kRunModel | kPlans | kCompare, "", "off",
       "skip the independent verifier (pipeline/system_verifier.h), which checks every unit's programs from the "
       "programs alone, before emulation or, for units compiled only, instead"},
      {"all_rows", "all_rows", kPlan, "", "off", "list every option, not only the useful ones"},
      {"plot", "plot", kPlan | kCompare, "FILE.svg", "none", "write an SVG plot of the options"},
      {"field", "field", kSweep, "chip.PATH|system.PATH", "", "the spec field to vary", "", -kInf, kInf, true},
      {"values", "values", kSweep, "A,B,...", "", "the field's values", "", -kInf, kInf, true},
      // compare.
      {"input_tokens", "input_tokens", kCompare, "TOKENS", "2048", "prompt tokens per request", "", 1},
      {"output_tokens", "output_tokens", kCompare, "TOKENS", "128", "output tokens per request", "", 1},
      {"batch", "batch", kCompare, "N", "none", "a batch to report besides the largest that fits", "", 1},
      {"accelerators", "accelerators", kCompare, "NAME|FILE,...", "b200,h100_sxm,h200,sohu,trainium2",
       "built-in accelerators or AcceleratorSpec textprotos"},
      {"efficiency", "efficiency", kCompare, "X", "1", "the share of peak FLOPs the roofline assumes", "", 1e-9, 1},
      // trace.
      {"out", "out", kTrace, "FILE", "",
       "the file to write: .json (trace events), .json.gz (the same, gzip) or .html (a self-contained page)", "",
       -kInf, kInf, true},
      {"detail", "detail", kTrace, "units|instructions", "units",
       "units (busy intervals per slice kind) or instructions (a slice per instruction)", "units|instructions"},
      {"trace_chips", "trace_chips", kTrace, "A-B,C,...", "all chips (.html: the first of the first and last stage)",
       "chips traced (instruction by instruction on the page)"},
      {"cycles", "cycles", kTrace, "FIRST:LAST", "all", "cycles traced"},
      {"position", "position", kTrace, "P", "the last of the context", "the token's position (KV length - 1)", "",
       0},
      // Reports.
      {"format", "format", kMatvec | kRunProgram | kRunModel | kCheck | kFit | kTrace, "text|json", "text",
       "what to print: text, or json (the report's protobuf as JSON)", "text|json"},
      {"format", "format", kPlans, "table|csv|json", "table", "what to print (json: the PlanReport protobuf)",
       "table|text|csv|json"},
      {"format", "format", kCompare, "table|json", "table", "what to print (json: the CompareReport protobuf)",
       "table|text|json"},
  };
  return *flags;
}

// How the overview and errors name a form.
std::string FormName(Form form) {
  switch (form) {
    case kMatvec: return "matvec";
    case kRunProgram: return "run --program";
    case kRunModel: return "run --model";
    case kCheck: return "check";
    case kAsm: return "asm";
    case kFit: return "fit";
    case kPlan: return "plan";
    case kSweep: return "sweep";
    case kCompare: return "compare";
    case kTrace: return "trace";
  }
  return "?";
}

std::string FormNames(uint32_t forms) {
  std::vector<std::string> names;
  for (uint32_t bit = 1; bit <= kTrace; bit <<= 1) {
    if ((forms & bit) != 0) names.push_back(FormName(static_cast<Form>(bit)));
  }
  return absl::StrJoin(names, ", ");
}

const Subcommand* FindSubcommand(absl::string_view name) {
  for (const Subcommand& s : Subcommands()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::vector<std::string> FlagNames(uint32_t forms) {
  std::vector<std::string> names;
  for (const Flag& flag : Flags()) {
    if ((flag.forms & forms) != 0 && std::find(names.begin(), names.end(), flag.name) == names.end()) {
      names.push_back(flag.name);
    }
  }
  return names;
}

const Flag* FindFlag(absl::string_view name, Form form) {
  for (const Flag& flag : Flags()) {
    if (name == flag.name && (flag.forms & form) != 0) return &flag;
  }
  return nullptr;
}

uint32_t FormsOfFlag(absl::string_view name) {
  uint32_t forms = 0;
  for (const Flag& flag : Flags()) {
    if (name == flag.name) forms |= flag.forms;
  }
  return forms;
}

// A value that is not one of the flag's choices; "" when it is.
std::string CheckChoice(const Flag& flag, absl::string_view value) {
  if (*flag.choices == '\0') return "";
  const std::vector<std::string> choices = absl::StrSplit(flag.choices, '|');
  const bool list = absl::StrContains(flag.value, ",");
  std::vector<absl::string_view> parts;
  if (list) {
    parts = absl::StrSplit(value, ',');
  } else {
    parts = {value};
  }
  for (absl::string_view part : parts) {
    if (std::find(choices.begin(), choices.end(), part) == choices.end()) {
      // The help lists "text" for table forms as an alias; do not advertise it.
      std::vector<std::string> shown;
      for (const std::string& c : choices) {
        if (!(c == "text" && std::find(choices.begin(), choices.end(), "table") != choices.end())) shown.push_back(c);
      }
      return absl::StrCat("--", flag.name, "=", value, ": '", part, "' is not one of: ", absl::StrJoin(shown, ", "),
                          isa::DidYouMean(part, shown));
    }
  }
  return "";
}

absl::Status SetField(const Flag& flag, absl::string_view value, TspRequest* request) {
  const google::protobuf::FieldDescriptor* field = TspRequest::descriptor()->FindFieldByName(flag.field);
  if (field == nullptr) return absl::InternalError(absl::StrCat("TspRequest has no field ", flag.field));
  const google::protobuf::Reflection* reflection = request->GetReflection();
  const std::string shown = absl::StrCat("--", flag.name, "=", value);
  if (std::string wrong = CheckChoice(flag, value); !wrong.empty()) return UsageError(wrong);
  auto in_range = [&](double v) -> absl::Status {
    if (v < flag.min) {
      return UsageError(absl::StrCat(shown, ": must be at least ", absl::StrFormat("%g", flag.min)));
    }
    if (v > flag.max) return UsageError(absl::StrCat(shown, ": must be at most ", absl::StrFormat("%g", flag.max)));
    return absl::OkStatus();
  };
  switch (field->cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_STRING:
      if (field->is_repeated()) {
        for (absl::string_view part : absl::StrSplit(value, ',', absl::SkipEmpty())) {
          reflection->AddString(request, field, std::string(part));
        }
      } else {
        if (value.empty()) return UsageError(absl::StrCat("--", flag.name, " needs a value: --", flag.name, "=", flag.value));
        reflection->SetString(request, field, std::string(value));
      }
      return absl::OkStatus();
    case google::protobuf::FieldDescriptor::CPPTYPE_INT64:
    case google::protobuf::FieldDescriptor::CPPTYPE_UINT64: {
      int64_t n = 0;
      if (!absl::SimpleAtoi(value, &n)) {
        return UsageError(absl::StrCat(shown, ": '", value, "' is not a whole number"));
      }
      RETURN_IF_ERROR(in_range(static_cast<double>(n)));
      if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_INT64) {
        reflection->SetInt64(request, field, n);
      } else {
        reflection->SetUInt64(request, field, static_cast<uint64_t>(n));
      }
      return absl::OkStatus();
    }
    case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE: {
      double x = 0;
      if (!absl::SimpleAtod(value, &x) || !std::isfinite(x)) {
        return UsageError(absl::StrCat(shown, ": '", value, "' is not a number"));
      }
      RETURN_IF_ERROR(in_range(x));
      reflection->SetDouble(request, field, x);
      return absl::OkStatus();
    }
    case google::protobuf::FieldDescriptor::CPPTYPE_BOOL: {
      const std::string lower = absl::AsciiStrToLower(value);
      if (lower == "true" || lower == "1" || lower == "yes") {
        reflection->SetBool(request, field, true);
      } else if (lower == "false" || lower == "0" || lower == "no") {
        reflection->SetBool(request, field, false);
      } else {
        return UsageError(absl::StrCat(shown, ": '", value, "' is not true or false (or give --", flag.name,
                                       " alone)"));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InternalError(absl::StrCat("TspRequest field ", flag.field, " has a type flags do not set"));
  }
}

bool IsBoolFlag(absl::string_view name) {
  for (const Flag& flag : Flags()) {
    if (name != flag.name) continue;
    const google::protobuf::FieldDescriptor* field = TspRequest::descriptor()->FindFieldByName(flag.field);
    return field != nullptr && field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_BOOL;
  }
  return false;
}

// "  --flag=VALUE   what it does (default: ...)", the description wrapped at
// 110 columns under itself.
std::string HelpLine(const std::string& syntax, const std::string& description) {
  constexpr size_t kColumn = 34;
  constexpr size_t kWidth = 110;
  std::string text = "  " + syntax;
  if (text.size() + 1 > kColumn) {
    text += "\n" + std::string(kColumn, ' ');
  } else {
    text += std::string(kColumn - text.size(), ' ');
  }
  size_t column = kColumn;
  bool first = true;
  for (absl::string_view word : absl::StrSplit(description, ' ', absl::SkipEmpty())) {
    if (!first && column + 1 + word.size() > kWidth) {
      text += "\n" + std::string(kColumn, ' ');
      column = kColumn;
      first = true;
    }
    if (!first) {
      text += ' ';
      ++column;
    }
    absl::StrAppend(&text, word);
    column += word.size();
    first = false;
  }
  return text + "\n";
}

struct RawFlag {
  std::string name;
  std::string value;
  bool has_value = false;
};

}  // namespace

std::vector<std::string> SubcommandNames() {
  std::vector<std::string> names;
  for (const Subcommand& s : Subcommands()) names.push_back(s.name);
  return names;
}

absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine line;
  std::vector<std::string> positional;
  std::vector<RawFlag> raw;
  bool help = false;
  bool version = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    absl::string_view body(arg);
    body.remove_prefix(absl::StartsWith(body, "--") ? 2 : 1);
    RawFlag flag;
    const size_t equals = body.find('=');
    flag.name = std::string(body.substr(0, equals));
    if (equals != absl::string_view::npos) {
      flag.value = std::string(body.substr(equals + 1));
      flag.has_value = true;
    }
    if (flag.name == "help" || flag.name == "h") {
      help = true;
      continue;
    }
    if (flag.name == "version") {
      version = true;
      continue;
    }
    if (!flag.has_value && FormsOfFlag(flag.name) != 0 && !IsBoolFlag(flag.name)) {
      // `--flag value`.
      if (i + 1 >= args.size()) {
        return UsageError(absl::StrCat("--", flag.name, " needs a value (--", flag.name, "=...)"));
      }
      flag.value = args[++i];
      flag.has_value = true;
    }
    raw.push_back(std::move(flag));
  }
  std::string command = positional.empty() ? "" : positional[0];
  if (command == "help") {
    if (positional.size() > 2) {
      return UsageError(absl::StrCat("help takes one subcommand, got ", positional.size() - 1));
    }
    line.action = CommandLine::Action::kHelp;
    line.request.set_command(positional.size() == 2 ? positional[1] : "");
    if (positional.size() == 2 && FindSubcommand(positional[1]) == nullptr) {
      RETURN_IF_ERROR(SubcommandHelp(positional[1]).status());
    }
    return line;
  }
  if (command == "version" || version) {
    line.action = CommandLine::Action::kVersion;
    return line;
  }
  const Subcommand* subcommand = FindSubcommand(command.empty() ? "matvec" : command);
  if (subcommand == nullptr || subcommand->forms == 0) {
    return UsageError(absl::StrCat("unknown subcommand '", command, "'", isa::DidYouMean(command, SubcommandNames()),
                                   "; subcommands: ", absl::StrJoin(SubcommandNames(), ", "),
                                   " (tsp help lists them)"));
  }
  if (help) {
    line.action = CommandLine::Action::kHelp;
    line.request.set_command(command);
    return line;
  }
  for (const RawFlag& raw_flag : raw) {
    if (FormsOfFlag(raw_flag.name) != 0) continue;
    std::string hint = isa::DidYouMean(raw_flag.name, FlagNames(subcommand->forms));
    if (hint.empty()) hint = isa::DidYouMean(raw_flag.name, FlagNames(~0u));
    return UsageError(absl::StrCat("unknown flag --", raw_flag.name, hint, " (tsp ", subcommand->name,
                                   " --help lists its flags)"));
  }
  // The form: run takes --program or --model.
  Form form = static_cast<Form>(subcommand->forms);
  if (subcommand->forms == (kRunProgram | kRunModel)) {
    bool model = false, program = false;
    for (const RawFlag& flag : raw) {
      model |= flag.name == "model";
      program |= flag.name == "program";
    }
    if (model && program) return UsageError("run takes --program=FILE (one chip) or --model=NAME (a system), not both");
    if (!model && !program) {
      return UsageError("run needs --program=FILE (a program on one chip) or --model=NAME|FILE (a model on a "
                        "system); tsp run --help lists the flags of each");
    }
    form = model ? kRunModel : kRunProgram;
  }
  line.request.set_command(command);
  std::set<std::string> given;
  for (const RawFlag& raw_flag : raw) {
    const Flag* flag = FindFlag(raw_flag.name, form);
    if (flag == nullptr) {
      const uint32_t forms = FormsOfFlag(raw_flag.name);
      return UsageError(absl::StrCat("--", raw_flag.name, " does not apply to ", FormName(form),
                                     "; it applies to: ", FormNames(forms)));
    }
    const google::protobuf::FieldDescriptor* field = TspRequest::descriptor()->FindFieldByName(flag->field);
    if (field != nullptr && !field->is_repeated() && !given.insert(flag->name).second) {
      return UsageError(absl::StrCat("--", flag->name, " is given twice; give it once"));
    }
    RETURN_IF_ERROR(SetField(*flag, raw_flag.has_value ? raw_flag.value : "true", &line.request));
  }
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("expected one subcommand, got '", absl::StrJoin(positional, "' '"),
                                   "'; flags are written --name=value"));
  }
  for (const Flag& flag : Flags()) {
    if (flag.required && (flag.forms & form) != 0 && given.count(flag.name) == 0 &&
        std::string(flag.name) != "values") {
      return UsageError(absl::StrCat(FormName(form), " needs --", flag.name, "=", flag.value, " (", flag.help,
                                     ")"));
    }
  }
  if (form == kSweep && line.request.values().empty()) return UsageError("sweep needs --values=A,B,... (the field's values)");
  return line;
}

std::string OverviewHelp() {
  std::string text =
      "tsp: a cycle-exact compiler and emulator for SRAM-only tensor-streaming chips (Groq TSP/LPU kind).\n"
      "Every figure is compiled by the scheduler and proven by the emulator: predicted == emulated cycles.\n\n"
      "Usage: tsp SUBCOMMAND [--flag=value ...]\n\nSubcommands:\n";
  for (const Subcommand& s : Subcommands()) absl::StrAppend(&text, absl::StrFormat("  %-8s %s\n", s.name, s.summary));
  absl::StrAppend(&text,
                  "\ntsp SUBCOMMAND --help (or tsp help SUBCOMMAND) lists that subcommand's flags with their defaults "
                  "and units.\nExit status: 0 done, 1 the work failed (does not fit, a hazard, a bad file), 2 a usage "
                  "error.\nExamples:\n"
                  "  tsp plan --model=llama2_70b\n"
                  "  tsp run --model=llama2_70b --chips=576\n"
                  "  tsp run --model=tiny_moe --chips=8 --mode=functional\n");
  return text;
}

absl::StatusOr<std::string> SubcommandHelp(absl::string_view command) {
  const Subcommand* subcommand = FindSubcommand(command.empty() ? "matvec" : command);
  if (subcommand == nullptr) {
    return UsageError(absl::StrCat("unknown subcommand '", command, "'", isa::DidYouMean(command, SubcommandNames()),
                                   "; subcommands: ", absl::StrJoin(SubcommandNames(), ", ")));
  }
  std::string text = absl::StrCat("tsp ", subcommand->name, ": ", subcommand->summary, "\n\nUsage: ",
                                  subcommand->usage, "\n");
  if (subcommand->forms == 0) return text;
  for (uint32_t bit = 1; bit <= kTrace; bit <<= 1) {
    if ((subcommand->forms & bit) == 0) continue;
    absl::StrAppend(&text, "\nFlags", subcommand->forms == bit ? "" : absl::StrCat(" of ", FormName(static_cast<Form>(bit))),
                    ":\n");
    for (const Flag& flag : Flags()) {
      if ((flag.forms & bit) == 0) continue;
      const std::string syntax = *flag.value == '\0' ? absl::StrCat("--", flag.name)
                                                     : absl::StrCat("--", flag.name, "=", flag.value);
      const std::string note = flag.required ? " (required)"
                               : *flag.default_text != '\0' ? absl::StrCat(" (default: ", flag.default_text, ")")
                                                            : "";
      absl::StrAppend(&text, HelpLine(syntax, absl::StrCat(flag.help, note)));
    }
    absl::StrAppend(&text, HelpLine("--help", "this text"));
  }
  return text;
}

std::string VersionText() {
  const std::string commit = kTspCommit[0] == '\0' ? "unknown" : kTspCommit;
  return absl::StrCat("tsp ", kTspVersion, ", commit ", commit,
                      kTspCommitDate[0] == '\0' ? "" : absl::StrCat(" (", kTspCommitDate, ")"), ", ",
                      kTspBuildMode, " build\n");
}

}  // namespace tsp::tools
