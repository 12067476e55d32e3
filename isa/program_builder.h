#ifndef TSP_ISA_PROGRAM_BUILDER_H_
#define TSP_ISA_PROGRAM_BUILDER_H_

// Collects instructions per queue in any order and emits a Program with each
// queue's instructions sorted by cycle (stably, so a Repeat stays after the
// instruction it repeats), queues in the chip's order.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "isa/chip_model.h"
#include "isa/program.pb.h"

namespace tsp::isa {

StreamRef Stream(Direction direction, int index);

class ProgramBuilder {
 public:
  Instruction& Add(const std::string& queue, int64_t cycle, absl::string_view opcode);
  // A Read at `cycle` and, when count > 1, a Repeat for the following cycles
  // reading consecutive addresses.
  void ReadRun(const std::string& queue, int64_t cycle, int64_t address, int64_t count,
               const StreamRef& dst);
  bool empty() const { return queues_.empty(); }
  // Appends the queues to `program` (memory images and lane maps are the caller's).
  void Emit(const ChipModel& chip, Program* program);

 private:
  std::map<std::string, std::vector<Instruction>> queues_;
};

}  // namespace tsp::isa

#endif  // TSP_ISA_PROGRAM_BUILDER_H_
