#include "emulator/sram.h"

#include <cstring>

namespace tsp::emulator {

Sram::Sram(int slices, int64_t addresses, int lanes, int banks, bool keep_values)
    : addresses_(addresses),
      lanes_(lanes),
      banks_(banks),
      keep_values_(keep_values),
      reads_(static_cast<size_t>(slices) * banks),
      writes_(static_cast<size_t>(slices) * banks),
      reads_through_(static_cast<size_t>(slices) * banks, INT64_MIN),
      zeros_(lanes, 0),
      writer_pages_(slices) {
  for (auto& slice_pages : writer_pages_) slice_pages.resize((addresses + kPageVectors - 1) / kPageVectors);
  if (keep_values_) {
    pages_.resize(slices);
    for (auto& slice_pages : pages_) {
      slice_pages.resize((addresses + kPageVectors - 1) / kPageVectors);
    }
  }
}

const uint8_t* Sram::Vector(int slice, int64_t address) const {
  if (!keep_values_) return nullptr;
  const auto& page = pages_[slice][address / kPageVectors];
  if (page == nullptr) return zeros_.data();
  return &page[(address % kPageVectors) * lanes_];
}

void Sram::WriteVector(int slice, int64_t address, const uint8_t* bytes) {
  if (!keep_values_) return;
  auto& page = pages_[slice][address / kPageVectors];
  if (page == nullptr) {
    page = std::make_unique<uint8_t[]>(static_cast<size_t>(kPageVectors) * lanes_);
    std::memset(page.get(), 0, static_cast<size_t>(kPageVectors) * lanes_);
  }
  std::memcpy(&page[(address % kPageVectors) * lanes_], bytes, lanes_);
}

const Sram::Writers& Sram::WritersOf(int slice, int64_t address) const {
  const auto& page = writer_pages_[slice][address / kPageVectors];
  return page == nullptr ? never_written_ : page[address % kPageVectors];
}

Sram::Writers& Sram::MutableWritersOf(int slice, int64_t address) {
  auto& page = writer_pages_[slice][address / kPageVectors];
  if (page == nullptr) page = std::make_unique<Writers[]>(kPageVectors);
  return page[address % kPageVectors];
}

}  // namespace tsp::emulator
