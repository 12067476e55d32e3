#include "isa/numeric.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "isa/fp16_format.h"

namespace tsp::isa {
namespace {

double ReferenceFp16Value(uint16_t bits) { return Fp16FormatValue(bits); }

TEST(NumericTest, Fp16ToFloatMatchesTheFormatForEveryPattern) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const double expected = ReferenceFp16Value(static_cast<uint16_t>(bits));
    const float actual = Fp16ToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(actual)) << bits;
    } else {
      EXPECT_EQ(static_cast<double>(actual), expected) << "bits " << bits;
    }
  }
}

// Nearest fp16 by exhaustive search over finite non-negative patterns, ties to
// the even pattern; overflow to infinity past the rounding boundary 65520.
uint16_t ReferenceNearestFp16(float value) {
  const double magnitude = std::fabs(static_cast<double>(value));
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  if (magnitude >= 65520.0) return sign | 0x7C00;
  uint16_t best = 0;
  double best_distance = INFINITY;
  for (uint32_t bits = 0; bits < 0x7C00; ++bits) {
    const double distance = std::fabs(ReferenceFp16Value(static_cast<uint16_t>(bits)) - magnitude);
    if (distance < best_distance || (distance == best_distance && (bits & 1) == 0)) {
      best = static_cast<uint16_t>(bits);
      best_distance = distance;
    }
  }
  return sign | best;
}

TEST(NumericTest, FloatToFp16RoundsToNearestEven) {
  std::vector<float> values = {0.0f,      -0.0f,      1.0f,       -1.5f,    65504.0f, 65519.0f,
                               65520.0f,  1e-8f,      2.9802322e-8f /* half of min subnormal */,
                               5.9604645e-8f, 6.1035156e-5f, 3.14159265f, 1.0009765625f,
                               1.00048828125f /* tie: rounds to even 1.0 */,
                               1.00146484375f /* tie: rounds up to even */};
  // A deterministic spread of values over the fp16 range (SplitMix64).
  uint64_t state = 12345;
  for (int i = 0; i < 3000; ++i) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const double unit = static_cast<double>(z >> 11) / 9007199254740992.0;
    values.push_back(static_cast<float>((unit - 0.5) * std::ldexp(1.0, static_cast<int>(z % 44) - 26)));
  }
  for (float value : values) {
    EXPECT_EQ(FloatToFp16(value), ReferenceNearestFp16(value)) << "value " << value;
  }
  EXPECT_EQ(FloatToFp16(NAN) & 0x7C00, 0x7C00);
  EXPECT_NE(FloatToFp16(NAN) & 0x3FF, 0);
  EXPECT_EQ(FloatToFp16(INFINITY), 0x7C00);
}

TEST(NumericTest, Bf16RoundsToNearestEven) {
  EXPECT_EQ(FloatToBf16(1.0f), 0x3F80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(FloatToBf16(1.00390625f), 0x3F80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
  EXPECT_EQ(FloatToBf16(1.01171875f), 0x3F82);
  EXPECT_EQ(Bf16ToFloat(0x4049), 3.140625f);
  EXPECT_TRUE(std::isnan(Bf16ToFloat(FloatToBf16(NAN))));
}

}  // namespace
}  // namespace tsp::isa
