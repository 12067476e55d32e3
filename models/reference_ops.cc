#include "models/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tsp::models {

absl::StatusOr<NumberFormat> ParseNumberFormat(absl::string_view name) {
  if (name == "int8") return NumberFormat::kInt8;
  if (name == "fp16") return NumberFormat::kFp16;
  return absl::InvalidArgumentError(absl::StrCat("number format '", name, "' is not one of: int8, fp16"));
}

const char* NumberFormatName(NumberFormat format) {
  return format == NumberFormat::kInt8 ? "int8" : "fp16";
}

uint16_t ToFp16Bits(float value) {
  const _Float16 half = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &half, sizeof(bits));
  return bits;
}

float FromFp16Bits(uint16_t bits) {
  // _Float16 arithmetic is emulated on this host: convert every pattern once.
  static const std::vector<float>* const table = [] {
    auto* values = new std::vector<float>(65536);
    for (uint32_t pattern = 0; pattern < 65536; ++pattern) {
      const uint16_t narrow = static_cast<uint16_t>(pattern);
      _Float16 half;
      std::memcpy(&half, &narrow, sizeof(narrow));
      (*values)[pattern] = static_cast<float>(half);
    }
    return values;
  }();
  return (*table)[bits];
}

std::vector<float> Matrix::Row(int64_t row) const {
  std::vector<float> values(in);
  for (int64_t i = 0; i < in; ++i) {
    values[i] = half.empty() ? static_cast<float>(q[row * in + i]) * scale[row]
                             : FromFp16Bits(half[row * in + i]);
  }
  return values;
}

QuantizedVector QuantizeInt8(const std::vector<float>& x) {
  float largest = 0.0f;
  for (float value : x) largest = std::max(largest, std::fabs(value));
  QuantizedVector quantized;
  // Reciprocals, then products: the chip has no divider (models/README.md).
  const float ratio = largest > 0.0f ? 127.0f * (1.0f / largest) : 1.0f;
  quantized.scale = largest > 0.0f ? largest * (1.0f / 127.0f) : 1.0f;
  quantized.q.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float scaled = std::nearbyint(x[i] * ratio);  // Round half to even.
    quantized.q[i] = static_cast<int8_t>(std::min(127.0f, std::max(-127.0f, scaled)));
  }
  return quantized;
}

std::vector<float> Dequantize(const QuantizedVector& v) {
  std::vector<float> x(v.q.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(v.q[i]) * v.scale;
  return x;
}

std::vector<float> MatVec(const Matrix& w, const std::vector<float>& x, NumberFormat format,
                          int slice) {
  std::vector<float> y(w.out);
  if (format == NumberFormat::kInt8) {
    const QuantizedVector qx = QuantizeInt8(x);
    for (int64_t o = 0; o < w.out; ++o) {
      int32_t acc = 0;
      const int8_t* row = &w.q[o * w.in];
      for (int64_t i = 0; i < w.in; ++i) acc += static_cast<int32_t>(row[i]) * qx.q[i];
      y[o] = (static_cast<float>(acc) * qx.scale) * w.scale[o];
    }
    return y;
  }
  std::vector<long double> x16(x.size());
  for (size_t i = 0; i < x.size(); ++i) x16[i] = FromFp16Bits(ToFp16Bits(x[i]));
  for (int64_t o = 0; o < w.out; ++o) {
    float sum = 0.0f;
    for (int64_t start = 0; start < w.in; start += slice) {
      long double piece = 0.0L;
      for (int64_t i = start; i < std::min<int64_t>(w.in, start + slice); ++i) {
        piece += static_cast<long double>(FromFp16Bits(w.half[o * w.in + i])) * x16[i];
      }
      sum += static_cast<float>(piece);
    }
    y[o] = sum;
  }
  return y;
}

std::vector<float> RmsNorm(const std::vector<float>& x, const std::vector<float>& weight, double epsilon,
                           SumOrder order) {
  float squares = 0.0f;
  if (order == SumOrder::kForward) {
    for (float value : x) squares += value * value;
  } else {
    for (auto value = x.rbegin(); value != x.rend(); ++value) squares += *value * *value;
  }
  const float mean = squares * (1.0f / static_cast<float>(x.size()));
  const float inverse = 1.0f / std::sqrt(mean + static_cast<float>(epsilon));
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] * inverse) * weight[i];
  return y;
}

void Rotary(std::vector<float>& head, int64_t position, double theta) {
  const int64_t half = static_cast<int64_t>(head.size()) / 2;
  for (int64_t j = 0; j < half; ++j) {
    const double angle = static_cast<double>(position) *
                         std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(head.size()));
    const float c = static_cast<float>(std::cos(angle));
    const float s = static_cast<float>(std::sin(angle));
    const float x1 = head[j];
    const float x2 = head[j + half];
    head[j] = x1 * c - x2 * s;
    head[j + half] = x2 * c + x1 * s;
  }
}

std::vector<float> Attend(const std::vector<float>& q, const std::vector<std::vector<float>>& keys,
                          const std::vector<std::vector<float>>& values) {
  const float inverse_root = 1.0f / std::sqrt(static_cast<float>(q.size()));
  std::vector<float> scores(keys.size());
  for (size_t t = 0; t < keys.size(); ++t) {
    float dot = 0.0f;
    for (size_t i = 0; i < q.size(); ++i) dot += q[i] * keys[t][i];
    scores[t] = dot * inverse_root;
  }
  const std::vector<float> p = Softmax(scores);
  std::vector<float> out(q.size(), 0.0f);
  for (size_t t = 0; t < values.size(); ++t) {
    for (size_t i = 0; i < out.size(); ++i) out[i] += p[t] * values[t][i];
  }
  return out;
}

std::vector<float> Softmax(const std::vector<float>& scores) {
  float largest = -INFINITY;
  for (float score : scores) largest = std::max(largest, score);
  std::vector<float> p(scores.size());
  float total = 0.0f;
  for (size_t t = 0; t < scores.size(); ++t) {
    p[t] = std::exp(scores[t] - largest);
    total += p[t];
  }
  const float inverse = 1.0f / total;
  for (float& value : p) value *= inverse;
  return p;
}

std::vector<float> AttendInt8(const std::vector<float>& q, const std::vector<QuantizedVector>& keys,
                              const std::vector<QuantizedVector>& values) {
  const float inverse_root = 1.0f / std::sqrt(static_cast<float>(q.size()));
  const QuantizedVector qq = QuantizeInt8(q);
  std::vector<float> scores(keys.size());
  for (size_t t = 0; t < keys.size(); ++t) {
    int32_t acc = 0;
    for (size_t i = 0; i < q.size(); ++i) acc += static_cast<int32_t>(qq.q[i]) * keys[t].q[i];
    scores[t] = ((static_cast<float>(acc) * qq.scale) * keys[t].scale) * inverse_root;
  }
  std::vector<float> p = Softmax(scores);
  // Each value's scale folds into its probability before quantization.
  for (size_t t = 0; t < p.size(); ++t) p[t] *= values[t].scale;
  const QuantizedVector qp = QuantizeInt8(p);
  std::vector<float> out(q.size());
  for (size_t i = 0; i < q.size(); ++i) {
    int32_t acc = 0;
    for (size_t t = 0; t < values.size(); ++t) acc += static_cast<int32_t>(qp.q[t]) * values[t].q[i];
    out[i] = static_cast<float>(acc) * qp.scale;
  }
  return out;
}

std::vector<float> AttendFp16(const std::vector<float>& q, const std::vector<std::vector<uint16_t>>& keys,
                              const std::vector<std::vector<uint16_t>>& values, int slice) {
  const float inverse_root = 1.0f / std::sqrt(static_cast<float>(q.size()));
  std::vector<long double> q16(q.size());
  for (size_t i = 0; i < q.size(); ++i) q16[i] = FromFp16Bits(ToFp16Bits(q[i]));
  std::vector<float> scores(keys.size());
  for (size_t t = 0; t < keys.size(); ++t) {
    long double dot = 0.0L;  // Exact: head sizes are at most one slice.
    for (size_t i = 0; i < q.size(); ++i) dot += q16[i] * FromFp16Bits(keys[t][i]);
    scores[t] = static_cast<float>(dot) * inverse_root;
  }
  const std::vector<float> p = Softmax(scores);
  std::vector<float> out(q.size(), 0.0f);
  for (size_t i = 0; i < q.size(); ++i) {
    for (size_t start = 0; start < values.size(); start += slice) {
      long double piece = 0.0L;
      for (size_t t = start; t < std::min(values.size(), start + slice); ++t) {
        piece += static_cast<long double>(FromFp16Bits(ToFp16Bits(p[t]))) * FromFp16Bits(values[t][i]);
      }
      out[i] += static_cast<float>(piece);
    }
  }
  return out;
}

float Silu(float x) { return x * (1.0f / (1.0f + std::exp(-x))); }

int64_t Argmax(const std::vector<float>& values) {
  int64_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = static_cast<int64_t>(i);
  }
  return best;
}

}  // namespace tsp::models
