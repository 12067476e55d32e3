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

// The chip sums lanes in a tree (and with tensor parallelism quantizes per
// chip and adds fp32 partials in chip order), so it differs from the
// reference by rounding, which int8 quantization steps amplify: merely
// summing the reference's own RMSNorm squares in reverse order moves
// tiny_wide's int8 logits by 0.4% (one layer) to 3.8% (four layers), and its
// fp16 ones by under 0.1%. Hence 5% for int8, 0.5% for fp16.
inline double LogitsTolerance(models::NumberFormat format) {
  return format == models::NumberFormat::kInt8 ? 0.05 : 0.005;
}

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_LOGITS_TOLERANCE_H_
