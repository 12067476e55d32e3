#ifndef TSP_PIPELINE_SYSTEM_MODEL_H_
#define TSP_PIPELINE_SYSTEM_MODEL_H_

// A validated SystemSpec and the figures derived from it.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "isa/chip_model.h"
#include "pipeline/system_spec.pb.h"

namespace tsp::pipeline {

class SystemModel {
 public:
  // Validates `spec` against the chip it is built from: every figure present,
  // positive and sourced; the node fully connected by its local links; no more
  // links per chip than the chip has; the topology's links adding up.
  static absl::StatusOr<SystemModel> Create(const SystemSpec& spec, const isa::ChipModel& chip);

  const SystemSpec& spec() const { return spec_; }
  int64_t chips() const { return spec_.nodes().value() * spec_.chips_per_node().value(); }
  int64_t racks() const;
  // Cycles a link needs to put one vector on the wire, at the chip clock,
  // rounded up: wire bytes x 8 x clock / (lanes x lane rate).
  int64_t link_serialization_cycles() const { return link_serialization_cycles_; }

 private:
  SystemSpec spec_;
  int64_t link_serialization_cycles_ = 0;
};

// The system a tool uses when none is named.
inline constexpr char kDefaultSystemName[] = "groq_576";

// Names of the systems of pipeline/specs/*.textproto, compiled into binaries
// (so that tools run from any directory), sorted.
std::vector<std::string> BuiltinSystemNames();

// A built-in system by name (e.g. "groq_576"), or a path to a SystemSpec
// textproto (isa::IsPath); not yet validated (SystemModel::Create does that).
// An unknown name is NotFound, with the nearest names and the list.
absl::Status LoadSystemSpec(absl::string_view name_or_path, SystemSpec* spec);

// LoadSystemSpec, then SystemModel::Create; errors name the file or system.
absl::StatusOr<SystemModel> LoadSystemModel(absl::string_view name_or_path, const isa::ChipModel& chip);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYSTEM_MODEL_H_
