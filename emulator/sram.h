#ifndef TSP_EMULATOR_SRAM_H_
#define TSP_EMULATOR_SRAM_H_

// SRAM of every MEM slice, allocated lazily in pages so that a program that
// touches little memory costs little (and timing-only runs store no bytes),
// with the per-bank record of the last read and write cycle that the bank
// conflict rule needs.

#include <cstdint>
#include <memory>
#include <vector>

#include "emulator/producer.h"

namespace tsp::emulator {

class Sram {
 public:
  Sram(int slices, int64_t addresses, int lanes, int banks, bool keep_values);

  // The vector at (slice, address); zeros where nothing was written. Null in
  // timing-only mode. `slice` counts MEM slices only (SliceInfo::kind_index).
  const uint8_t* Vector(int slice, int64_t address) const;
  // Writes `bytes` (lanes bytes) at (slice, address); no-op in timing-only mode.
  void WriteVector(int slice, int64_t address, const uint8_t* bytes);

  // Bank access records. Each returns the cycle of the last access of the
  // other kind (or of the same kind, for writes), INT64_MIN if none.
  struct Access {
    int64_t cycle = INT64_MIN;
    int queue = -1;
    int instruction = -1;
    int64_t issue_cycle = 0;
  };
  Access& last_read(int slice, int bank) { return reads_[slice * banks_ + bank]; }
  Access& last_write(int slice, int bank) { return writes_[slice * banks_ + bank]; }
  // A batch of reads (one per cycle from the cycle it is recorded in) reads
  // the bank in every cycle up to this one; INT64_MIN if none.
  int64_t& reads_through(int slice, int bank) { return reads_through_[slice * banks_ + bank]; }

  // Who wrote a word, in timing-only and functional runs alike: the write
  // that landed last (none: the initial contents) and the one issued last,
  // with its landing cycle (a read between the two reads the former).
  struct Writers {
    Producer landed;
    Producer issued;
    int64_t issued_landing = -1;
  };
  const Writers& WritersOf(int slice, int64_t address) const;
  Writers& MutableWritersOf(int slice, int64_t address);

 private:
  static constexpr int64_t kPageVectors = 64;
  int64_t addresses_;
  int lanes_;
  int banks_;
  bool keep_values_;
  std::vector<std::vector<std::unique_ptr<uint8_t[]>>> pages_;  // [slice][page]
  std::vector<Access> reads_;
  std::vector<Access> writes_;
  std::vector<int64_t> reads_through_;
  std::vector<uint8_t> zeros_;
  std::vector<std::vector<std::unique_ptr<Writers[]>>> writer_pages_;  // [slice][page], on first write.
  Writers never_written_;
};

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_SRAM_H_
