#ifndef TSP_ISA_ELEMENT_TYPE_H_
#define TSP_ISA_ELEMENT_TYPE_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "isa/program.pb.h"

namespace tsp::isa {

// Bytes of one element, which is also the number of streams (byte planes) a
// vector of this type occupies. 1 for ELEMENT_TYPE_UNSPECIFIED (raw bytes).
int ElementBytes(ElementType type);

// "int8", "fp32", ...; "bytes" for ELEMENT_TYPE_UNSPECIFIED.
absl::string_view ElementTypeName(ElementType type);

// Inverse of ElementTypeName for the six named types; nullopt otherwise.
std::optional<ElementType> ParseElementType(absl::string_view name);

bool IsFloatType(ElementType type);

// One bit per ElementType, for sets of allowed types.
constexpr uint32_t TypeBit(ElementType type) { return 1u << static_cast<int>(type); }

}  // namespace tsp::isa

#endif  // TSP_ISA_ELEMENT_TYPE_H_
