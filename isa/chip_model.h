#ifndef TSP_ISA_CHIP_MODEL_H_
#define TSP_ISA_CHIP_MODEL_H_

// A validated ChipSpec with the tables derived from it: slices and their
// stream-register positions, instruction queues, and the latency of every
// opcode. Both the emulator and the scheduler read the chip through this.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "isa/chip_spec.pb.h"
#include "isa/opcode.h"

namespace tsp::isa {

struct SliceInfo {
  std::string name;      // "MEM_W12", "VXM", ...
  SliceKind kind;
  int position;          // Stream-register position, 0 at the west edge.
  int kind_index;        // Index among slices of the same kind, west to east.
  int first_queue;       // Index of its first queue in ChipModel::queues().
  int queue_count;
};

struct QueueInfo {
  std::string name;      // "MEM_W12", "VXM.3", "MXM_E0.1", ...
  int slice;             // Index in ChipModel::slices().
  int index_in_slice;
};

class ChipModel {
 public:
  // Validates `spec` (every figure present, positive and sourced; the
  // floorplan's queues add up to compute_queues; MEM geometry consistent with
  // the address width; a latency for every opcode and none unknown) and
  // derives the tables. The error names the field and says what is wrong.
  static absl::StatusOr<ChipModel> Create(const ChipSpec& spec);

  const ChipSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name(); }

  int64_t clock_hz() const { return spec_.clock_hz().value(); }
  int superlanes() const { return static_cast<int>(spec_.superlanes().value()); }
  int lanes_per_superlane() const { return static_cast<int>(spec_.lanes_per_superlane().value()); }
  int lanes() const { return superlanes() * lanes_per_superlane(); }
  int64_t superlane_skew_cycles() const { return spec_.superlane_skew_cycles().value(); }
  int streams_per_direction() const {
    return static_cast<int>(spec_.streams_per_direction().value());
  }
  // Stream-register positions: one per slice, west (0) to east.
  int positions() const { return static_cast<int>(slices_.size()); }

  // SRAM of one MEM slice: addresses of one vector (one word in every tile).
  int64_t mem_addresses() const { return mem_addresses_; }
  int64_t mem_addresses_per_bank() const { return mem_addresses_ / mem_banks(); }
  int mem_banks() const { return static_cast<int>(spec_.mem().banks_per_slice().value()); }
  int mem_word_bytes() const { return static_cast<int>(spec_.mem().word_bytes().value()); }

  int mxm_rows() const { return static_cast<int>(spec_.mxm().plane_rows().value()); }
  int mxm_columns() const { return static_cast<int>(spec_.mxm().plane_columns().value()); }
  int max_weight_rows_per_load() const {
    return static_cast<int>(spec_.mxm().max_weight_rows_per_load().value());
  }
  // Output vectors a plane accumulates at once (mxm.accumulator_vectors).
  int mxm_accumulators() const { return static_cast<int>(spec_.mxm().accumulator_vectors().value()); }
  bool IsLargeAlu(int alu) const;
  int c2c_ports_per_slice() const { return c2c_ports_per_slice_; }
  // Arrived vectors a port holds until Received (c2c.receive_buffer_vectors).
  int c2c_receive_buffer_vectors() const { return c2c_receive_buffer_vectors_; }

  const std::vector<SliceInfo>& slices() const { return slices_; }
  const std::vector<QueueInfo>& queues() const { return queues_; }
  std::optional<int> FindSlice(absl::string_view name) const;
  std::optional<int> FindQueue(absl::string_view name) const;
  // Slices of one kind, west to east.
  std::vector<int> SlicesOfKind(SliceKind kind) const;

  // d_func of `opcode`, from the spec's timing table.
  int64_t latency_cycles(Opcode opcode) const { return latency_[static_cast<int>(opcode)]; }

 private:
  ChipSpec spec_;
  int64_t mem_addresses_ = 0;
  int c2c_ports_per_slice_ = 0;
  int c2c_receive_buffer_vectors_ = 1;
  std::vector<SliceInfo> slices_;
  std::vector<QueueInfo> queues_;
  std::map<std::string, int, std::less<>> slice_by_name_;
  std::map<std::string, int, std::less<>> queue_by_name_;
  std::vector<int64_t> latency_;
};

absl::string_view SliceKindName(SliceKind kind);

// Checks that `source` names where a figure comes from: a key of
// docs/tsp-facts.md (ISCA20, ISCA22, HC34, SHIP, GAPI, GFLOW, ALCF, LLMPERF,
// AA), "S:" for secondary sources, "DERIVED: ..." or "ASSUMED: <reason>".
bool IsValidSource(absl::string_view source);

}  // namespace tsp::isa

#endif  // TSP_ISA_CHIP_MODEL_H_
