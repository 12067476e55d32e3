#ifndef TSP_ISA_SPEC_LOADER_H_
#define TSP_ISA_SPEC_LOADER_H_

// Reading textproto files with errors that name the file, line and column.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "isa/chip_model.h"

namespace tsp::isa {

// Parses `text` into `message`; `origin` names the text in errors.
absl::Status ParseTextProto(absl::string_view text, absl::string_view origin,
                            google::protobuf::Message* message);

absl::StatusOr<std::string> ReadFile(absl::string_view path);

// Reads and parses a textproto file.
absl::Status LoadTextProtoFile(absl::string_view path, google::protobuf::Message* message);

// Loads and validates a ChipSpec textproto.
absl::StatusOr<ChipModel> LoadChipModel(absl::string_view path);

// The default chip (isa/specs/tsp_v1.textproto, compiled into the binary).
absl::StatusOr<ChipModel> DefaultChipModel();
absl::string_view DefaultChipSpecText();

}  // namespace tsp::isa

#endif  // TSP_ISA_SPEC_LOADER_H_
