#include "emulator/kernels/matvec_reference.h"

#include <cmath>
#include <cstring>

#include "emulator/kernels/random.h"
#include "isa/fp16_format.h"

namespace tsp::kernels {
namespace {

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

}  // namespace

std::vector<uint32_t> ReferenceMatvecInt8(const std::vector<uint16_t>& weights,
                                          const std::vector<uint16_t>& x, int64_t rows,
                                          int64_t columns) {
  std::vector<uint32_t> y(rows);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t sum = 0;
    for (int64_t j = 0; j < columns; ++j) {
      sum += static_cast<int64_t>(static_cast<int8_t>(weights[i * columns + j])) *
             static_cast<int8_t>(x[j]);
    }
    y[i] = static_cast<uint32_t>(sum);
  }
  return y;
}

std::vector<uint32_t> ReferenceMatvecFp16(const std::vector<uint16_t>& weights,
                                          const std::vector<uint16_t>& x, int64_t rows,
                                          int64_t columns, int tile_columns) {
  std::vector<uint32_t> y(rows);
  for (int64_t i = 0; i < rows; ++i) {
    float sum = 0.0f;
    for (int64_t k = 0; k < columns; k += tile_columns) {
      double dot = 0.0;
      for (int64_t j = k; j < k + tile_columns; ++j) {
        dot += isa::Fp16FormatValue(weights[i * columns + j]) * isa::Fp16FormatValue(x[j]);
      }
      sum += static_cast<float>(dot);
    }
    y[i] = Bits(sum);
  }
  return y;
}

std::vector<uint16_t> ExactFp16TestValues(int64_t count, uint64_t seed) {
  SplitMix64 random(seed);
  std::vector<uint16_t> values(count);
  for (auto& value : values) {
    // k / 1024 with |k| < 2048 has at most 11 significant bits: exact in fp16.
    const int64_t k = static_cast<int64_t>(random.Below(4096)) - 2048;
    if (k == 0) {
      value = 0;
      continue;
    }
    const uint16_t sign = k < 0 ? 0x8000 : 0;
    int64_t magnitude = k < 0 ? -k : k;
    int exponent = 0;  // magnitude = m * 2^exponent with 1024 <= m < 2048.
    while (magnitude < 1024) {
      magnitude <<= 1;
      --exponent;
    }
    // value = magnitude * 2^(exponent - 10), fp16 biased exponent = exponent + 15.
    value = static_cast<uint16_t>(sign | ((exponent + 15) << 10) | (magnitude - 1024));
  }
  return values;
}

std::vector<uint16_t> Int8TestValues(int64_t count, uint64_t seed) {
  SplitMix64 random(seed);
  std::vector<uint16_t> values(count);
  for (auto& value : values) value = static_cast<uint16_t>(random.Below(256));
  return values;
}

}  // namespace tsp::kernels
