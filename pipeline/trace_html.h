#ifndef TSP_PIPELINE_TRACE_HTML_H_
#define TSP_PIPELINE_TRACE_HTML_H_

// One self-contained HTML page of a traced step (no network, no external
// scripts or fonts): a summary (cycles, time, tokens/s, busy share per
// unit), a system heatmap of chips x time for the unit chosen (MEM, VXM,
// MXM, SXM, links), the pipeline wavefront of users' tokens through the
// stages, the critical path (per stage, the chip that finishes it last), and
// a chip view (tracks x cycles, wheel to zoom, drag to pan, hover for the
// instruction) for the chip clicked in the heatmap: queue by queue for the
// chips traced in detail, unit by unit from the heatmap for the others. The
// system view is aggregated into time bins, so 576 chips stay light.

#include <cstdint>
#include <string>
#include <vector>

#include "isa/chip_model.h"
#include "pipeline/trace_writer.h"

namespace tsp::pipeline {

struct TokenSpan {
  int user = 0;
  int stage = 0;
  int64_t first_cycle = 0;
  int64_t end_cycle = 0;
};

struct TraceHtmlInput {
  std::string title;
  int64_t cycles = 0;  // The step's.
  double tokens_per_s_per_user = 0;
  std::vector<std::vector<int>> stage_chips;
  std::vector<TokenSpan> tokens;
  const TraceWriter* units = nullptr;   // Units detail, the chips shown.
  const TraceWriter* detail = nullptr;  // Instruction detail for a few chips, or null.
  int bins = 300;
};

std::string TraceHtml(const isa::ChipModel& chip, const TraceHtmlInput& input);

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_TRACE_HTML_H_
