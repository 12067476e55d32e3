#include "emulator/vector_unit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "emulator/lane_elements.h"
#include "isa/element_type.h"
#include "isa/numeric.h"

namespace tsp::emulator {
namespace {

using isa::ElementType;
using isa::Opcode;

// Raw bits of one element as a signed integer of its type.
int64_t ToInt(ElementType type, uint32_t raw) {
  if (type == isa::INT8) return static_cast<int8_t>(raw);
  if (type == isa::INT16) return static_cast<int16_t>(raw);
  if (type == isa::INT32) return static_cast<int32_t>(raw);
  return static_cast<int64_t>(raw);  // uint8 (the float types never get here).
}

float ToFloat(ElementType type, uint32_t raw) {
  if (type == isa::FP16) return isa::Fp16ToFloat(static_cast<uint16_t>(raw));
  if (type == isa::BF16) return isa::Bf16ToFloat(static_cast<uint16_t>(raw));
  if (type == isa::FP32) return isa::BitsToFloat(raw);
  return static_cast<float>(ToInt(type, raw));
}

// Only called with a float type.
uint32_t FromFloat(ElementType type, float value) {
  if (type == isa::FP16) return isa::FloatToFp16(value);
  if (type == isa::BF16) return isa::FloatToBf16(value);
  return isa::FloatToBits(value);
}

// Wraps to the type's width (truncation of two's complement).
uint32_t WrapInt(int64_t value) { return static_cast<uint32_t>(static_cast<uint64_t>(value)); }

// The range of an integer type: [-2^(bits-1), 2^(bits-1) - 1], or [0, 255] for uint8.
int64_t IntMin(ElementType type) {
  return type == isa::UINT8 ? 0 : -(int64_t{1} << (8 * isa::ElementBytes(type) - 1));
}
int64_t IntMax(ElementType type) {
  return type == isa::UINT8 ? 255 : (int64_t{1} << (8 * isa::ElementBytes(type) - 1)) - 1;
}

// Conversion of one element: saturating for integer results, round to
// nearest even for float -> int (NaN gives 0) and for narrowing floats.
uint32_t ConvertElement(ElementType from, ElementType to, uint32_t raw) {
  if (isa::IsFloatType(to)) {
    if (isa::IsFloatType(from)) return FromFloat(to, ToFloat(from, raw));
    // int -> float: one rounding from the exact integer (int32 may exceed fp32).
    return FromFloat(to, isa::RoundToFloat(static_cast<double>(ToInt(from, raw))));
  }
  int64_t value;
  if (isa::IsFloatType(from)) {
    const double real = ToFloat(from, raw);
    if (std::isnan(real)) {
      value = 0;
    } else {
      const double clamped = std::min<double>(std::max<double>(real, IntMin(to)), IntMax(to));
      value = static_cast<int64_t>(std::nearbyint(clamped));  // Default rounding: to nearest even.
    }
  } else {
    value = std::min(std::max(ToInt(from, raw), IntMin(to)), IntMax(to));
  }
  return WrapInt(value);
}

uint32_t IntOp(Opcode opcode, ElementType type, int64_t amount, uint32_t ra, uint32_t rb,
               uint32_t rc) {
  const int64_t x = ToInt(type, ra);
  const int64_t y = ToInt(type, rb);
  const int bits = 8 * isa::ElementBytes(type);
  const uint64_t mask = bits == 64 ? ~0ull : ((1ull << bits) - 1);
  switch (opcode) {
    case Opcode::kAdd:
      return WrapInt(x + y);
    case Opcode::kSub:
      return WrapInt(x - y);
    case Opcode::kMul:
      return WrapInt(static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)));
    case Opcode::kMax:
      return WrapInt(std::max(x, y));
    case Opcode::kMin:
      return WrapInt(std::min(x, y));
    case Opcode::kCmpLt:
      return x < y ? 1 : 0;
    case Opcode::kCmpEq:
      return x == y ? 1 : 0;
    case Opcode::kSelect:
      return ToInt(type, rc) != 0 ? ra : rb;
    case Opcode::kShl:
      return static_cast<uint32_t>((static_cast<uint64_t>(ra) << amount) & mask);
    case Opcode::kShr:
      // Arithmetic for signed types, logical for uint8.
      return WrapInt(x >> amount);
    case Opcode::kNeg:
      return WrapInt(-x);
    case Opcode::kAbs:
      return WrapInt(x < 0 ? -x : x);
    case Opcode::kRelu:
      return WrapInt(x < 0 ? 0 : x);
    // Not integer VXM operations: rejected when decoding.
    case Opcode::kRead: case Opcode::kWrite: case Opcode::kGather: case Opcode::kScatter:
    case Opcode::kConvert: case Opcode::kExp: case Opcode::kTanh: case Opcode::kRsqrt:
    case Opcode::kRecip: case Opcode::kLoadWeights: case Opcode::kInstallWeights:
    case Opcode::kMultiply: case Opcode::kAccumulate: case Opcode::kShift: case Opcode::kRotate:
    case Opcode::kPermute: case Opcode::kDistribute: case Opcode::kTranspose: case Opcode::kSend:
    case Opcode::kReceive: case Opcode::kDeskew: case Opcode::kNop: case Opcode::kRepeat:
    case Opcode::kSync: case Opcode::kNotify:
      break;
  }
  return 0;
}

uint32_t FloatOp(Opcode opcode, ElementType type, uint32_t ra, uint32_t rb, uint32_t rc) {
  const float x = ToFloat(type, ra);
  const float y = ToFloat(type, rb);
  float result = 0.0f;
  switch (opcode) {
    case Opcode::kAdd:
      result = x + y;
      break;
    case Opcode::kSub:
      result = x - y;
      break;
    case Opcode::kMul:
      result = x * y;
      break;
    case Opcode::kMax:
      result = std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN()
                                               : std::max(x, y);
      break;
    case Opcode::kMin:
      result = std::isnan(x) || std::isnan(y) ? std::numeric_limits<float>::quiet_NaN()
                                               : std::min(x, y);
      break;
    case Opcode::kCmpLt:
      result = x < y ? 1.0f : 0.0f;
      break;
    case Opcode::kCmpEq:
      result = x == y ? 1.0f : 0.0f;
      break;
    case Opcode::kSelect:
      return ToFloat(type, rc) != 0.0f ? ra : rb;
    case Opcode::kNeg:
      return FromFloat(type, -x);
    case Opcode::kAbs:
      return FromFloat(type, std::fabs(x));
    case Opcode::kRelu:
      result = x > 0.0f ? x : 0.0f;
      break;
    case Opcode::kExp:
      result = std::exp(x);
      break;
    case Opcode::kTanh:
      result = std::tanh(x);
      break;
    case Opcode::kRsqrt:
      result = 1.0f / std::sqrt(x);
      break;
    case Opcode::kRecip:
      result = 1.0f / x;
      break;
    // Not float VXM operations: rejected when decoding.
    case Opcode::kRead: case Opcode::kWrite: case Opcode::kGather: case Opcode::kScatter:
    case Opcode::kShl: case Opcode::kShr: case Opcode::kConvert: case Opcode::kLoadWeights:
    case Opcode::kInstallWeights: case Opcode::kMultiply: case Opcode::kAccumulate:
    case Opcode::kShift: case Opcode::kRotate: case Opcode::kPermute: case Opcode::kDistribute:
    case Opcode::kTranspose: case Opcode::kSend: case Opcode::kReceive: case Opcode::kDeskew:
    case Opcode::kNop: case Opcode::kRepeat: case Opcode::kSync: case Opcode::kNotify:
      return 0;
  }
  return FromFloat(type, result);
}

}  // namespace

void ExecuteVectorOp(Opcode opcode, ElementType type, ElementType to_type, int64_t amount,
                     const uint8_t* a, const uint8_t* b, const uint8_t* c, int lanes,
                     uint8_t* out) {
  const int width = isa::ElementBytes(type);
  const int out_width = opcode == Opcode::kConvert ? isa::ElementBytes(to_type) : width;
  const bool is_float = isa::IsFloatType(type);
  for (int lane = 0; lane < lanes; ++lane) {
    const uint32_t ra = LoadRaw(a, lanes, width, lane);
    const uint32_t rb = b != nullptr ? LoadRaw(b, lanes, width, lane) : 0;
    const uint32_t rc = c != nullptr ? LoadRaw(c, lanes, width, lane) : 0;
    uint32_t result;
    if (opcode == Opcode::kConvert) {
      result = ConvertElement(type, to_type, ra);
    } else if (is_float) {
      result = FloatOp(opcode, type, ra, rb, rc);
    } else {
      result = IntOp(opcode, type, amount, ra, rb, rc);
    }
    StoreRaw(result, lanes, out_width, lane, out);
  }
}

}  // namespace tsp::emulator
