#ifndef TSP_SCHEDULER_LOGITS_TOLERANCE_H_
#define TSP_SCHEDULER_LOGITS_TOLERANCE_H_

// How far the chips' logits may be from the reference's, and why.

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/reference_ops.h"

namespace tsp::scheduler {

// Largest |a - b| over the logits, relative to the largest |b|.
inline double LogitsError(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return worst / scale;
}

// How far the chips' logits may be from the reference's on one step, given
// how far the same reference moves there when only the order of its RMSNorm
// sums changes (`reordered_move`: LogitsError between a ReferenceDecoder with
// SumOrder::kReversed and one with kForward, fed the same tokens and caches).
//
// int8: every matrix product quantizes its input to 127 steps, and a value
// that lies within fp32 noise of a rounding boundary rounds either way; one
// such flip can move the logits by a few percent, and which values flip
// depends on the order sums are added in, which differs between the chips
// (each lane's tree, per-chip partial sums) and the reference. So no fixed
// bound is both safe and tight: the reordered reference itself moves by 0 to
// 4% a step on tiny_wide's four layers and 1.3% on llama2_70b's layer at
// position 4,095, and the chips move with it: over the 150 int8 steps of
// //scheduler:decoder_compiler_test, deep_context_test and
// llama70b_layer_test, wherever either exceeds fp32 noise, the chips' error
// is at most 1.4 times the reordered reference's move. The bound is twice
// that move (the chips reorder more sums than the one variant), and 1e-5
// where no value flips (fp32 noise alone: at most 1.3e-6 measured).
//
// fp16 rounds each value to 11 significant bits, so a rounding difference
// moves a value by 2^-11 of itself, never by a step: 0.5%, against at most
// 0.09% measured.
inline double LogitsTolerance(models::NumberFormat format, double reordered_move) {
  if (format == models::NumberFormat::kFp16) return 0.005;
  return std::max(1e-5, 2.0 * reordered_move);
}

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_LOGITS_TOLERANCE_H_
