#ifndef TSP_TOOLS_COMMAND_LINE_H_
#define TSP_TOOLS_COMMAND_LINE_H_

// The `tsp` command line: its subcommands and their flags in one table (each
// flag with the subcommands it applies to, its value, default and unit), the
// help and version texts drawn from it, and the parsing of the arguments into
// a TspRequest. Every mistake on the command line is a usage error
// (tools/usage_error.h: the binary exits 2), found before any work: an unknown
// subcommand or flag (with the nearest names), a flag that does not apply to
// the subcommand (naming those it applies to), a value that does not parse, is
// not one of the choices or is out of range, a flag given twice.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

struct CommandLine {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  // kRun: what to do. kHelp: `request.command()` is the subcommand whose
  // help is asked ("" for the overview).
  TspRequest request;
};

// Parses the arguments after the program name: `[SUBCOMMAND] [--flag=value |
// --flag value | --bool_flag]...` (one dash works too). `tsp`, `tsp --rows=N`
// run the matvec demo; `help [SUBCOMMAND]`, `--help`, `-h` ask for help,
// `version`, `--version` for the version.
absl::StatusOr<CommandLine> ParseCommandLine(const std::vector<std::string>& args);

// The overview: what tsp is, each subcommand with one line, where to look
// next.
std::string OverviewHelp();

// One subcommand's usage and its flags only, with values, defaults and units;
// a usage error for an unknown subcommand.
absl::StatusOr<std::string> SubcommandHelp(absl::string_view command);

// "tsp <version>, commit <hash> (<date>), <mode> build (...)": the commit the
// binary was built from (Bazel's workspace status) and the compilation mode
// as built, not as assumed.
std::string VersionText();

// The subcommands, in the order the overview lists them.
std::vector<std::string> SubcommandNames();

}  // namespace tsp::tools

#endif  // TSP_TOOLS_COMMAND_LINE_H_
