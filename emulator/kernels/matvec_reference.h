#ifndef TSP_EMULATOR_KERNELS_MATVEC_REFERENCE_H_
#define TSP_EMULATOR_KERNELS_MATVEC_REFERENCE_H_

// Plain reference for y = W x, sharing no code with the emulator's MXM:
// int8 products summed in int64 and wrapped to int32; fp16 dot products of
// each 320-column tile summed in double (exact for the test data, whose values
// are multiples of 2^-10 below 2), rounded to fp32, tiles added in fp32.

#include <cstdint>
#include <vector>

namespace tsp::kernels {

// Raw results (int32 or fp32 bits), one per row.
std::vector<uint32_t> ReferenceMatvecInt8(const std::vector<uint16_t>& weights,
                                          const std::vector<uint16_t>& x, int64_t rows,
                                          int64_t columns);
std::vector<uint32_t> ReferenceMatvecFp16(const std::vector<uint16_t>& weights,
                                          const std::vector<uint16_t>& x, int64_t rows,
                                          int64_t columns, int tile_columns);

// fp16 test values k / 1024 for k uniform in [-2048, 2048): exact products
// and exact double sums, so the reference is exact.
std::vector<uint16_t> ExactFp16TestValues(int64_t count, uint64_t seed);
std::vector<uint16_t> Int8TestValues(int64_t count, uint64_t seed);

}  // namespace tsp::kernels

#endif  // TSP_EMULATOR_KERNELS_MATVEC_REFERENCE_H_
