#ifndef TSP_TOOLS_PROTO_JSON_H_
#define TSP_TOOLS_PROTO_JSON_H_

// A report message as the JSON the tools print, for programs to read: field
// names as in the .proto (whose comments are the schema, units in the names),
// every field present (zeros, empty strings and lists too), every number a
// JSON number (protobuf's own printer quotes 64-bit integers), enums by name.
// The object starts with "report": the message's full name, so a reader knows
// which .proto describes it. nlohmann-json (Debian's nlohmann-json3-dev) does
// the writing.

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace tsp::tools {

// One line of JSON, no trailing newline.
std::string ProtoJson(const google::protobuf::Message& message);

// Reads such JSON back into `message`: its "report" must name the message's
// type; every other key must be one of its fields. The error says which.
absl::Status ParseProtoJson(const std::string& json, google::protobuf::Message* message);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_PROTO_JSON_H_
