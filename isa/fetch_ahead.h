#ifndef TSP_ISA_FETCH_AHEAD_H_
#define TSP_ISA_FETCH_AHEAD_H_

// Fetching a compiled program's instructions from memory ahead of a pass
// over them. An instruction, its stream operands, its intent and the
// intent's lists are separate arena objects, scattered through memory and
// each visited once by a pass (the scheduler's renumbering, decoding): most
// of such a pass is waiting for them. Each object's pointer is only readable
// once its parent has arrived, so they are fetched in stages, parents
// furthest ahead.
//
// Both functions are always inlined: GCC counts a prefetch as free of side
// effects, so it finds a function of nothing but prefetches pure and drops
// every call to it.

#include "isa/program.pb.h"

namespace tsp::isa {

// Every cache line of `message` (arena messages are 8-byte aligned, so they
// straddle lines).
template <typename Message>
[[gnu::always_inline]] inline void FetchObject(const Message* message) {
  constexpr int kLine = 64;
  const char* begin = reinterpret_cast<const char*>(message);
  for (const char* line = begin; line < begin + sizeof(Message); line += kLine) __builtin_prefetch(line);
  __builtin_prefetch(begin + sizeof(Message) - 1);
}

// Call before visiting instruction `i` of `size`; `at(k)` returns
// instruction k.
template <typename At>
[[gnu::always_inline]] inline void FetchInstructionsAhead(int i, int size, const At& at) {
  constexpr int kAhead = 16;  // Instructions; a pass's work on each is a few dozen cycles.
  if (i + kAhead < size) FetchObject(&at(i + kAhead));
  if (i + kAhead / 2 < size) {
    const Instruction& ahead = at(i + kAhead / 2);
    if (ahead.has_a()) __builtin_prefetch(&ahead.a());
    if (ahead.has_dst()) __builtin_prefetch(&ahead.dst());
    if (ahead.has_intent()) FetchObject(&ahead.intent());
  }
  if (i + kAhead / 4 < size) {
    const Instruction& ahead = at(i + kAhead / 4);
    if (ahead.has_intent()) {
      const Intent& intent = ahead.intent();
      for (const Sources* list : {&intent.a(), &intent.b(), &intent.memory()}) FetchObject(list);
    }
  }
  if (i + kAhead / 8 < size) {
    const Instruction& ahead = at(i + kAhead / 8);
    if (ahead.has_intent()) {
      const Intent& intent = ahead.intent();
      for (const Sources* list : {&intent.a(), &intent.b(), &intent.memory()}) {
        if (list->queue_size() == 0) continue;
        __builtin_prefetch(list->queue().data());
        __builtin_prefetch(list->at().data());
      }
    }
  }
}

}  // namespace tsp::isa

#endif  // TSP_ISA_FETCH_AHEAD_H_
