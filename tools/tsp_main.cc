// tsp: the cycle-exact compiler and emulator of tensor-streaming chips. `tsp
// help` lists the subcommands; tools/command_line.cc holds every flag.
//
// Exit status: 0 done; 1 the work failed (a model that does not fit, a
// hazard, a file that does not parse, a check that differs); 2 a usage error
// (tools/usage_error.h). Errors are one line on stderr.

#include <iostream>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "tools/command_line.h"
#include "tools/tsp_cli.h"
#include "tools/usage_error.h"

int main(int argc, char** argv) {
  // Errors reach the user as one line from the returned status; protobuf's
  // own log lines (e.g. on invalid UTF-8 in a binary Program) would add more.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<tsp::tools::CommandLine> line = tsp::tools::ParseCommandLine(args);
  if (!line.ok()) {
    std::cerr << "tsp: " << line.status().message() << "\n";
    return 2;
  }
  switch (line->action) {
    case tsp::tools::CommandLine::Action::kHelp: {
      if (line->request.command().empty()) {
        std::cout << tsp::tools::OverviewHelp();
        return 0;
      }
      absl::StatusOr<std::string> help = tsp::tools::SubcommandHelp(line->request.command());
      if (!help.ok()) {
        std::cerr << "tsp: " << help.status().message() << "\n";
        return 2;
      }
      std::cout << *help;
      return 0;
    }
    case tsp::tools::CommandLine::Action::kVersion:
      std::cout << tsp::tools::VersionText();
      return 0;
    case tsp::tools::CommandLine::Action::kRun:
      break;
  }
  const absl::Status status = tsp::tools::RealMain(line->request, std::cout);
  if (!status.ok()) {
    std::cerr << "tsp: " << status.message() << "\n";
    return tsp::tools::IsUsageError(status) ? 2 : 1;
  }
  return 0;
}
