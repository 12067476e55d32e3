#ifndef TSP_SCHEDULER_MODEL_RUN_H_
#define TSP_SCHEDULER_MODEL_RUN_H_

// A model decoded on a system, timed by compiling and emulating its stage
// units (DecoderCompiler::CompileStageUnit): a token's cycles are the sum of
// its stages' shares, each unit's prediction checked against the emulator.
// Stages whose units are the same program up to chip ids (same layer count,
// same kind, same route shapes to the previous stage and for the token's
// return) are compiled and emulated once.
//
// Reported: one user's decode latency per token at a KV length, with the
// host transfer of the token (SystemSpec: PCIe latency and bandwidth); time
// to the first token of a P-token prompt run token by token through the
// stages (one unit per attention-tile count, every position's cycles
// summed); the users whose KV caches fit; and the aggregate rate of users
// pipelined through the stages (one token per stage at a time, a stage
// passing its residual on when the slowest stage is done).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "models/model_config.pb.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"
#include "scheduler/partitioner.h"
#include "scheduler/run_report.pb.h"

namespace tsp::scheduler {

// What makes two stage units the same program up to chip ids: the stage's
// kind (first, middle, last), its layers, the attention tiles at the
// position (`tiles`), and the shapes of its routes (to the previous stage,
// within the stage, and the token's way back to the first stage).
std::string StageUnitSignature(const DecoderPartition& partition, const pipeline::Topology& topology, int stage,
                               int64_t tiles);

// Stage units timed by earlier runs of the same partition and options
// (opaque; share one between runs to skip units already timed).
struct UnitCache;
// An empty cache.
std::shared_ptr<UnitCache> NewUnitCache();

struct ModelRunOptions {
  models::NumberFormat format = models::NumberFormat::kInt8;
  int64_t context_tokens = 0;  // KV cache per user; 0: the model's.
  int64_t prompt_tokens = 2048;  // 0: decode only, no time to first token.
  int threads = 2;
  // Off: units are compiled only; the figures are the compiler's predictions
  // (emulated cycles and busy shares reported as 0).
  bool emulate = true;
  // Each unit's programs checked by the independent verifier
  // (pipeline/system_verifier.h: every chip and the links) from the programs
  // alone: before they are emulated (sharing the emulator's decoding; its
  // seconds are then part of emulate_seconds), or, for units compiled only,
  // instead, so that no figure rests on a program nothing checked.
  bool verify = true;
  // Units of earlier runs of this same partition (a unit compiled only is
  // compiled again when this run emulates).
  std::shared_ptr<UnitCache> cache;
  // Called with a line of progress now and then (not part of the report).
  std::function<void(const std::string&)> progress;
};

// Compiles (and, with options.emulate, emulates) the choice's distinct stage
// units and reports the model's per-user speed, users, time to first token
// and the predicted and emulated cycles a token. Errors: the choice does not
// compile (its message names the stage and why), or a unit's prediction and
// emulation disagree (an internal error: a bug).
absl::StatusOr<RunReport> RunModel(const models::ModelConfig& config, const isa::ChipModel& chip,
                                   const pipeline::SystemModel& system, const pipeline::Topology& topology,
                                   const PartitionChoice& choice, const ModelRunOptions& options);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_MODEL_RUN_H_
