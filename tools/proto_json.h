#ifndef TSP_TOOLS_PROTO_JSON_H_
#define TSP_TOOLS_PROTO_JSON_H_

// A report message as the JSON the tools print: field names as in the
// .proto, every field present (zeros too) so that readers find every key.

#include <string>

#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace tsp::tools {

inline std::string ProtoJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  print.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  return json;
}

}  // namespace tsp::tools

#endif  // TSP_TOOLS_PROTO_JSON_H_
