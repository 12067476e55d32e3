#include "tools/proto_json.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace tsp::tools {
namespace {

using google::protobuf::FieldDescriptor;
using Json = nlohmann::ordered_json;

Json MessageJson(const google::protobuf::Message& message);

Json Value(const google::protobuf::Message& message, const FieldDescriptor& field, int index) {
  const google::protobuf::Reflection& r = *message.GetReflection();
  const bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return repeated ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field);
    case FieldDescriptor::CPPTYPE_INT64:
      return repeated ? r.GetRepeatedInt64(message, &field, index) : r.GetInt64(message, &field);
    case FieldDescriptor::CPPTYPE_UINT32:
      return repeated ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return repeated ? r.GetRepeatedUInt64(message, &field, index) : r.GetUInt64(message, &field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return repeated ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return repeated ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return repeated ? r.GetRepeatedBool(message, &field, index) : r.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? r.GetRepeatedEnum(message, &field, index) : r.GetEnum(message, &field))->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r.GetRepeatedString(message, &field, index) : r.GetString(message, &field);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageJson(repeated ? r.GetRepeatedMessage(message, &field, index) : r.GetMessage(message, &field));
  }
  return nullptr;
}

Json MessageJson(const google::protobuf::Message& message) {
  Json object = Json::object();
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    if (field.is_repeated()) {
      Json list = Json::array();
      const int size = message.GetReflection()->FieldSize(message, &field);
      for (int k = 0; k < size; ++k) list.push_back(Value(message, field, k));
      object[field.name()] = std::move(list);
    } else if (field.has_presence() && field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE &&
               !message.GetReflection()->HasField(message, &field)) {
      object[field.name()] = nullptr;  // An optional field not set.
    } else {
      object[field.name()] = Value(message, field, 0);
    }
  }
  return object;
}

}  // namespace

std::string ProtoJson(const google::protobuf::Message& message) {
  Json object = Json::object();
  object["report"] = message.GetDescriptor()->full_name();
  Json fields = MessageJson(message);
  for (auto& [key, value] : fields.items()) object[key] = std::move(value);
  return object.dump();
}

absl::Status ParseProtoJson(const std::string& json, google::protobuf::Message* message) {
  const std::string type = message->GetDescriptor()->full_name();
  Json object = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON object of ", type));
  }
  if (object.contains("report")) {
    if (!object["report"].is_string() || object["report"].get<std::string>() != type) {
      return absl::InvalidArgumentError(absl::StrCat("the JSON is a ", object["report"].dump(), ", not a ", type));
    }
    object.erase("report");
  }
  const google::protobuf::util::Status status =
      google::protobuf::util::JsonStringToMessage(object.dump(), message, google::protobuf::util::JsonParseOptions());
  if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat(type, ": ", std::string(status.message())));
  return absl::OkStatus();
}

}  // namespace tsp::tools
