#ifndef TSP_ISA_TEST_SCALE_H_
#define TSP_ISA_TEST_SCALE_H_

// How much of a repetitive test's work a build runs. Under AddressSanitizer
// the suite looks for memory errors, and every repetition of a check runs the
// same code paths at several times the cost: a test that repeats one check
// over many cases runs a share of them there. The plain build runs them all,
// and it is the one that proves what the tests say.

#include <vector>

namespace tsp::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

// `cases`, or under AddressSanitizer every `stride`th of them from the first.
template <typename T>
std::vector<T> SanitizerShare(const std::vector<T>& cases, int stride) {
  if (!kUnderAddressSanitizer || stride <= 1) return cases;
  std::vector<T> share;
  for (size_t i = 0; i < cases.size(); i += stride) share.push_back(cases[i]);
  return share;
}

}  // namespace tsp::testing

#endif  // TSP_ISA_TEST_SCALE_H_
