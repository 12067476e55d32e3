#include "isa/numeric.h"

#include <cstring>

namespace tsp::isa {

float BitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint32_t FloatToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float Fp16ToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1Fu;
  uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1F) return BitsToFloat(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return BitsToFloat(sign);
    // Subnormal: value = mantissa * 2^-24, exact in float.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3FFu;
    const uint32_t float_exponent = static_cast<uint32_t>(127 - 15 + 1 - shift);
    return BitsToFloat(sign | (float_exponent << 23) | (mantissa << 13));
  }
  return BitsToFloat(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

uint16_t FloatToFp16(float value) {
  const uint32_t bits = FloatToBits(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const int32_t exponent = static_cast<int32_t>((bits >> 23) & 0xFFu);
  const uint32_t mantissa = bits & 0x7FFFFFu;
  if (exponent == 0xFF) {
    if (mantissa != 0) return static_cast<uint16_t>(sign | 0x7E00u);  // Quiet NaN.
    return static_cast<uint16_t>(sign | 0x7C00u);
  }
  // Unbiased exponent of the float; fp16 normal range is [-14, 15].
  const int32_t e = exponent - 127;
  if (e > 15) return static_cast<uint16_t>(sign | 0x7C00u);
  // Work with the full significand (implicit one included) and shift it so
  // that its last kept bit is fp16's last bit, rounding to nearest even.
  uint32_t significand = exponent == 0 ? mantissa : (mantissa | 0x800000u);
  int32_t shift;  // Right shift from the float significand to fp16's.
  uint32_t half_exponent;
  if (e >= -14) {
    shift = 13;
    half_exponent = static_cast<uint32_t>(e + 15);
  } else {
    shift = 13 + (-14 - e);  // Subnormal fp16.
    half_exponent = 0;
    if (shift > 25) return sign;  // Below half of the smallest subnormal.
  }
  uint32_t kept = significand >> shift;
  const uint32_t remainder = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (remainder > halfway || (remainder == halfway && (kept & 1u))) ++kept;
  if (half_exponent == 0) {
    // kept holds the subnormal mantissa; a carry into bit 10 makes it the
    // smallest normal, which the same encoding expresses.
    return static_cast<uint16_t>(sign | kept);
  }
  // kept includes the implicit one at bit 10; a carry to bit 11 bumps the exponent.
  if (kept & 0x800u) {
    kept >>= 1;
    ++half_exponent;
    if (half_exponent >= 0x1F) return static_cast<uint16_t>(sign | 0x7C00u);
  }
  return static_cast<uint16_t>(sign | (half_exponent << 10) | (kept & 0x3FFu));
}

float Bf16ToFloat(uint16_t bf16) { return BitsToFloat(static_cast<uint32_t>(bf16) << 16); }

uint16_t FloatToBf16(float value) {
  const uint32_t bits = FloatToBits(value);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x7FFFFFu) != 0) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);  // Quiet NaN.
  }
  const uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float RoundToFloat(double value) {
  // The conversion is the IEEE one (round to nearest even) on every
  // platform this builds on; kept behind a function so that it is one place.
  return static_cast<float>(value);
}

}  // namespace tsp::isa
