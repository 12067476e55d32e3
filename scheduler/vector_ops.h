#ifndef TSP_SCHEDULER_VECTOR_OPS_H_
#define TSP_SCHEDULER_VECTOR_OPS_H_

// The compiler's vocabulary on one chip: vectors in SRAM and the operations
// on them, each placed by the ChipScheduler at its earliest cycle.
//
// Layout (ASSUMED, this compiler's choice): a vector of 320 lanes of a type of
// b bytes is b byte planes at one address of b neighbouring MEM slices on one
// side of the VXM. The 12 slices next to the VXM on each side hold
// activations (3 groups of 4); the 32 outer slices on each side hold matrices
// streamed into the MXM, one row per slice and address, 32 rows a cycle.
// When a chip's matrices do not fit those (set_spread_weights), tiles also
// take activation slices from their top down, above the low addresses kept
// for activations: each tile then streams from the 32 slices of its side
// with the most room, so all 44 fill evenly.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/opcode.h"
#include "scheduler/chip_scheduler.h"

namespace tsp::scheduler {

enum class Side { kWest = 0, kEast = 1 };

struct Vec {
  isa::ElementType type = isa::FP32;
  Side side = Side::kWest;
  std::array<int, 4> slices{};  // Slice positions of byte planes 0 .. planes() - 1.
  int64_t address = 0;
  int planes() const { return isa::ElementBytes(type); }
};

// A matrix streamed into the MXM: row_tiles x column_tiles tiles of
// lanes x lanes, tile t's row r in weight slice (r % rows_per_load) * width +
// plane at address base + t * loads + r / rows_per_load. Rows and columns
// beyond the matrix are zero. A spread matrix says instead where each tile's
// streams are.
struct StreamPlace {
  int slice = 0;
  int64_t address = 0;  // Of the tile's first load; its loads follow.
};

// Initial contents of consecutive vectors of one slice from `address`.
struct SramImage {
  int slice = 0;
  int64_t address = 0;
  std::string bytes;  // lanes() bytes a vector.
};

struct StreamedMatrix {
  Side side = Side::kWest;
  isa::ElementType type = isa::INT8;
  int64_t rows = 0;
  int64_t columns = 0;
  int row_tiles = 0;
  int column_tiles = 0;
  int64_t base = 0;
  int loads = 0;  // LoadWeights per tile.
  // Spread layout: tile-major, one place per stream; null for the fixed one.
  std::shared_ptr<const std::vector<StreamPlace>> places;
};

class VectorOps {
 public:
  VectorOps(ChipScheduler& scheduler, bool with_data);

  ChipScheduler& scheduler() { return scheduler_; }
  const isa::ChipModel& chip() const { return scheduler_.chip(); }
  int lanes() const { return chip().lanes(); }
  bool with_data() const { return with_data_; }
  // Whether constants and matrices get memory images (e.g. off while
  // allocating weights whose images are already known).
  void set_with_data(bool with_data) { with_data_ = with_data; }

  // A fresh vector (no reuse within a program, so no false dependences).
  absl::StatusOr<Vec> NewVec(isa::ElementType type, Side side);
  // A fresh vector in a group that holds none of `slices`, either side.
  absl::StatusOr<Vec> NewVecAvoiding(isa::ElementType type, const std::vector<int>& slices);
  // A vector with initial contents: raw element bits per lane (`lanes()`
  // values; missing lanes are zero). Without data, only the space.
  absl::StatusOr<Vec> Constant(isa::ElementType type, Side side, const std::vector<uint32_t>& bits);
  absl::StatusOr<Vec> ConstantFloat(Side side, const std::vector<float>& values);
  absl::StatusOr<Vec> Splat(Side side, float value);

  // dst = op(a, b[, c]) on the VXM; `to_type` for Convert, `amount` for Shl/Shr.
  absl::StatusOr<Vec> Vxm(isa::Opcode opcode, isa::ElementType type, const std::vector<Vec>& operands,
                          Side side, isa::ElementType to_type = isa::ELEMENT_TYPE_UNSPECIFIED,
                          int amount = 0);
  // The same into an existing vector (of the result's type).
  absl::Status VxmInto(isa::Opcode opcode, isa::ElementType type, const std::vector<Vec>& operands,
                       const Vec& out, isa::ElementType to_type = isa::ELEMENT_TYPE_UNSPECIFIED,
                       int amount = 0);
  // Lanes moved by the SXM on the operand's side: Shift/Rotate by `amount`,
  // Permute by `map` (lane i gets lane map[i], -1 zero).
  absl::StatusOr<Vec> Shift(isa::Opcode opcode, const Vec& a, int amount, Side side);
  absl::StatusOr<Vec> Permute(const Vec& a, const std::vector<int>& map, Side side);
  // The vector at another place (the same bits).
  absl::StatusOr<Vec> Copy(const Vec& a, Side side);
  // Writes `value` into `at` (an existing vector, e.g. a cache row): a copy.
  absl::Status CopyInto(const Vec& value, const Vec& at);

  // Space for a streamed matrix; with data, `bits(row, column)` gives each raw
  // element (int8 or fp16 bits), rows and columns beyond the matrix are zero.
  absl::StatusOr<StreamedMatrix> NewMatrix(Side side, isa::ElementType type, int64_t rows,
                                           int64_t columns);
  void FillMatrix(const StreamedMatrix& matrix,
                  const std::function<uint16_t(int64_t, int64_t)>& bits);
  // The SRAM images that hold the matrix with those elements (with or
  // without data).
  std::vector<SramImage> MatrixImages(const StreamedMatrix& matrix,
                                      const std::function<uint16_t(int64_t, int64_t)>& bits) const;
  // The vector that is row `row` of the matrix (for caches written a row at a time).
  Vec MatrixRow(const StreamedMatrix& matrix, int64_t row) const;

  // y = W x on the MXM plane of the matrix's side: x holds column_tiles
  // vectors (int8 or fp16, on the matrix's side); returns row_tiles vectors
  // (int32 or fp32). Only the first `row_tiles` / `column_tiles` given are
  // used when smaller (a cache filled up to some row).
  absl::StatusOr<std::vector<Vec>> MatVec(const StreamedMatrix& matrix, const std::vector<Vec>& x,
                                          int row_tiles, int column_tiles);
  // The same for a batch: x[b] holds member b's column_tiles vectors; returns
  // each member's row_tiles vectors. Each tile is installed once per group of
  // up to mxm_accumulators() members and multiplies every member's vector of
  // the group, each summed in its own accumulator (isa/README.md, "MXM").
  absl::StatusOr<std::vector<std::vector<Vec>>> MatMul(const StreamedMatrix& matrix,
                                                       const std::vector<std::vector<Vec>>& x, int row_tiles,
                                                       int column_tiles);

  int64_t activation_addresses_used() const;
  // Addresses of the weight slices in use on a side (beyond the slice's size
  // when overflow is allowed).
  // (Spread: the side's addresses over all its slices / 32, exact since a
  // tile takes the same addresses on 32 slices.)
  int64_t weight_addresses_used(Side side) const;
  // Addresses of a side that matrices may take: all of the weight slices and,
  // when spread, the activation slices above their low activation_reserve().
  int64_t weight_capacity_addresses() const;
  int64_t activation_reserve() const;
  // Matrices placed past the SRAM (only when overflow is allowed), in
  // addresses of one slice summed over slices.
  int64_t weight_overflow() const { return weight_overflow_; }
  // Lets allocation run past the SRAM (no program can be built then): for
  // measuring how much a partition would need.
  void set_allow_overflow(bool allow) { allow_overflow_ = allow; }
  bool allow_overflow() const { return allow_overflow_; }
  // The same for matrices alone (vectors keep their check): to try a layout.
  void set_allow_weight_overflow(bool allow) { allow_weight_overflow_ = allow; }
  // Matrices allocated from now on spread over activation slices too (set on
  // a fresh chip, before anything is allocated).
  void set_spread_weights(bool spread);
  bool spread_weights() const { return spread_; }
  int weight_slices_per_side() const { return static_cast<int>(weight_slices_[0].size()); }
  int activation_slices_per_side() const { return static_cast<int>(activation_slices_[0].size()); }

 private:
  // The cycles of the last operations placed on one MXM plane, from which the
  // next tile's load, install, multiply and accumulate are bounded.
  struct MxmPlaneTimes {
    int position = 0;
    int64_t last_install = -1'000'000;
    int64_t last_multiply = -1'000'000;
    std::vector<int64_t> last_accumulate;  // By accumulator (none yet: far past).
    int64_t LastAccumulate(int accumulator) const {
      return accumulator < static_cast<int>(last_accumulate.size()) ? last_accumulate[accumulator] : -1'000'000;
    }
    int64_t last_load = -1'000'000;
  };
  // Streams tile `tile` of `m` into its plane's weight buffer and installs
  // it, after the plane's previous install and multiplies; the install's cycle.
  absl::StatusOr<int64_t> InstallTile(const StreamedMatrix& m, int64_t tile);
  // Reads the planes of `v` so that they pass `position` in `cycle`, on a
  // free stream group; returns its first stream or -1. `cycle` is the
  // claim's anchor plus a constant (a busy read queue skips anchors).
  // `sources` gets the Reads, one per stream, as the consumer's intent.
  int ReadTo(Claim& claim, const Vec& v, int position, int64_t cycle, std::vector<SourceEntry>* sources);
  // Writes the value on streams [first, first + planes) leaving `position`
  // in `cycle` into `v`; `producer` made the value (the Writes' intent).
  bool WriteFrom(Claim& claim, const Vec& v, int position, int64_t cycle, isa::Direction direction, int first,
                 const SourceEntry& producer);
  // out = the SXM operation on a (on a's side of the chip).
  absl::Status SxmInto(isa::Opcode opcode, const Vec& a, int amount_or_map, const Vec& out);
  // Earliest cycle the operand may pass `position` (its planes readable).
  int64_t ArrivalLowerBound(const Vec& v, int position) const;
  int Distance(int a, int b) const { return a > b ? a - b : b - a; }
  // Where stream `stream` of tile `tile` reads its first load.
  StreamPlace TileStream(const StreamedMatrix& m, int64_t tile, int stream) const;
  absl::StatusOr<std::shared_ptr<const std::vector<StreamPlace>>> SpreadTiles(int side, int64_t tiles,
                                                                                int streams, int loads);
  // Lowest address weights take in an activation slice (the slice's size if none).
  int64_t WeightFloor(int side, int activation_index) const;

  ChipScheduler& scheduler_;
  bool with_data_;
  int vxm_ = 0;
  int sxm_[2] = {0, 0};
  int mxm_[2] = {0, 0};  // Positions of the planes used (pair-first planes).
  MxmPlaneTimes planes_[2];
  std::vector<int> activation_slices_[2];
  std::vector<int> weight_slices_[2];
  std::vector<int64_t> group_next_[2];  // Next free address per activation group.
  int next_group_[2] = {0, 0};
  int64_t weight_next_[2] = {0, 0};
  bool allow_overflow_ = false;
  bool allow_weight_overflow_ = false;
  bool spread_ = false;
  // Spread: addresses taken per slice of a side, weight slices first (from
  // address 0 up), then activation slices (from the top down).
  std::vector<int64_t> slice_used_[2];
  int64_t weight_overflow_ = 0;
  int next_alu_ = 0;
  int next_sxm_queue_ = 0;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_VECTOR_OPS_H_
