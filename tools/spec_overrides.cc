#include "tools/spec_overrides.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"
#include "tools/spec_overlay.pb.h"

namespace tsp::tools {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string FieldNames(const google::protobuf::Descriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.field_count(); ++i) names.push_back(type.field(i)->name());
  return absl::StrJoin(names, ", ");
}

absl::Status SetScalar(Message* message, const FieldDescriptor& field, absl::string_view value,
                       absl::string_view assignment) {
  const google::protobuf::Reflection& reflection = *message->GetReflection();
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set ", assignment, ": '", value, "' is not ", what, " (", field.full_name(), ")"));
  };
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("a 32-bit integer");
      reflection.SetInt32(message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      reflection.SetInt64(message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      reflection.SetDouble(message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("true or false");
      reflection.SetBool(message, &field, v);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING:
      reflection.SetString(message, &field, std::string(value));
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* v = field.enum_type()->FindValueByName(std::string(value));
      if (v == nullptr) return bad(absl::StrCat("a value of ", field.enum_type()->name()));
      reflection.SetEnum(message, &field, v);
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("--set ", assignment, ": ", field.full_name(), " cannot be set from the command line"));
  }
}

}  // namespace

absl::Status ApplyOverride(absl::string_view assignment, isa::ChipSpec* chip, pipeline::SystemSpec* system) {
  const size_t equals = assignment.find('=');
  if (equals == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--set ", assignment, ": expected chip.<field>=<value> or system.<field>=<value>"));
  }
  const absl::string_view path = assignment.substr(0, equals);
  const absl::string_view value = assignment.substr(equals + 1);
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  Message* message = nullptr;
  if (parts.front() == "chip") message = chip;
  if (parts.front() == "system") message = system;
  if (message == nullptr || parts.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": the path must start with chip. or system."));
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    const google::protobuf::Descriptor& type = *message->GetDescriptor();
    const FieldDescriptor* field = type.FindFieldByName(std::string(parts[i]));
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": ", type.full_name(), " has no field '",
                                                     parts[i], "' (fields: ", FieldNames(type), ")"));
    }
    if (field->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": ", field->full_name(),
                                                     " is a list; edit it with --overlay=FILE"));
    }
    const bool last = i + 1 == parts.size();
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!last) {
        return absl::InvalidArgumentError(
            absl::StrCat("--set ", assignment, ": ", field->full_name(), " has no fields"));
      }
      return SetScalar(message, *field, value, assignment);
    }
    message = message->GetReflection()->MutableMessage(message, field);
    if (last) {
      // A sourced figure: its value, and a source saying it is a what-if.
      const google::protobuf::Descriptor& figure = *message->GetDescriptor();
      const FieldDescriptor* value_field = figure.FindFieldByName("value");
      const FieldDescriptor* source_field = figure.FindFieldByName("source");
      if (value_field == nullptr || source_field == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("--set ", assignment, ": ", field->full_name(),
                                                       " is a message (fields: ", FieldNames(figure), ")"));
      }
      RETURN_IF_ERROR(SetScalar(message, *value_field, value, assignment));
      message->GetReflection()->SetString(message, source_field,
                                          absl::StrCat("ASSUMED: what-if, --set ", assignment));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyOverrides(const std::vector<std::string>& assignments, isa::ChipSpec* chip,
                            pipeline::SystemSpec* system) {
  for (const std::string& assignment : assignments) RETURN_IF_ERROR(ApplyOverride(assignment, chip, system));
  return absl::OkStatus();
}

absl::Status ApplyOverlay(absl::string_view path, isa::ChipSpec* chip, pipeline::SystemSpec* system) {
  SpecOverlay overlay;
  RETURN_IF_ERROR(isa::LoadTextProtoFile(path, &overlay));
  chip->MergeFrom(overlay.chip());
  system->MergeFrom(overlay.system());
  return absl::OkStatus();
}

}  // namespace tsp::tools
