#ifndef TSP_ISA_FP16_FORMAT_H_
#define TSP_ISA_FP16_FORMAT_H_

// The value of an fp16 bit pattern from the format's definition
// (sign x 2^(e-15) x 1.m, subnormals 2^-14 x 0.m), in double. Written apart
// from isa/numeric.cc's bit manipulation so that references and tests that use
// it do not share code with what they check.

#include <cmath>
#include <cstdint>

namespace tsp::isa {

inline double Fp16FormatValue(uint16_t bits) {
  const int sign = (bits >> 15) ? -1 : 1;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  if (exponent == 0) return sign * std::ldexp(mantissa, -24);
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

}  // namespace tsp::isa

#endif  // TSP_ISA_FP16_FORMAT_H_
