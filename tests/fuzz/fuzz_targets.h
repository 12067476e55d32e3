#ifndef TSP_TESTS_FUZZ_FUZZ_TARGETS_H_
#define TSP_TESTS_FUZZ_FUZZ_TARGETS_H_

// The fuzz targets' bodies, shared by the libFuzzer binaries (clang,
// tools/fuzz.sh) and the corpus replay tests (any compiler, in CI). Each must
// return normally for any input; a property it checks that fails aborts.

#include <cstddef>
#include <cstdint>

namespace tsp::fuzz {

// First byte 'c', 's' or 'm': the rest is a ChipSpec, SystemSpec or
// ModelConfig textproto, loaded and validated (and a system wired).
void FuzzSpecs(const uint8_t* data, size_t size);
// Assembly text; a program that parses must print and parse back to itself.
void FuzzAssembler(const uint8_t* data, size_t size);
// A binary Program, decoded and run (timing-only) on the small chip.
void FuzzProgram(const uint8_t* data, size_t size);
// Bytes turned into a short program on the small chip, run functional twice
// (identical results required) and timing-only (same cycles required).
void FuzzEmulator(const uint8_t* data, size_t size);

}  // namespace tsp::fuzz

#endif  // TSP_TESTS_FUZZ_FUZZ_TARGETS_H_
