#include "isa/timing.h"

namespace tsp::isa {

int64_t QueueFreeCycle(Opcode opcode, int64_t issue_cycle, int64_t n, int64_t every) {
  // Only the two ICU instructions that hold the queue take longer than a cycle.
  if (opcode == Opcode::kNop) return issue_cycle + n;
  if (opcode == Opcode::kRepeat) return RepetitionCycle(issue_cycle, every, n - 1) + 1;
  return issue_cycle + 1;
}

}  // namespace tsp::isa
