#ifndef TSP_EMULATOR_ACCUMULATORS_H_
#define TSP_EMULATOR_ACCUMULATORS_H_

// One MXM plane's accumulators as the emulator and the verifier track them:
// for each, the Multiply results in flight toward it and those landed in it
// since an Accumulate last read it out (isa/README.md, "MXM"). A plane holds
// mxm.accumulator_vectors of them; a program touches few, so they are made
// when first used.

#include <cstdint>
#include <vector>

#include "emulator/producer.h"

namespace tsp::emulator {

struct Accumulator {
  int64_t products_in_flight = 0;
  int64_t products_accumulated = 0;  // Landed since the last Accumulate.
  int64_t first_product_landed = 0;  // The first of those landed then.
  Producer last_product;             // The Multiply of the last landed.
  bool holds_products() const { return products_accumulated > 0 || products_in_flight > 0; }
};

class Accumulators {
 public:
  // Accumulator `k` (0 <= k < the chip's mxm_accumulators(), checked by the caller).
  Accumulator& operator[](int64_t k) {
    if (static_cast<size_t>(k) >= accumulators_.size()) accumulators_.resize(k + 1);
    return accumulators_[k];
  }
  // The lowest accumulator that holds or awaits products, or -1.
  int FirstHoldingProducts() const {
    for (size_t k = 0; k < accumulators_.size(); ++k) {
      if (accumulators_[k].holds_products()) return static_cast<int>(k);
    }
    return -1;
  }
  const Accumulator& at(int k) const { return accumulators_.at(k); }

 private:
  std::vector<Accumulator> accumulators_;
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_ACCUMULATORS_H_
