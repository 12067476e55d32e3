#ifndef TSP_EMULATOR_DECODED_PROGRAM_H_
#define TSP_EMULATOR_DECODED_PROGRAM_H_

// A Program checked against one chip and laid out for fast execution: queue
// and slice names resolved to indices, stream groups to (direction, first
// stream, width), and everything that can be checked before running checked.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/opcode.h"
#include "isa/program.pb.h"

namespace tsp::emulator {

struct StreamGroup {
  isa::Direction direction = isa::DIRECTION_UNSPECIFIED;
  int16_t first = 0;
  int16_t width = 0;  // Streams (byte planes); 0 when the operand is absent.
};

// What issuing needs comes first, within one 64-byte cache line: a large
// program's instructions are each visited once, and waiting for memory is
// most of the cost of issuing them. Immediates are 32 bits (DecodeProgram
// rejects wider ones): a chip's program has hundreds of thousands of these,
// and their bytes are what decoding writes and issuing reads.
struct DecodedInstruction {
  isa::Opcode opcode;
  int32_t index = 0;  // Position in its QueueProgram.
  int64_t cycle = 0;
  int32_t n = 0;
  int32_t every = 0;
  int32_t stride = 0;
  int32_t address = 0;
  StreamGroup dst;
  isa::ElementType type = isa::ELEMENT_TYPE_UNSPECIFIED;
  StreamGroup a, b, c;
  isa::ElementType to_type = isa::ELEMENT_TYPE_UNSPECIFIED;
  int32_t row = 0;
  int32_t rows = 1;
  int32_t amount = 0;
  int32_t map = 0;
  int32_t port = 0;
  int32_t accumulator = 0;  // Multiply, Accumulate (a Repeat's stride steps it).
  // Its intent lists (a, b, c, memory, in IntentList order) as they are in
  // DecodedQueue::intent_sources from intent_first on, one after another.
  uint32_t intent_first = 0;
  uint32_t intent_sizes[4] = {0, 0, 0, 0};
  // What each operand is meant to read (program.proto, Intent); null when
  // the program does not say. Checked against the values it reads.
  const isa::Intent* intent = nullptr;
};

// The intent lists of an instruction (isa::Intent's a, b, c and memory).
enum class IntentList { kA = 0, kB = 1, kC = 2, kMemory = 3 };

// One entry of an intent list (isa::Sources), copied out of the protobuf:
// issuing reads a queue's entries in order instead of chasing a message and
// two arrays for each operand.
struct IntentSource {
  int32_t queue;  // Index in Program.queues; -1: the initial contents.
  int64_t at;
};

struct IntentSpan {
  const IntentSource* data = nullptr;
  int size = 0;  // 0: the program names no intent for the operand.
};

struct DecodedQueue {
  int queue = 0;  // Index in ChipModel::queues().
  int slice = 0;
  std::vector<DecodedInstruction> instructions;
  const isa::QueueProgram* source = nullptr;
  int program_queue = 0;  // Its index in Program.queues.
  std::vector<IntentSource> intent_sources;  // Its instructions', in order.

  IntentSpan Intent(const DecodedInstruction& instruction, IntentList list) const {
    const int k = static_cast<int>(list);
    uint32_t first = instruction.intent_first;
    for (int i = 0; i < k; ++i) first += instruction.intent_sizes[i];
    return {intent_sources.data() + first, static_cast<int>(instruction.intent_sizes[k])};
  }
};

struct DecodedMemoryImage {
  int slice;
  int64_t address;
  const std::string* data;
};

struct DecodedOutput {
  int slice;
  int64_t address;
  const isa::Source* written_by;
};

struct DecodedProgram {
  std::vector<DecodedQueue> queues;  // Sorted by queue index.
  // For each of the program's queues (Program.queues order, which intent
  // sources name), its index in `queues`.
  std::vector<int> queue_of_program_queue;
  std::vector<DecodedMemoryImage> memory;
  std::vector<DecodedOutput> outputs;
  const isa::Program* source = nullptr;
};

// Checks `program` against `chip` and decodes it. Errors name the queue, the
// cycle and the instruction, and say what is wrong: an unknown queue, an
// opcode the queue's slice does not have, a stream outside the chip, a Max on
// a small ALU, a lane map of the wrong size, a Repeat with nothing to repeat.
// `program` must outlive the result. `chip_label` prefixes errors ("chip 3").
absl::StatusOr<DecodedProgram> DecodeProgram(const isa::ChipModel& chip,
                                             const isa::Program& program,
                                             const std::string& chip_label = "chip 0");

// "chip 0, queue MEM_W3, cycle 1204, `@1204 Read address=16 dst=E3`: <cause>".
std::string DescribeInstruction(const std::string& chip_label, const isa::ChipModel& chip,
                                const DecodedQueue& queue, const DecodedInstruction& instruction);

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_DECODED_PROGRAM_H_
