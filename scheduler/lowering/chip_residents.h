#ifndef TSP_SCHEDULER_LOWERING_CHIP_RESIDENTS_H_
#define TSP_SCHEDULER_LOWERING_CHIP_RESIDENTS_H_

// What one chip keeps in SRAM across decode steps (its shard of the weights,
// its KV caches, its token slot) and where: the lowering's view of a chip.

#include <cstdint>
#include <vector>

#include "scheduler/vector_ops.h"

namespace tsp::scheduler::lowering {

// A weight matrix split by row tiles between the two MXM sides, with its
// int8 per-row scales as fp32 vectors (one per output vector).
struct Linear {
  int64_t rows = 0;
  int64_t columns = 0;
  std::vector<StreamedMatrix> sides;  // West part first; an empty part is left out.
  std::vector<Vec> scales;            // int8 only: one per output vector.
};

// One KV head's cache of one layer.
struct KvCache {
  StreamedMatrix keys;          // Rows are tokens.
  StreamedMatrix values;        // Transposed: rows are head dimensions, lanes tokens.
  std::vector<Vec> key_scales;  // int8: s_k of token t at lane t % lanes of vector t / lanes.
  std::vector<Vec> value_scales;
};

// One decoder layer's residents on a chip.
struct LayerResidents {
  std::vector<std::vector<KvCache>> caches;  // Per user, then local KV head.
  std::vector<Vec> attention_norm, mlp_norm;
  Linear q, k, v, o, router;
  std::vector<Linear> gate, up, down;  // Per expert (one for a dense MLP).
};

struct ChipResidents {
  int chip = 0;
  int rank = 0;  // Index in its stage's tensor-parallel group.
  int stage = 0;
  std::vector<Vec> tokens;             // Per batch member: fp32 token id in every lane.
  // Per batch member: the stage's output residual, where the next stage
  // fetches it.
  std::vector<std::vector<Vec>> residual_outs;
  std::vector<LayerResidents> layers;  // The stage's layers, in order.
  std::vector<Vec> final_norm;
  Linear embedding;  // Transposed shard: hidden x local vocabulary.
  std::vector<Vec> embedding_scales;
  Linear lm_head;
  int64_t vocab_first = 0;
  int64_t vocab_local = 0;
};

// The chips of one stage, by rank.
using StageGroup = std::vector<ChipResidents*>;

// A value of the step on every chip of a stage: the vectors of rank r's part.
using RankVectors = std::vector<std::vector<Vec>>;

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_CHIP_RESIDENTS_H_
