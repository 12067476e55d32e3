#ifndef TSP_MODELS_REFERENCE_OPS_H_
#define TSP_MODELS_REFERENCE_OPS_H_

// The arithmetic of models/README.md ("Number formats") in plain C++, for the
// reference decoder. Shares no code with the emulator or the compiler: fp16
// rounding uses the host compiler's _Float16.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tsp::models {

enum class NumberFormat { kInt8, kFp16 };
absl::StatusOr<NumberFormat> ParseNumberFormat(absl::string_view name);
const char* NumberFormatName(NumberFormat format);

// A weight matrix (out x in) in one format.
struct Matrix {
  int64_t out = 0;
  int64_t in = 0;
  std::vector<int8_t> q;        // int8: out x in.
  std::vector<float> scale;     // int8: one per output row.
  std::vector<uint16_t> half;   // fp16 bits: out x in.
  // Row `row` as fp32 (dequantized).
  std::vector<float> Row(int64_t row) const;
};

struct QuantizedVector {
  std::vector<int8_t> q;
  float scale = 1.0f;
};

// int8 activation quantization: r = 127 / max|x|, q = clamp(rne(x r)), s = max|x| / 127.
QuantizedVector QuantizeInt8(const std::vector<float>& x);
std::vector<float> Dequantize(const QuantizedVector& v);

uint16_t ToFp16Bits(float value);
float FromFp16Bits(uint16_t bits);

// y = W x in `format`; fp16 sums each `slice`-element piece exactly (in
// long double, exact for the sizes used) before rounding it to fp32.
std::vector<float> MatVec(const Matrix& w, const std::vector<float>& x, NumberFormat format,
                          int slice = 320);

// The order in which a sum of many fp32 terms is added: the same model either
// way, differing only by rounding (what tests measure rounding's effect with).
enum class SumOrder { kForward, kReversed };

// The sum of squares in `order`.
std::vector<float> RmsNorm(const std::vector<float>& x, const std::vector<float>& weight, double epsilon,
                           SumOrder order = SumOrder::kForward);
// Rotary embedding of one head vector at `position`, in place.
void Rotary(std::vector<float>& head, int64_t position, double theta);
// out = softmax(q . K / sqrt(d)) V over the given keys and values, in fp32.
std::vector<float> Attend(const std::vector<float>& q, const std::vector<std::vector<float>>& keys,
                          const std::vector<std::vector<float>>& values);
// p_t = exp(s_t - max) * (1 / sum), the sum in order.
std::vector<float> Softmax(const std::vector<float>& scores);
// Attention over a cache in each number format (models/README.md): the
// score and value products are the MXM's, in the format's storage types.
std::vector<float> AttendInt8(const std::vector<float>& q, const std::vector<QuantizedVector>& keys,
                              const std::vector<QuantizedVector>& values);
std::vector<float> AttendFp16(const std::vector<float>& q, const std::vector<std::vector<uint16_t>>& keys,
                              const std::vector<std::vector<uint16_t>>& values, int slice = 320);
// silu(x) = x * (1 / (1 + exp(-x))).
float Silu(float x);
// Index of the largest value, lowest index on ties.
int64_t Argmax(const std::vector<float>& values);

}  // namespace tsp::models

#endif  // TSP_MODELS_REFERENCE_OPS_H_
