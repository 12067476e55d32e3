#include "isa/timing.h"

namespace tsp::isa {

int64_t QueueFreeCycle(Opcode opcode, int64_t issue_cycle, int64_t n, int64_t every) {
  switch (opcode) {
    case Opcode::kNop:
      return issue_cycle + n;
    case Opcode::kRepeat:
      return RepetitionCycle(issue_cycle, every, n - 1) + 1;
    case Opcode::kRead:
    case Opcode::kWrite:
    case Opcode::kGather:
    case Opcode::kScatter:
    case Opcode::kAdd:
    case Opcode::kSub:
    case Opcode::kMul:
    case Opcode::kMax:
    case Opcode::kMin:
    case Opcode::kCmpLt:
    case Opcode::kCmpEq:
    case Opcode::kSelect:
    case Opcode::kShl:
    case Opcode::kShr:
    case Opcode::kNeg:
    case Opcode::kAbs:
    case Opcode::kRelu:
    case Opcode::kConvert:
    case Opcode::kExp:
    case Opcode::kTanh:
    case Opcode::kRsqrt:
    case Opcode::kRecip:
    case Opcode::kLoadWeights:
    case Opcode::kInstallWeights:
    case Opcode::kMultiply:
    case Opcode::kAccumulate:
    case Opcode::kShift:
    case Opcode::kRotate:
    case Opcode::kPermute:
    case Opcode::kDistribute:
    case Opcode::kTranspose:
    case Opcode::kSend:
    case Opcode::kReceive:
    case Opcode::kDeskew:
    case Opcode::kSync:
    case Opcode::kNotify:
      return issue_cycle + 1;
  }
  return issue_cycle + 1;
}

}  // namespace tsp::isa
