#ifndef TSP_SCHEDULER_COMPILED_STEP_H_
#define TSP_SCHEDULER_COMPILED_STEP_H_

// What compiling a decode step (or one stage of it) gives: the chips'
// scheduled programs, the predicted cycles, the SRAM the step leaves for the
// next one and where its results are; and what a stage's chips keep in SRAM.

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "isa/chip_programs.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler {

// SRAM one chip of a stage needs, from the compiler's own allocation.
struct StageFootprint {
  int stage = 0;
  int layers = 0;
  // Matrices and KV caches, in the streamed-matrix slices: addresses used on
  // each side, and bytes as twice the fuller side (the sides are equal).
  int64_t weight_addresses[2] = {0, 0};
  int64_t weight_bytes = 0;
  // The weight slices and, when matrices spread, the activation slices above
  // the addresses kept for activations (VectorOps::activation_reserve()).
  int64_t weight_capacity = 0;
  // Whether matrices spread over the activation slices (they exceed the
  // weight slices), and the bytes of tiles that found no room even so.
  bool spread = false;
  int64_t weight_unplaced_bytes = 0;
  int64_t activation_bytes = 0;  // Vectors (constants, activations), in the other slices.
  int64_t activation_capacity = 0;
  int64_t bytes_short() const {
    return std::max({int64_t{0}, weight_bytes - weight_capacity, weight_unplaced_bytes}) +
           std::max<int64_t>(0, activation_bytes - activation_capacity);
  }
};

// Vectors of SRAM that a step leaves for the next one.
struct MemoryRegion {
  int chip = 0;
  int slice = 0;
  int64_t address = 0;
  int64_t vectors = 0;
};

struct LogitsShard {
  int chip = 0;
  int member = 0;           // The batch member whose logits these are.
  int64_t first_token = 0;  // Vocabulary index of lane 0 of vectors[0].
  int64_t tokens = 0;
  std::vector<Vec> vectors;  // fp32, 320 tokens each.
};

// Where a batch member's token waits on a chip of the first stage: the
// embedding reads it, the last stage's argmax writes the next one there.
struct TokenSlot {
  int chip = 0;
  Vec slot;  // fp32, the token id in every lane.
  int member = 0;
};

struct CompiledStep {
  isa::ChipPrograms programs;
  int64_t predicted_last_cycle = 0;
  int64_t instructions = 0;                      // Scheduled instructions (a Repeat counts once).
  std::vector<MemoryRegion> persistent;          // KV caches and token slots.
  std::vector<TokenSlot> token_slots;            // Stage 0's, of every batch member.
  std::vector<LogitsShard> logits;
  // Per layer (in model order): the cycle by which its last result landed.
  // The first entry's predecessor is `embedding_end_cycle`.
  int64_t embedding_end_cycle = 0;
  std::vector<int64_t> layer_end_cycles;
  // Stage units: the last cycle of the unit's own stage's chips (the
  // previous stage's chips send, the first stage's may receive the token).
  int64_t stage_last_cycle = 0;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_COMPILED_STEP_H_
