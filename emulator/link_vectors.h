#ifndef TSP_EMULATOR_LINK_VECTORS_H_
#define TSP_EMULATOR_LINK_VECTORS_H_

// The vectors a chip exchanges over its C2C ports: what arrives (from the
// system, or a test) and what its Sends put on links. Shared by the emulator
// and the verifier.

#include <cstdint>
#include <string>

namespace tsp::emulator {

// A vector arriving at a C2C port from outside the chip.
struct InboundVector {
  std::string slice;        // C2C slice, e.g. "C2C_W".
  int port = 0;
  int64_t arrival_cycle = 0;
  std::string data;         // lanes bytes; may be empty in timing-only mode.
  // The Send that put it on the link (a Receive's intent names it): its
  // chip, queue and issue cycle; from_chip -1 when not known (then a
  // Receive's intent is not checked).
  int from_chip = -1;
  std::string from_queue;
  int64_t send_cycle = -1;
  // The system hands it to the receiving chip once that chip has run through
  // this cycle (-1: before the run), so a Receive before then does not see it
  // due. The emulator learns this from when AddInbound is called; the
  // verifier, which is given every arrival at once, from here.
  int64_t delivered_after = -1;
};

// A vector a Send put on a link.
struct OutboundVector {
  std::string slice;
  int port = 0;
  int64_t departure_cycle = 0;
  std::string data;         // Empty in timing-only mode.
  std::string queue;        // The Send's queue and issue cycle.
  int64_t send_cycle = 0;
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_LINK_VECTORS_H_
