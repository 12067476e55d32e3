#ifndef TSP_EMULATOR_VECTOR_UNIT_H_
#define TSP_EMULATOR_VECTOR_UNIT_H_

// The arithmetic of the VXM's ALUs, lane by lane (isa/README.md, "VXM"):
// integers wrap (two's complement) except conversions, which saturate;
// fp16 and bf16 are computed in fp32 and rounded once to the type, which is
// the correctly rounded result for +, -, x (fp32 has more than twice their
// precision plus two bits); comparisons give 1 or 0 in the operand type.

#include <cstdint>

#include "isa/opcode.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

// Computes `opcode` on byte-plane groups `a`, `b`, `c` (null when unused) of
// `lanes` lanes into `out` (ElementBytes(to_type) planes for Convert, else
// ElementBytes(type)). `amount` is the shift of Shl and Shr.
void ExecuteVectorOp(isa::Opcode opcode, isa::ElementType type, isa::ElementType to_type,
                     int64_t amount, const uint8_t* a, const uint8_t* b, const uint8_t* c,
                     int lanes, uint8_t* out);

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_VECTOR_UNIT_H_
