#ifndef TSP_TOOLS_TRACE_COMMAND_H_
#define TSP_TOOLS_TRACE_COMMAND_H_

// `tsp trace --model=... --out=FILE.json`: one decode step of a model laid
// over the system, as a Chrome trace-event / Perfetto JSON
// (pipeline/trace_writer.h). Stage units are compiled once per distinct
// unit (DecoderCompiler::CompileStageUnit) and laid one after another, each
// stage's chips in their own processes; the token (and the users pipelined
// behind it, one beat apart) as async spans through the stages.

#include <ostream>

#include "absl/status/status.h"
#include "tools/tsp_request.pb.h"

namespace tsp::tools {

absl::Status TraceCommand(const TspRequest& request, std::ostream& out, std::ostream& progress);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_TRACE_COMMAND_H_
