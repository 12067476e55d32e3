// StreamTable against a plain set of (diagonal, stream) pairs: random takes
// and releases on chips of 32, 64, 100 and 256 streams a direction (one to
// four words a diagonal), every answer compared.

#include <cstdint>
#include <random>
#include <set>
#include <utility>

#include "gtest/gtest.h"
#include "scheduler/chip_scheduler.h"

namespace tsp::scheduler {
namespace {

class Reference {
 public:
  explicit Reference(int streams) : streams_(streams) {}
  bool Free(int64_t key, int first, int width) const {
    for (int s = first; s < first + width; ++s) {
      if (taken_.count({key, s}) != 0) return false;
    }
    return true;
  }
  int FirstFree(int64_t key, int width) const {
    for (int first = 0; first + width <= streams_; ++first) {
      if (Free(key, first, width)) return first;
    }
    return -1;
  }
  void Set(int64_t key, int first, int width) {
    for (int s = first; s < first + width; ++s) taken_.insert({key, s});
  }
  void Clear(int64_t key, int first, int width) {
    for (int s = first; s < first + width; ++s) taken_.erase({key, s});
  }

 private:
  int streams_;
  std::set<std::pair<int64_t, int>> taken_;
};

TEST(StreamTableTest, AgreesWithASetOfTakenStreams) {
  for (int streams : {32, 64, 100, 256}) {
    StreamTable table(streams);
    Reference reference(streams);
    std::mt19937 random(streams);
    std::vector<std::tuple<int64_t, int, int>> held;
    for (int step = 0; step < 20000; ++step) {
      // Few diagonals (some below zero), so that groups crowd each other.
      const int64_t key = static_cast<int64_t>(random() % 12) - 3;
      const int width = 1 + static_cast<int>(random() % (random() % 4 == 0 ? streams : 8));
      const int first = static_cast<int>(random() % streams);
      ASSERT_EQ(table.FirstFree(key, width), reference.FirstFree(key, width))
          << streams << " streams, step " << step << ", key " << key << ", width " << width;
      if (first + width <= streams) {
        ASSERT_EQ(table.Free(key, first, width), reference.Free(key, first, width))
            << streams << " streams, step " << step;
      }
      if (random() % 3 != 0) {
        const int found = table.FirstFree(key, width);
        if (found >= 0) {
          table.Set(key, found, width);
          reference.Set(key, found, width);
          held.emplace_back(key, found, width);
        }
      } else if (!held.empty()) {
        const size_t i = random() % held.size();
        const auto [k, f, w] = held[i];
        table.Clear(k, f, w);
        reference.Clear(k, f, w);
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
  }
}

TEST(StreamTableTest, GroupsWiderThanTheChipNeverFit) {
  StreamTable table(32);
  EXPECT_EQ(table.FirstFree(0, 32), 0);
  EXPECT_EQ(table.FirstFree(0, 33), -1);
  table.Set(5, 31, 1);
  EXPECT_EQ(table.FirstFree(5, 32), -1);
  EXPECT_EQ(table.FirstFree(5, 31), 0);
  EXPECT_EQ(table.FirstFree(6, 32), 0);  // Another diagonal.
}

}  // namespace
}  // namespace tsp::scheduler
