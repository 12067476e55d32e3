#ifndef TSP_SCHEDULER_LOWERING_PROJECTION_H_
#define TSP_SCHEDULER_LOWERING_PROJECTION_H_

// Projections: a weight matrix times a vector on the MXM, in int8 (the
// activation quantized per vector, int32 accumulators, then the activation's
// and each row's scale) or fp16 (fp32 sums). Column-parallel (each chip its
// rows of W: q, k, v, gate, up, the router, the LM head) or row-parallel
// (each chip its columns and part of x, summed over the stage: o, down).

#include <vector>

#include "absl/status/statusor.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {

// int8 activation quantization: q on each requested side, and s_x in every
// lane.
struct Quantized {
  std::vector<Vec> q[2];
  Vec scale;
};

// max |x| over every lane of every vector, in every lane.
absl::StatusOr<Vec> LargestMagnitude(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x);
// Quantizes x with its own largest magnitude (Quantize) or a given one.
absl::StatusOr<Quantized> Quantize(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x, bool west,
                                   bool east);
// `largest`: max |x| in every lane (the stage's, for a row-parallel projection).
absl::StatusOr<Quantized> QuantizeWith(LoweringContext& ctx, ChipResidents& c, const std::vector<Vec>& x,
                                       const Vec& largest, bool west, bool east);
// Products of a linear (int32 accumulators or fp32 sums), before scales.
absl::StatusOr<std::vector<Vec>> Products(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                          const Quantized& q, const std::vector<Vec>& x);
// The same for a batch (member m's input q[m] or x[m]): each weight tile
// installed once for the batch (VectorOps::MatMul); the products by member.
absl::StatusOr<std::vector<std::vector<Vec>>> BatchProducts(LoweringContext& ctx, ChipResidents& c,
                                                            const Linear& linear, const std::vector<Quantized>& q,
                                                            const std::vector<std::vector<Vec>>& x);
// int8: each accumulator to fp32, times the activation's scale and its rows' scales.
absl::StatusOr<std::vector<Vec>> Dequantize(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                            const std::vector<Vec>& accumulators, const Vec& scale);
// y = W x on one chip, fp32 in and out: CeilDiv(linear.rows, lanes) vectors.
absl::StatusOr<std::vector<Vec>> Apply(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                       const std::vector<Vec>& x);
// y_m = W x_m for every member m of a batch, one install per tile for all.
absl::StatusOr<std::vector<std::vector<Vec>>> BatchApply(LoweringContext& ctx, ChipResidents& c, const Linear& linear,
                                                         const std::vector<std::vector<Vec>>& x);
// y = W x where each chip of the group holds a column shard of W and the
// matching part of x; every chip ends with the whole y. int8 quantizes
// with the group's largest magnitude and sums the int32 accumulators
// exactly, so the result is the one-chip definition's.
absl::StatusOr<RankVectors> RowParallel(LoweringContext& ctx, StageGroup group,
                                        const std::vector<const Linear*>& linears, const RankVectors& x);
// The same for a batch (x[m]: member m's parts), one install per tile for all.
absl::StatusOr<std::vector<RankVectors>> BatchRowParallel(LoweringContext& ctx, StageGroup group,
                                                          const std::vector<const Linear*>& linears,
                                                          const std::vector<RankVectors>& x);

// A graph projection whose weight is split by rows (q, k, v, a dense MLP's
// gate and up, the router, the LM head): each rank its own rows, no
// communication. The LM head's logits are also recorded in state.step.
absl::Status LowerColumnParallel(StageState& state, int index);
// A graph projection whose weight is split by columns (o, a dense MLP's
// down): each rank its columns, the stage all-reduces the results.
absl::Status LowerRowParallel(StageState& state, int index);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_PROJECTION_H_
