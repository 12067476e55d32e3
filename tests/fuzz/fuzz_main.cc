// libFuzzer entry points, one binary per target (selected at compile time).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TSP_FUZZ_TARGET(data, size);
  return 0;
}
