#ifndef TSP_SCHEDULER_DECODE_SESSION_H_
#define TSP_SCHEDULER_DECODE_SESSION_H_

// Runs compiled decode steps back to back on the system emulator, as the
// chips would: what a step leaves in SRAM (KV caches, the next token in the
// token slots) is the next step's starting SRAM. The host only writes the
// first token. Each step is compiled for its position, run, and its
// predicted last event cycle compared with the emulated one.

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/system_emulator.h"
#include "scheduler/decoder_compiler.h"
#include "scheduler/lowering/kv_cache_images.h"

namespace tsp::scheduler {

struct StepResult {
  int64_t position = 0;
  int64_t predicted_last_cycle = 0;
  int64_t emulated_last_cycle = 0;
  int64_t emulated_completion_cycle = 0;
  int64_t instructions_issued = 0;
  std::vector<float> logits;  // Functional runs: the whole vocabulary.
  int64_t next_token = -1;    // Functional runs: what the chips chose.
  double compile_seconds = 0;  // Wall time, for reports (never asserted on).
  double emulate_seconds = 0;
};

// SRAM carried between steps: (chip, slice, address) -> vectors.
using CarriedSram = std::map<std::tuple<int, int, int64_t>, std::string>;

// One run of a compiled step (of one user's token or a micro-batch's).
struct StepRun {
  int64_t emulated_last_cycle = 0;
  int64_t emulated_completion_cycle = 0;
  int64_t instructions_issued = 0;
  // Functional runs, by batch member: the whole vocabulary's logits and the
  // token the chips chose.
  std::vector<std::vector<float>> logits;
  std::vector<int64_t> next_tokens;
};

// Runs `step` on the SRAM `carried` holds, member m's token slots first set
// to host_tokens[m] where that is >= 0 (functional runs); `carried` becomes
// what the step leaves behind.
absl::StatusOr<StepRun> RunCompiledStep(CompiledStep& step, const std::vector<int64_t>& host_tokens,
                                        const isa::ChipModel& chip, const pipeline::SystemModel& system,
                                        const pipeline::Topology& topology, const pipeline::SystemRunOptions& options,
                                        CarriedSram& carried);

class DecodeSession {
 public:
  DecodeSession(const DecoderCompiler& compiler, const isa::ChipModel& chip,
                const pipeline::SystemModel& system, const pipeline::Topology& topology,
                pipeline::SystemRunOptions options);

  // Runs the next position. `host_token` >= 0 is written into the token
  // slots by the host first (a prompt token); -1 runs the token the previous
  // step chose.
  absl::StatusOr<StepResult> Step(int64_t host_token);
  // Starts a functional session at `position` instead of 0, its KV caches
  // holding tokens [0, position) as `stored` gives them (the host writes
  // them, as it writes the first token): checks a step deep in the context
  // without running every step before it. Only before the first Step.
  absl::Status StartAt(int64_t position, const lowering::StoredKv& stored);
  int64_t position() const { return position_; }

 private:
  const DecoderCompiler& compiler_;
  const isa::ChipModel& chip_;
  const pipeline::SystemModel& system_;
  const pipeline::Topology& topology_;
  pipeline::SystemRunOptions options_;
  int64_t position_ = 0;
  bool token_in_slot_ = false;  // Whether a step has left its next token.
  CarriedSram carried_;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_DECODE_SESSION_H_
