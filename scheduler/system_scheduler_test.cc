// Transfers and collectives scheduled by SystemScheduler (the compiler's one
// transfer scheduler), then run by the lockstep SystemEmulator: predicted ==
// emulated, the values where they should be, and point-to-point cycles equal
// to the closed form from the timing rules. Default figures: Read 5, Write 5,
// Send 4, Receive 4, Add 3; link latency 216 and serialization 23 (328 bytes
// at 4 x 25.78125 Gb/s, 900 MHz); C2C_W at position 0 (local links), C2C_E
// at 96 (global links); deskews take cycles 0..7 of each C2C queue. A first
// vector of a side lies in its activation group 0: MEM_W0 (position 47) on
// the west, MEM_E0 (49) on the east.

#include "scheduler/system_scheduler.h"

#include <cstdlib>
#include <memory>
#include <tuple>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "isa/status_matchers.h"
#include "pipeline/system_emulator.h"
#include "scheduler/test_system.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler {
namespace {

class SystemSchedulerTest : public SystemFixture<::testing::Test> {
 protected:
  void Start(int nodes) {
    Build(nodes);
    emulator_.reset();
    scheduler_ = std::make_unique<SystemScheduler>(*chip_, *system_, *topology_, /*with_data=*/true);
  }

  // Emulates what is scheduled; `predicted_` is the scheduler's last cycle.
  absl::StatusOr<pipeline::SystemRunResult> Run(int threads = 1, bool functional = true) {
    predicted_ = scheduler_->last_cycle();
    programs_ = scheduler_->Build();
    pipeline::SystemRunOptions options;
    options.threads = threads;
    options.functional = functional;
    options.record_trace = true;
    absl::StatusOr<std::unique_ptr<pipeline::SystemEmulator>> emulator =
        pipeline::SystemEmulator::Create(*chip_, *system_, *topology_, programs_, options);
    if (!emulator.ok()) return emulator.status();
    emulator_ = *std::move(emulator);
    return emulator_->Run();
  }

  // 320 int8 lanes, distinct per seed.
  static std::string Bytes(int seed) {
    std::string bytes(320, 0);
    for (int lane = 0; lane < 320; ++lane) bytes[lane] = static_cast<char>(seed * 31 + lane * 7);
    return bytes;
  }
  absl::StatusOr<Vec> Source(int chip, int seed, Side side) {
    std::vector<uint32_t> bits;
    for (char b : Bytes(seed)) bits.push_back(static_cast<uint8_t>(b));
    return scheduler_->ops(chip).Constant(isa::INT8, side, bits);
  }
  std::string Memory(int chip, const Vec& v) {
    return *emulator_->ReadMemory(chip, chip_->slices()[v.slices[0]].name, v.address, 1);
  }
  // When `v`'s last write on `chip` lands: a Read may issue the cycle after.
  int64_t Lands(int chip, const Vec& v) { return scheduler_->chip(chip).ReadableAt(v.slices[0], v.address) - 1; }

  // Cycle the last Write lands for one transfer along the fixed route with no
  // other traffic, from the timing rules alone: the Read at 0, each hop's
  // Send, serialization and flight, each intermediate chip's Receive and the
  // trip across to its next port's C2C slice, the last Receive and the trip
  // to the destination slice, then the Write.
  int64_t PointToPointCycles(int source, int destination, int from_position, int to_position) {
    const std::vector<pipeline::Hop> route = *topology_->Route(source, destination);
    auto slice_position = [&](int port) {
      return chip_->SlicesOfKind(isa::SLICE_C2C)[topology_->PortSlice(port)];
    };
    // Read (5) and the trip to the first C2C slice; the Send no earlier than 8.
    int64_t cycle = std::max<int64_t>(5 + std::abs(slice_position(route[0].from_port) - from_position), 8);
    for (size_t i = 0; i < route.size(); ++i) {
      cycle += 4 + 23 + 216;  // Send, serialization, flight.
      if (i + 1 < route.size()) {
        cycle += 4 + std::abs(slice_position(route[i + 1].from_port) - slice_position(route[i].to_port));
      }
    }
    return cycle + 4 + std::abs(to_position - slice_position(route.back().to_port)) + 5;
  }

  std::unique_ptr<SystemScheduler> scheduler_;
  isa::ChipPrograms programs_;
  std::unique_ptr<pipeline::SystemEmulator> emulator_;
  int64_t predicted_ = 0;
};

TEST_F(SystemSchedulerTest, PointToPointOneHop) {
  Start(1);
  TSP_ASSERT_OK_AND_ASSIGN(Vec from, Source(0, 1, Side::kWest));
  TSP_ASSERT_OK_AND_ASSIGN(Vec to, scheduler_->Transfer(0, from, 1, Side::kWest));
  ASSERT_EQ(chip_->slices()[from.slices[0]].name, "MEM_W0");
  ASSERT_EQ(chip_->slices()[to.slices[0]].name, "MEM_W0");
  // Read at 0 lands at 5 and reaches C2C_W (47 positions) at 52: Send at 52
  // departs at 56, is serialized by 79 and arrives at 295; Receive at 295
  // lands at 299, reaches MEM_W0 at 346, and the Write lands at 351.
  EXPECT_EQ(Lands(1, to), 351);
  EXPECT_EQ(PointToPointCycles(0, 1, 47, 47), 351);
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run());
  EXPECT_EQ(predicted_, 351);
  EXPECT_EQ(result.last_event_cycle, 351);
  EXPECT_EQ(Memory(1, to), Bytes(1));
  ASSERT_EQ(result.transfers.size(), 1u);
  EXPECT_EQ(result.transfers[0].departure_cycle, 56);
  EXPECT_EQ(result.transfers[0].arrival_cycle, 295);
  // Two chips one hop apart align once over that hop.
  EXPECT_EQ(result.alignment_cycles, 216 + 23);
}

TEST_F(SystemSchedulerTest, PointToPointOverOneTwoAndManyHops) {
  // One hop inside a node, two to a neighbouring node's other chip, and
  // across eleven nodes (hops given as 0: checked to be at least four).
  for (auto [source, destination, hops] :
       {std::tuple{3, 6, 1}, std::tuple{0, 9, 2}, std::tuple{5, 94, 0}}) {
    Start(12);
    const int route_hops = static_cast<int>(topology_->Route(source, destination)->size());
    if (hops > 0) {
      EXPECT_EQ(route_hops, hops) << source << " -> " << destination;
    } else {
      EXPECT_GE(route_hops, 4) << "node 0 to node 11 is at least 3 node-steps";
    }
    TSP_ASSERT_OK_AND_ASSIGN(Vec from, Source(source, source, Side::kWest));
    TSP_ASSERT_OK_AND_ASSIGN(Vec to, scheduler_->Transfer(source, from, destination, Side::kEast));
    EXPECT_EQ(Lands(destination, to), PointToPointCycles(source, destination, from.slices[0], to.slices[0]))
        << route_hops << " hops";
    TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run());
    EXPECT_EQ(result.last_event_cycle, predicted_);
    EXPECT_EQ(Memory(destination, to), Bytes(source));
    EXPECT_EQ(static_cast<int>(result.transfers.size()), route_hops);
  }
}

TEST_F(SystemSchedulerTest, BroadcastOverANode) {
  Start(1);
  TSP_ASSERT_OK_AND_ASSIGN(Vec from, Source(0, 5, Side::kWest));
  std::vector<Vec> copies(8);
  int64_t last = 0;
  for (int chip = 1; chip < 8; ++chip) {
    TSP_ASSERT_OK_AND_ASSIGN(copies[chip], scheduler_->Transfer(0, from, chip, Side::kWest));
    last = std::max(last, Lands(chip, copies[chip]));
  }
  // Seven links leave chip 0 from one C2C queue, one Send a cycle (and one
  // Read a cycle from MEM_W0): the last departs 6 cycles after the first, so
  // it lands at 351 + 6.
  EXPECT_EQ(last, 357);
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, 357);
  EXPECT_EQ(predicted_, 357);
  for (int chip = 1; chip < 8; ++chip) EXPECT_EQ(Memory(chip, copies[chip]), Bytes(5)) << chip;
}

class CollectiveTest : public SystemSchedulerTest {
 protected:
  // Rank r's vector (seed r) sent to every other chip of the group: after
  // it, gathered_[d][r] is rank r's vector on chip d.
  absl::Status AllGather(const std::vector<int>& group) {
    const size_t n = group.size();
    gathered_.assign(n, std::vector<Vec>(n));
    for (size_t r = 0; r < n; ++r) {
      ASSIGN_OR_RETURN(gathered_[r][r], Source(group[r], static_cast<int>(r), r % 2 == 0 ? Side::kWest : Side::kEast));
    }
    for (size_t r = 0; r < n; ++r) {
      for (size_t d = 0; d < n; ++d) {
        if (d == r) continue;
        ASSIGN_OR_RETURN(gathered_[d][r], scheduler_->Transfer(group[r], gathered_[r][r], group[d], Side::kWest));
      }
    }
    return absl::OkStatus();
  }

  // After the all-gather, each chip adds the vectors in rank order.
  absl::Status AllReduce(const std::vector<int>& group) {
    RETURN_IF_ERROR(AllGather(group));
    sums_.assign(group.size(), Vec());
    for (size_t d = 0; d < group.size(); ++d) {
      VectorOps& ops = scheduler_->ops(group[d]);
      Vec sum = gathered_[d][0];
      for (size_t r = 1; r < group.size(); ++r) {
        ASSIGN_OR_RETURN(sum, ops.Vxm(isa::Opcode::kAdd, isa::INT8, {sum, gathered_[d][r]}, Side::kEast));
      }
      sums_[d] = sum;
    }
    return absl::OkStatus();
  }

  static std::string ReferenceSum(int ranks) {
    std::string sum(320, 0);
    for (int r = 0; r < ranks; ++r) {
      const std::string v = Bytes(r);
      for (int lane = 0; lane < 320; ++lane) sum[lane] = static_cast<char>(sum[lane] + v[lane]);
    }
    return sum;
  }

  static std::vector<int> Chips(int first, int count) {
    std::vector<int> chips(count);
    for (int i = 0; i < count; ++i) chips[i] = first + i;
    return chips;
  }

  std::vector<std::vector<Vec>> gathered_;
  std::vector<Vec> sums_;
};

TEST_F(CollectiveTest, AllGatherOverANode) {
  Start(1);
  TSP_ASSERT_OK(AllGather(Chips(0, 8)));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, predicted_);
  EXPECT_EQ(result.transfers.size(), 56u);
  // Each chip sends 7 vectors over 7 links from one C2C queue (one a cycle)
  // and receives 7 on one C2C queue: no link carries two, so the last of 7
  // back-to-back point-to-point transfers bounds it from below.
  EXPECT_GE(predicted_, PointToPointCycles(0, 1, 47, 47) + 6);
  for (int d = 0; d < 8; ++d) {
    for (int r = 0; r < 8; ++r) EXPECT_EQ(Memory(d, gathered_[d][r]), Bytes(r)) << d << " " << r;
  }
}

TEST_F(CollectiveTest, BroadcastAndAllGatherOverSeveralNodes) {
  Start(3);
  // Broadcast from chip 5 to the 23 other chips of three nodes.
  TSP_ASSERT_OK_AND_ASSIGN(Vec from, Source(5, 9, Side::kWest));
  std::vector<Vec> copies(24);
  int64_t slowest_alone = 0;
  for (int chip = 0; chip < 24; ++chip) {
    if (chip == 5) continue;
    TSP_ASSERT_OK_AND_ASSIGN(copies[chip], scheduler_->Transfer(5, from, chip, Side::kEast));
    slowest_alone = std::max(slowest_alone, PointToPointCycles(5, chip, from.slices[0], copies[chip].slices[0]));
  }
  // Sharing the root's queues and links can only delay the slowest route.
  EXPECT_GE(scheduler_->last_cycle(), slowest_alone);
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult broadcast, Run(/*threads=*/2));
  EXPECT_EQ(broadcast.last_event_cycle, predicted_);
  for (int chip = 0; chip < 24; ++chip) {
    if (chip != 5) EXPECT_EQ(Memory(chip, copies[chip]), Bytes(9)) << chip;
  }

  Start(2);
  TSP_ASSERT_OK(AllGather(Chips(0, 16)));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run(/*threads=*/2));
  EXPECT_EQ(result.last_event_cycle, predicted_);
  for (int d = 0; d < 16; ++d) {
    for (int r = 0; r < 16; ++r) EXPECT_EQ(Memory(d, gathered_[d][r]), Bytes(r)) << d << " " << r;
  }
}

TEST_F(CollectiveTest, AllReduceOverANode) {
  Start(1);
  TSP_ASSERT_OK(AllReduce(Chips(0, 8)));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, predicted_);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(Memory(d, sums_[d]), ReferenceSum(8)) << d;
}

TEST_F(CollectiveTest, AllReduceOverTwoNodesMatchesWithOneAndTwoThreads) {
  Start(2);
  TSP_ASSERT_OK(AllReduce(Chips(0, 16)));
  predicted_ = scheduler_->last_cycle();
  programs_ = scheduler_->Build();
  std::string first_trace;
  std::vector<pipeline::Transfer> first_transfers;
  for (int threads : {1, 2}) {
    pipeline::SystemRunOptions options;
    options.threads = threads;
    options.record_trace = true;
    TSP_ASSERT_OK_AND_ASSIGN(emulator_,
                             pipeline::SystemEmulator::Create(*chip_, *system_, *topology_, programs_, options));
    TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, emulator_->Run());
    EXPECT_EQ(result.last_event_cycle, predicted_);
    for (int d = 0; d < 16; ++d) EXPECT_EQ(Memory(d, sums_[d]), ReferenceSum(16));
    std::string trace;
    for (const auto& [chip, chip_result] : result.chips) {
      absl::StrAppend(&trace, "chip ", chip, "\n", emulator_->chip_emulator(chip)->FormatTrace(chip_result.trace));
    }
    if (threads == 1) {
      first_trace = trace;
      first_transfers = result.transfers;
      // Some vectors cross between the nodes over more than one hop.
      int multi_hop = 0;
      for (int r = 0; r < 8; ++r) multi_hop += topology_->Route(r, 8 + r)->size() > 1 ? 1 : 0;
      EXPECT_GT(multi_hop, 0);
    } else {
      EXPECT_EQ(trace, first_trace);
      ASSERT_EQ(result.transfers.size(), first_transfers.size());
      for (size_t i = 0; i < first_transfers.size(); ++i) {
        EXPECT_EQ(result.transfers[i].arrival_cycle, first_transfers[i].arrival_cycle);
        EXPECT_EQ(result.transfers[i].link, first_transfers[i].link);
      }
    }
  }
}

TEST_F(CollectiveTest, TimingOnlyGivesTheSameCycles) {
  Start(2);
  TSP_ASSERT_OK(AllReduce(Chips(4, 8)));
  TSP_ASSERT_OK_AND_ASSIGN(pipeline::SystemRunResult result, Run(/*threads=*/2, /*functional=*/false));
  EXPECT_EQ(result.last_event_cycle, predicted_);
}

}  // namespace
}  // namespace tsp::scheduler
