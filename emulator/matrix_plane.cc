#include "emulator/matrix_plane.h"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "emulator/lane_elements.h"
#include "isa/element_type.h"
#include "isa/numeric.h"

namespace tsp::emulator {
namespace {

// An fp16 value as m * 2^(e - 24) with integer m (sign included), e >= 0.
struct Fixed {
  int32_t mantissa;
  int exponent;
};

Fixed DecomposeFp16(uint16_t bits) {
  const int biased = (bits >> 10) & 0x1F;
  int32_t mantissa = bits & 0x3FF;
  int exponent = 0;
  if (biased != 0) {
    mantissa |= 0x400;
    exponent = biased - 1;
  }
  if (bits & 0x8000) mantissa = -mantissa;
  return {mantissa, exponent};
}

// Rounds the integer `value` * 2^-48 to the nearest float, ties to even.
float RoundScaledInt128(__int128 value) {
  if (value == 0) return 0.0f;
  const bool negative = value < 0;
  unsigned __int128 magnitude =
      negative ? static_cast<unsigned __int128>(-value) : static_cast<unsigned __int128>(value);
  int top = 127;
  while (((magnitude >> top) & 1) == 0) --top;
  // Keep 24 significant bits.
  int shift = top - 23;
  uint64_t kept;
  if (shift > 0) {
    kept = static_cast<uint64_t>(magnitude >> shift);
    const unsigned __int128 remainder = magnitude & ((static_cast<unsigned __int128>(1) << shift) - 1);
    const unsigned __int128 halfway = static_cast<unsigned __int128>(1) << (shift - 1);
    if (remainder > halfway || (remainder == halfway && (kept & 1))) ++kept;
    if (kept == (1ull << 24)) {  // Rounded up to the next power of two.
      kept >>= 1;
      ++shift;
    }
  } else {
    kept = static_cast<uint64_t>(magnitude);
  }
  // value = kept * 2^(shift - 48); kept < 2^24 and shift - 48 >= -71, so the
  // result is a normal float or an overflow to infinity.
  const float result = std::ldexp(static_cast<float>(kept), shift - 48);
  return negative ? -result : result;
}

}  // namespace

float ExactFp16DotProduct(const uint16_t* x, const uint16_t* y, int n) {
  bool special = false;
  for (int i = 0; i < n; ++i) {
    if ((x[i] & 0x7C00) == 0x7C00 || (y[i] & 0x7C00) == 0x7C00) special = true;
  }
  if (special) {
    float sum = 0.0f;
    for (int i = 0; i < n; ++i) sum += isa::Fp16ToFloat(x[i]) * isa::Fp16ToFloat(y[i]);
    return sum;
  }
  // Each product is m1 * m2 * 2^(e1 + e2 - 48) with |m1 m2| < 2^22 and
  // e1 + e2 <= 58: at most 2^80, and 2^89 for the sum of 320: fits in 127 bits.
  __int128 sum = 0;
  for (int i = 0; i < n; ++i) {
    const Fixed a = DecomposeFp16(x[i]);
    const Fixed b = DecomposeFp16(y[i]);
    const __int128 product = static_cast<__int128>(static_cast<int64_t>(a.mantissa) * b.mantissa);
    // Multiply rather than shift: left-shifting a negative value is undefined.
    sum += product * (static_cast<__int128>(1) << (a.exponent + b.exponent));
  }
  return RoundScaledInt128(sum);
}

void MatrixPlane::LoadRows(isa::ElementType type, int64_t row, int64_t rows,
                           const uint8_t* planes) {
  if (buffer_.empty()) buffer_.assign(static_cast<size_t>(size_) * size_, 0);
  buffer_type_ = type;
  const int width = isa::ElementBytes(type);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* group = planes + r * width * size_;
    uint16_t* destination = &buffer_[(row + r) * size_];
    for (int lane = 0; lane < size_; ++lane) {
      destination[lane] = static_cast<uint16_t>(LoadRaw(group, size_, width, lane));
    }
  }
}

void MatrixPlane::StageInstall() {
  staged_ = buffer_;
  staged_type_ = buffer_type_;
}

void MatrixPlane::CommitInstall() {
  weights_type_ = staged_type_;
  if (staged_type_ == isa::FP16) {
    fp16_weights_ = staged_;
    return;
  }
  int_weights_.resize(staged_.size());
  for (size_t i = 0; i < staged_.size(); ++i) {
    int_weights_[i] = staged_type_ == isa::INT8 ? static_cast<int8_t>(staged_[i])
                                                 : static_cast<uint8_t>(staged_[i]);
  }
}

void MatrixPlane::Multiply(isa::ElementType type, const uint8_t* planes, uint8_t* product) const {
  if (type == isa::FP16) {
    std::vector<uint16_t> x(size_);
    for (int lane = 0; lane < size_; ++lane) {
      x[lane] = static_cast<uint16_t>(LoadRaw(planes, size_, 2, lane));
    }
    for (int i = 0; i < size_; ++i) {
      const float dot =
          ExactFp16DotProduct(&fp16_weights_[static_cast<size_t>(i) * size_], x.data(), size_);
      StoreRaw(isa::FloatToBits(dot), size_, 4, i, product);
    }
    return;
  }
  std::vector<int16_t> x(size_);
  for (int lane = 0; lane < size_; ++lane) {
    x[lane] = type == isa::INT8 ? static_cast<int8_t>(planes[lane]) : planes[lane];
  }
  for (int i = 0; i < size_; ++i) {
    const int16_t* row = &int_weights_[static_cast<size_t>(i) * size_];
    int32_t sum = 0;  // |sum| <= 320 * 255 * 255 < 2^25: exact.
    // int16 x int16 -> int32 products: a loop the compiler vectorizes.
    for (int j = 0; j < size_; ++j) sum += static_cast<int32_t>(row[j]) * x[j];
    StoreRaw(static_cast<uint32_t>(sum), size_, 4, i, product);
  }
}

MatrixPlane::Sums& MatrixPlane::SumsOf(int accumulator) {
  if (static_cast<size_t>(accumulator) >= accumulators_.size()) accumulators_.resize(accumulator + 1);
  return accumulators_[accumulator];
}

void MatrixPlane::Accumulate(int accumulator, isa::ElementType type, const uint8_t* product) {
  Sums& sums = SumsOf(accumulator);
  if (type == isa::FP16) {
    if (sums.floats.empty()) sums.floats.assign(size_, 0.0f);
    sums.is_float = true;
    for (int i = 0; i < size_; ++i) sums.floats[i] += isa::BitsToFloat(LoadRaw(product, size_, 4, i));
    return;
  }
  if (sums.ints.empty()) sums.ints.assign(size_, 0);
  sums.is_float = false;
  for (int i = 0; i < size_; ++i) {
    // The int32 accumulator wraps.
    sums.ints[i] = static_cast<int32_t>(static_cast<uint32_t>(sums.ints[i]) + LoadRaw(product, size_, 4, i));
  }
}

void MatrixPlane::ReadOutAndClear(int accumulator, uint8_t* out) {
  Sums& sums = SumsOf(accumulator);
  for (int lane = 0; lane < size_; ++lane) {
    uint32_t raw = 0;
    if (sums.is_float) {
      raw = sums.floats.empty() ? 0 : isa::FloatToBits(sums.floats[lane]);
    } else {
      raw = sums.ints.empty() ? 0 : static_cast<uint32_t>(sums.ints[lane]);
    }
    StoreRaw(raw, size_, 4, lane, out);
  }
  std::fill(sums.ints.begin(), sums.ints.end(), 0);
  std::fill(sums.floats.begin(), sums.floats.end(), 0.0f);
}

}  // namespace tsp::emulator
