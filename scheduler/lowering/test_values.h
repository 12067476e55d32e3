#ifndef TSP_SCHEDULER_LOWERING_TEST_VALUES_H_
#define TSP_SCHEDULER_LOWERING_TEST_VALUES_H_

// Deterministic test inputs for the lowerings' tests.

#include <cstdint>
#include <vector>

namespace tsp::scheduler::lowering {

// n values start, start + step, ... repeating every 37 (so no two vectors of
// a test are equal by accident, and magnitudes stay near the start).
inline std::vector<float> Ramp(int64_t n, float start, float step) {
  std::vector<float> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = start + step * static_cast<float>(i % 37);
  return values;
}

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_TEST_VALUES_H_
