#ifndef TSP_TOOLS_SPEC_OVERRIDES_H_
#define TSP_TOOLS_SPEC_OVERRIDES_H_

// What-if edits of the hardware specs from the command line:
// `chip.<field path>=<value>` or `system.<field path>=<value>`, e.g.
// `chip.mem.slice_bytes=4194304` or `system.link_latency_cycles=300`. A
// sourced figure (tsp.isa.Figure, tsp.pipeline.RealFigure) gets the value and
// the source "ASSUMED: what-if ..." so that every figure keeps a source. An
// overlay is a textproto of tsp.tools.SpecOverlay merged over both specs.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "isa/chip_spec.pb.h"
#include "pipeline/system_spec.pb.h"

namespace tsp::tools {

absl::Status ApplyOverride(absl::string_view assignment, isa::ChipSpec* chip, pipeline::SystemSpec* system);
absl::Status ApplyOverrides(const std::vector<std::string>& assignments, isa::ChipSpec* chip,
                            pipeline::SystemSpec* system);
absl::Status ApplyOverlay(absl::string_view path, isa::ChipSpec* chip, pipeline::SystemSpec* system);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_SPEC_OVERRIDES_H_
