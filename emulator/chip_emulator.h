#ifndef TSP_EMULATOR_CHIP_EMULATOR_H_
#define TSP_EMULATOR_CHIP_EMULATOR_H_

// Runs one chip's program cycle-deterministically (isa/README.md describes the
// semantics and timing rules this implements). Event-driven: time jumps from
// one issue or result to the next, so idle cycles cost nothing, and a Repeat
// is expanded one repetition at a time (timing-only runs put stream values
// on early and take a Read's Repeat as one batch: see
// RunOptions::early_stream_values). Within a cycle, results land first (in
// the order their instructions issued), then queues issue in queue order;
// hence an instruction may read a value that lands in its own issue cycle.
//
// Every hazard stops the run with an error naming chip, queue, cycle,
// instruction and cause (absl::StatusCode::kFailedPrecondition); a program
// that does not fit the chip is rejected before running (kInvalidArgument).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "emulator/decoded_program.h"
#include "emulator/link_vectors.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

enum class TraceKind { kIssue, kResult };

struct TraceEvent {
  int64_t cycle;
  TraceKind kind;
  int queue;
  int instruction;     // Index in the queue's program.
  int64_t repetition;  // -1, or which repetition of a Repeat.
  bool operator==(const TraceEvent& other) const {
    return cycle == other.cycle && kind == other.kind && queue == other.queue &&
           instruction == other.instruction && repetition == other.repetition;
  }
};

struct RunOptions {
  bool functional = true;      // false: timing-only, no values.
  bool record_trace = false;
  std::string chip_label = "chip 0";
  int64_t cycle_limit = int64_t{1} << 40;  // A run past this cycle is an error.
  std::vector<InboundVector> inbound;
  // Timing-only runs without a trace put a result on the streams when its
  // instruction issues rather than as an event when it lands, and take a
  // Read's Repeat (one repetition a cycle, within one bank) as one batch whose
  // bank reads and stream values are all recorded when it issues: most of a
  // weight-streaming program's events. Results are the same (a stream value
  // is only ever read at or after its landing cycle); a run that fails this
  // way is run again event by event (Run, or pipeline::SystemEmulator), so
  // its error is exactly that run's. false: always event by event (tests
  // compare the two).
  bool early_stream_values = true;
  // Checks the decoded program with the independent verifier
  // (emulator/program_verifier.h) before running it: a program it rejects
  // does not run, and Create returns the verifier's error.
  bool verify = false;
};

struct RunResult {
  // Last cycle (at superlane 0) in which an instruction issued or a result
  // landed; -1 for an empty program.
  int64_t last_event_cycle = -1;
  // Cycles from cycle 0 until the last superlane has finished:
  // last_event_cycle + (superlanes - 1) * skew + 1; 0 for an empty program.
  int64_t completion_cycle = 0;
  int64_t instructions_issued = 0;  // Each repetition of a Repeat counts.
  std::vector<int64_t> busy_cycles;  // Per slice: cycles in which it issued work.
  std::vector<TraceEvent> trace;
  std::vector<OutboundVector> sent;
};

class ChipEmulator {
 public:
  // Decodes `program` for `chip` and loads its memory images. `chip` and
  // `program` must outlive the emulator.
  static absl::StatusOr<std::unique_ptr<ChipEmulator>> Create(const isa::ChipModel& chip,
                                                              const isa::Program& program,
                                                              RunOptions options);

  // Runs to the end of the program and finishes. Call once.
  absl::StatusOr<RunResult> Run();

  // Stepping, for lockstep multi-chip runs: the next cycle with an issue or a
  // result (nullopt when the program is done); processing of every event up to
  // and including `horizon`; vectors arriving from links, which must arrive
  // after the cycle the chip has advanced to; the vectors sent since the last
  // call, in departure order; and the final checks and result.
  std::optional<int64_t> NextEventCycle();
  absl::Status AdvanceTo(int64_t horizon);
  absl::Status AddInbound(const InboundVector& vector);
  std::vector<OutboundVector> TakeSent();
  absl::StatusOr<RunResult> Finish();
  // Whether this run puts stream values on early (RunOptions::early_stream_values
  // in effect): a failed run is then run again without, for its exact error.
  bool puts_stream_values_early() const;

  // The program as decoded for the chip (what the verifier checks).
  const DecodedProgram& decoded_program() const;

  // After Run, in functional mode: `vectors` consecutive SRAM vectors.
  absl::StatusOr<std::string> ReadMemory(absl::string_view slice, int64_t address,
                                         int64_t vectors) const;

  // One line per trace event: "cycle queue issue|result `instruction`".
  std::string FormatTrace(const std::vector<TraceEvent>& trace) const;

  ~ChipEmulator();

 private:
  class Impl;
  ChipEmulator() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_CHIP_EMULATOR_H_
