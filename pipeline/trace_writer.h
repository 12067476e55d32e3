#ifndef TSP_PIPELINE_TRACE_WRITER_H_
#define TSP_PIPELINE_TRACE_WRITER_H_

// Chrome trace-event / Perfetto JSON of scheduled chip programs: a process
// per chip, a track per instruction queue (detail kInstructions: one slice
// per instruction or Repeat block, its text form as the name, its operands as
// args) or per kind of slice (detail kUnits: the unit's busy intervals,
// merged across gaps of up to `merge_gap_cycles`); link transfers as flows
// from each Send to the Receive that takes it (the k-th Send on a port pairs
// with the k-th Receive on its peer, as links and ports keep order); async
// spans for users' tokens. Vectors sent back to back on a port (each within
// merge_gap_cycles of the last, and so received) are one flow, named with
// their count. Time is chip cycles at the clock, in microseconds.
// Events are written as they are added, each track's in cycle order.

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"
#include "pipeline/topology.h"

namespace tsp::pipeline {

// A unit's name in traces: the slice kind's, "links" for the C2C slices.
absl::string_view TraceUnitName(isa::SliceKind kind);
// `text` as a JSON string literal, also safe inside an HTML <script> (every
// control character and "<" escaped).
std::string JsonQuoted(absl::string_view text);

struct TraceOptions {
  enum class Detail { kInstructions, kUnits };
  Detail detail = Detail::kUnits;
  // Busy intervals of a unit closer than this merge into one slice (units
  // detail); so do vectors sent on a port this close into one flow.
  int64_t merge_gap_cycles = 64;
  // Only these chips (empty: all) and cycles [first_cycle, last_cycle)
  // (last_cycle 0: no end).
  std::set<int> chips;
  int64_t first_cycle = 0;
  int64_t last_cycle = 0;
};

class TraceWriter {
 public:
  TraceWriter(std::ostream& out, const isa::ChipModel& chip, const Topology& topology, TraceOptions options);

  // A chip's program, its cycles shifted by `offset` (for stage units laid
  // one after another). A program added again (the same object, e.g. a
  // stage unit repeated on other chips) is read once.
  void AddProgram(int chip, const isa::Program& program, int64_t offset);
  // An async span (e.g. a user's token in a pipeline stage) on a chip's process.
  void AddSpan(const std::string& name, const std::string& category, int64_t id, int chip, int64_t first_cycle,
               int64_t end_cycle);
  // Pairs the Sends and Receives added so far into flows and closes the JSON.
  absl::Status Finish();

  int64_t events() const { return events_; }

  // What a program shows, at offset 0 (tools that draw other views read
  // these through placed()).
  struct Endpoint {
    int chip;
    int track;
    int64_t cycle;
  };
  // Slices per track, and the Sends and Receives per chip port.
  struct Slice {
    int track;
    int64_t start;
    int64_t end;
    int64_t count;        // Instructions (Repeat blocks count each issue).
    int64_t busy;         // Units: queue-busy cycles inside.
    std::string name;     // Instructions: "Read x10"; units: the kind.
    std::string text;     // Instructions: the text form.
  };
  struct Summary {
    std::vector<Slice> slices;  // Each track's in order.
    std::vector<std::pair<int, Endpoint>> sends, receives;  // (port, endpoint with chip unset)
  };
  struct Placed {
    int chip;
    const Summary* summary;
    int64_t offset;
  };
  struct Span {
    std::string name;
    int64_t id;
    int chip;
    int64_t first_cycle;
    int64_t end_cycle;
  };
  // Every program and span added, in order (chips outside the selection left out).
  const std::vector<Placed>& placed() const { return placed_; }
  const std::vector<Span>& spans() const { return spans_; }
  // The name of a track of this detail (a queue, or a kind of slice).
  std::string TrackName(int track) const;

 private:
  Summary Summarize(const isa::Program& program) const;
  void Event(const std::string& json);
  void NameProcess(int chip);
  bool Shown(int chip, int64_t cycle) const;
  double Micros(int64_t cycle) const;

  std::ostream& out_;
  const isa::ChipModel& chip_;
  const Topology& topology_;
  TraceOptions options_;
  int64_t events_ = 0;
  std::set<int> named_;
  std::map<std::pair<int, int>, int> port_of_c2c_;  // (C2C slice index, port in slice) -> chip port.
  std::map<int, int> c2c_index_;                      // Slice position -> C2C slice index.
  // Per (chip, port), in cycle order.
  std::map<std::pair<int, int>, std::vector<Endpoint>> sends_, receives_;
  std::map<const isa::Program*, Summary> summaries_;
  std::vector<Placed> placed_;
  std::vector<Span> spans_;
};

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_TRACE_WRITER_H_
