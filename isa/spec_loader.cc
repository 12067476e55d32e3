#include "isa/spec_loader.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "isa/status_macros.h"

extern const char kTspDefaultChipSpecText[];

namespace tsp::isa {
namespace {

// Keeps the first parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (!has_error_) {
      has_error_ = true;
      // The parser counts from zero; editors count from one.
      error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }
  bool has_error() const { return has_error_; }
  const std::string& error() const { return error_; }

 private:
  bool has_error_ = false;
  std::string error_;
};

}  // namespace

absl::Status ParseTextProto(absl::string_view text, absl::string_view origin,
                            google::protobuf::Message* message) {
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), message)) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ":", errors.has_error() ? errors.error() : "could not parse", " (expected a ",
        message->GetTypeName(), " textproto)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(absl::string_view path) {
  std::ifstream file{std::string(path), std::ios::binary};
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) return absl::DataLossError(absl::StrCat("error reading '", path, "'"));
  return contents.str();
}

absl::Status LoadTextProtoFile(absl::string_view path, google::protobuf::Message* message) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseTextProto(text, path, message);
}

absl::StatusOr<ChipModel> LoadChipModel(absl::string_view path) {
  ChipSpec spec;
  RETURN_IF_ERROR(LoadTextProtoFile(path, &spec));
  absl::StatusOr<ChipModel> model = ChipModel::Create(spec);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat(path, ": ", model.status().message()));
  }
  return model;
}

absl::string_view DefaultChipSpecText() { return kTspDefaultChipSpecText; }

absl::StatusOr<ChipModel> DefaultChipModel() {
  ChipSpec spec;
  RETURN_IF_ERROR(ParseTextProto(DefaultChipSpecText(), "isa/specs/tsp_v1.textproto", &spec));
  return ChipModel::Create(spec);
}

}  // namespace tsp::isa
