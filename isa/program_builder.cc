#include "isa/program_builder.h"

#include <algorithm>

namespace tsp::isa {

StreamRef Stream(Direction direction, int index) {
  StreamRef ref;
  ref.set_direction(direction);
  ref.set_index(index);
  return ref;
}

Instruction& ProgramBuilder::Add(const std::string& queue, int64_t cycle, absl::string_view opcode) {
  std::vector<Instruction>& list = queues_[queue];
  list.emplace_back();
  list.back().set_cycle(cycle);
  std::optional<Opcode> op = FindOpcode(opcode);
  if (op.has_value()) SetInstructionOpcode(*op, &list.back());
  return list.back();
}

void ProgramBuilder::ReadRun(const std::string& queue, int64_t cycle, int64_t address,
                             int64_t count, const StreamRef& dst) {
  Instruction& read = Add(queue, cycle, "Read");
  read.set_address(address);
  *read.mutable_dst() = dst;
  if (count > 1) {
    Instruction& repeat = Add(queue, cycle + 1, "Repeat");
    repeat.set_n(count - 1);
    repeat.set_every(1);
    repeat.set_stride(1);
  }
}

void ProgramBuilder::Emit(const ChipModel& chip, Program* program) {
  for (const QueueInfo& info : chip.queues()) {
    auto it = queues_.find(info.name);
    if (it == queues_.end()) continue;
    std::stable_sort(it->second.begin(), it->second.end(),
                     [](const Instruction& x, const Instruction& y) { return x.cycle() < y.cycle(); });
    QueueProgram* queue = program->add_queues();
    queue->set_queue(info.name);
    for (Instruction& instruction : it->second) *queue->add_instructions() = std::move(instruction);
  }
  queues_.clear();
}

}  // namespace tsp::isa
