#ifndef TSP_ISA_NUMERIC_H_
#define TSP_ISA_NUMERIC_H_

// Bit-exact conversions between the chip's floating-point formats. Every
// narrowing rounds to nearest, ties to even; NaN stays NaN, overflow goes to
// infinity. Written out rather than left to the host so that results do not
// depend on the compiler or the standard library.

#include <cstdint>

namespace tsp::isa {

float BitsToFloat(uint32_t bits);
uint32_t FloatToBits(float value);

float Fp16ToFloat(uint16_t half);
uint16_t FloatToFp16(float value);

float Bf16ToFloat(uint16_t bf16);
uint16_t FloatToBf16(float value);

// Rounds a double to the nearest float (ties to even), as one rounding.
float RoundToFloat(double value);

}  // namespace tsp::isa

#endif  // TSP_ISA_NUMERIC_H_
