#include "isa/element_type.h"

namespace tsp::isa {

int ElementBytes(ElementType type) {
  switch (type) {
    case ELEMENT_TYPE_UNSPECIFIED:
    case INT8:
    case UINT8:
      return 1;
    case INT16:
    case FP16:
    case BF16:
      return 2;
    case INT32:
    case FP32:
      return 4;
    case ElementType_INT_MIN_SENTINEL_DO_NOT_USE_:
    case ElementType_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return 1;
}

absl::string_view ElementTypeName(ElementType type) {
  switch (type) {
    case ELEMENT_TYPE_UNSPECIFIED:
      return "bytes";
    case INT8:
      return "int8";
    case UINT8:
      return "uint8";
    case INT16:
      return "int16";
    case INT32:
      return "int32";
    case FP16:
      return "fp16";
    case BF16:
      return "bf16";
    case FP32:
      return "fp32";
    case ElementType_INT_MIN_SENTINEL_DO_NOT_USE_:
    case ElementType_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "?";
}

std::optional<ElementType> ParseElementType(absl::string_view name) {
  for (ElementType type : {INT8, UINT8, INT16, INT32, FP16, BF16, FP32}) {
    if (ElementTypeName(type) == name) return type;
  }
  return std::nullopt;
}

bool IsFloatType(ElementType type) { return type == FP16 || type == BF16 || type == FP32; }

}  // namespace tsp::isa
