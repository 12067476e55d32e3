#ifndef TSP_PIPELINE_SYSTEM_MODEL_H_
#define TSP_PIPELINE_SYSTEM_MODEL_H_

// A validated SystemSpec and the figures derived from it.

#include <cstdint>

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

absl::StatusOr<SystemModel> LoadSystemModel(absl::string_view path, const isa::ChipModel& chip);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_SYSTEM_MODEL_H_
