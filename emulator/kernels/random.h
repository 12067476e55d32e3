#ifndef TSP_EMULATOR_KERNELS_RANDOM_H_
#define TSP_EMULATOR_KERNELS_RANDOM_H_

// SplitMix64: a tiny PRNG written here so that synthetic data is the same on
// every standard library (std::*_distribution differ between them).

#include <cstdint>

namespace tsp::kernels {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0 (modulo bias is irrelevant for test data).
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

}  // namespace tsp::kernels

#endif  // TSP_EMULATOR_KERNELS_RANDOM_H_
