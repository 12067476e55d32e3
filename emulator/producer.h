#ifndef TSP_EMULATOR_PRODUCER_H_
#define TSP_EMULATOR_PRODUCER_H_

// Which instruction made a value (a stream slot's, an SRAM word's, the MXM's
// weights and products): what the intent checks compare with the program's
// Intent, and what error messages name.

#include <cstdint>

namespace tsp::emulator {

struct Producer {
  int queue = -1;         // Runtime queue index (DecodedProgram::queues); -1: none.
  int instruction = -1;   // Index in the queue's program.
  int64_t issue_cycle = 0;  // Of the repetition, for a Repeat's.
  bool operator==(const Producer& other) const {
    return queue == other.queue && issue_cycle == other.issue_cycle;
  }
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_PRODUCER_H_
