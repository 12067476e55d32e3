// Collective building blocks on the default chip and QuadFour system,
// scheduled by SystemProgramBuilder and run by the lockstep SystemEmulator.
// Default figures: Read 5, Write 5, Send 4, Receive 4, Add 3; link latency
// 216 and serialization 23 (328 bytes at 4 x 25.78125 Gb/s, 900 MHz); C2C_W
// at position 0 (local links), C2C_E at 96 (global links), MEM_W43 at 4,
// MEM_W0 at 47; deskews occupy cycles 0..7 of each C2C queue.

#include "pipeline/system_emulator.h"

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "pipeline/system_program_builder.h"

namespace tsp::pipeline {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

class SystemTest : public ::testing::Test {
 protected:
  void Build(int nodes) {
    chip_ = std::make_unique<isa::ChipModel>(*isa::DefaultChipModel());
    SystemSpec spec;
    ASSERT_THAT(isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec),
                testing::IsOk());
    spec.mutable_nodes()->set_value(nodes);
    system_ = std::make_unique<SystemModel>(*SystemModel::Create(spec, *chip_));
    topology_ = std::make_unique<Topology>(*Topology::Create(*system_, *chip_));
    builder_ = std::make_unique<SystemProgramBuilder>(*chip_, *system_, *topology_);
  }

  absl::StatusOr<SystemRunResult> Run(int threads = 1, bool functional = true) {
    programs_ = builder_->Build();
    SystemRunOptions options;
    options.threads = threads;
    options.functional = functional;
    options.record_trace = true;
    absl::StatusOr<std::unique_ptr<SystemEmulator>> emulator =
        SystemEmulator::Create(*chip_, *system_, *topology_, programs_, options);
    if (!emulator.ok()) return emulator.status();
    emulator_ = *std::move(emulator);
    return emulator_->Run();
  }

  std::string Memory(int chip, const std::string& slice, int64_t address) {
    return *emulator_->ReadMemory(chip, slice, address, 1);
  }

  // Cycle the last Write lands for one transfer along the fixed route with no
  // other traffic, from the timing rules alone: the Read at `start`, each
  // hop's Send, serialization and flight, each intermediate chip's Receive
  // and the trip across to its next port's C2C slice, the last Receive and
  // the trip to the destination slice, then the Write.
  int64_t PointToPointCycles(int source, int destination, int from_position, int to_position) {
    const std::vector<Hop> route = *topology_->Route(source, destination);
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

  static std::string Vector(int seed) {
    std::string bytes(320, 0);
    for (int lane = 0; lane < 320; ++lane) bytes[lane] = static_cast<char>(seed * 31 + lane * 7);
    return bytes;
  }

  std::unique_ptr<isa::ChipModel> chip_;
  std::unique_ptr<SystemModel> system_;
  std::unique_ptr<Topology> topology_;
  std::unique_ptr<SystemProgramBuilder> builder_;
  isa::ChipPrograms programs_;
  std::unique_ptr<SystemEmulator> emulator_;
};

TEST_F(SystemTest, PointToPointOneHop) {
  Build(1);
  builder_->SetMemory(0, {"MEM_W43", 0}, Vector(1));
  TSP_ASSERT_OK_AND_ASSIGN(int64_t lands, builder_->Transfer(0, {"MEM_W43", 0}, 1, {"MEM_W43", 7}, 0));
  // Read at 0 reaches C2C_W (4 hops) at 9: Send at 9 departs at 13, is
  // serialized by 36 and arrives at 252; Receive at 252 lands at 256, reaches
  // MEM_W43 at 260, and the Write lands at 265.
  EXPECT_EQ(lands, 265);
  EXPECT_EQ(PointToPointCycles(0, 1, 4, 4), 265);
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, 265);
  EXPECT_EQ(Memory(1, "MEM_W43", 7), Vector(1));
  ASSERT_EQ(result.transfers.size(), 1u);
  EXPECT_EQ(result.transfers[0].departure_cycle, 13);
  EXPECT_EQ(result.transfers[0].arrival_cycle, 252);
  // Two chips one hop apart align once over that hop.
  EXPECT_EQ(result.alignment_cycles, 216 + 23);
}

TEST_F(SystemTest, PointToPointAcrossSeveralHops) {
  Build(12);
  // One hop inside a node, two to a neighbouring node's other chip, and
  // across eleven nodes (hops given as 0: checked to be several).
  for (auto [source, destination, hops] : {std::tuple{3, 6, 1}, std::tuple{0, 9, 2},
                                           std::tuple{5, 94, 0}}) {
    Build(12);
    const int route_hops = static_cast<int>(topology_->Route(source, destination)->size());
    if (hops > 0) {
      EXPECT_EQ(route_hops, hops) << source << " -> " << destination;
    } else {
      EXPECT_GE(route_hops, 4) << "node 0 to node 11 is at least 3 node-steps";
    }
    builder_->SetMemory(source, {"MEM_W0", 3}, Vector(source));
    TSP_ASSERT_OK_AND_ASSIGN(int64_t lands,
                             builder_->Transfer(source, {"MEM_W0", 3}, destination, {"MEM_E5", 9}, 0));
    // MEM_W0 is at 47, MEM_E5 at 54.
    EXPECT_EQ(lands, PointToPointCycles(source, destination, 47, 54)) << route_hops << " hops";
    TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run());
    EXPECT_EQ(result.last_event_cycle, lands);
    EXPECT_EQ(Memory(destination, "MEM_E5", 9), Vector(source));
    EXPECT_EQ(static_cast<int>(result.transfers.size()), route_hops);
  }
}

TEST_F(SystemTest, BroadcastOverANode) {
  Build(1);
  builder_->SetMemory(0, {"MEM_W43", 0}, Vector(5));
  int64_t last = 0;
  for (int chip = 1; chip < 8; ++chip) {
    TSP_ASSERT_OK_AND_ASSIGN(int64_t lands,
                             builder_->Transfer(0, {"MEM_W43", 0}, chip, {"MEM_W43", 0}, 0));
    last = std::max(last, lands);
  }
  // Seven links leave chip 0 from one C2C queue, one Send a cycle: the last
  // departs 6 cycles after the first, so it lands at 265 + 6.
  EXPECT_EQ(last, 271);
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, 271);
  for (int chip = 1; chip < 8; ++chip) EXPECT_EQ(Memory(chip, "MEM_W43", 0), Vector(5)) << chip;
}

// Rank r of a group keeps its vector at MEM_W<r % 2> address r; an
// all-gather puts it at the same place on every other chip of the group.
Location Place(int rank) { return {absl::StrCat("MEM_W", rank % 2), rank}; }
// Partial sums of an all-reduce alternate between MEM_E0 and MEM_E1.
Location Sum(int step) { return {absl::StrCat("MEM_E", step % 2), 100 + step}; }

class CollectiveTest : public SystemTest {
 protected:
  absl::StatusOr<int64_t> AllGather(const std::vector<int>& group) {
    landed_.assign(group.size(), 0);
    for (size_t r = 0; r < group.size(); ++r) {
      builder_->SetMemory(group[r], Place(r), Vector(static_cast<int>(r)));
    }
    int64_t last = 0;
    for (size_t r = 0; r < group.size(); ++r) {
      for (size_t d = 0; d < group.size(); ++d) {
        if (d == r) continue;
        absl::StatusOr<int64_t> lands = builder_->Transfer(group[r], Place(r), group[d], Place(r), 0);
        if (!lands.ok()) return lands.status();
        landed_[d] = std::max(landed_[d], *lands);
        last = std::max(last, *lands);
      }
    }
    return last;
  }

  // After the all-gather, each chip adds the vectors in rank order.
  absl::StatusOr<int64_t> AllReduce(const std::vector<int>& group) {
    absl::Status gathered = AllGather(group).status();
    if (!gathered.ok()) return gathered;
    int64_t last = 0;
    for (size_t d = 0; d < group.size(); ++d) {
      absl::StatusOr<int64_t> ready = builder_->AddInt8(group[d], Place(0), Place(1), Sum(0), landed_[d]);
      for (size_t k = 1; ready.ok() && k + 1 < group.size(); ++k) {
        ready = builder_->AddInt8(group[d], Sum(k - 1), Place(k + 1), Sum(k), *ready);
      }
      if (!ready.ok()) return ready.status();
      last = std::max(last, *ready);
    }
    return last;
  }

  static std::string ReferenceSum(int ranks) {
    std::string sum(320, 0);
    for (int r = 0; r < ranks; ++r) {
      const std::string v = Vector(r);
      for (int lane = 0; lane < 320; ++lane) sum[lane] = static_cast<char>(sum[lane] + v[lane]);
    }
    return sum;
  }

  std::vector<int64_t> landed_;
};

std::vector<int> Chips(int first, int count) {
  std::vector<int> chips(count);
  for (int i = 0; i < count; ++i) chips[i] = first + i;
  return chips;
}

TEST_F(CollectiveTest, AllGatherOverANode) {
  Build(1);
  const std::vector<int> group = Chips(0, 8);
  TSP_ASSERT_OK_AND_ASSIGN(int64_t predicted, AllGather(group));
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, predicted);
  EXPECT_EQ(result.transfers.size(), 56u);
  // Each chip sends 7 vectors from one MEM slice and one C2C queue (one a
  // cycle) and receives 7 on one C2C queue: no link carries two, so the
  // last of 7 back-to-back point-to-point transfers bounds it from below.
  EXPECT_GE(predicted, PointToPointCycles(0, 1, 47, 47) + 6);
  for (int d = 0; d < 8; ++d) {
    for (int r = 0; r < 8; ++r) EXPECT_EQ(Memory(d, Place(r).slice, r), Vector(r)) << d << " " << r;
  }
}

TEST_F(CollectiveTest, BroadcastAndAllGatherOverSeveralNodes) {
  Build(3);
  // Broadcast from chip 5 to the 23 other chips of three nodes.
  builder_->SetMemory(5, {"MEM_W43", 0}, Vector(9));
  int64_t predicted = 0;
  int64_t slowest_alone = 0;
  for (int chip = 0; chip < 24; ++chip) {
    if (chip == 5) continue;
    TSP_ASSERT_OK_AND_ASSIGN(int64_t lands,
                             builder_->Transfer(5, {"MEM_W43", 0}, chip, {"MEM_E7", 2}, 0));
    predicted = std::max(predicted, lands);
    slowest_alone = std::max(slowest_alone, PointToPointCycles(5, chip, 4, 56));
  }
  // Sharing the root's queues and links can only delay the slowest route.
  EXPECT_GE(predicted, slowest_alone);
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult broadcast, Run(/*threads=*/2));
  EXPECT_EQ(broadcast.last_event_cycle, predicted);
  for (int chip = 0; chip < 24; ++chip) {
    if (chip != 5) {
      EXPECT_EQ(Memory(chip, "MEM_E7", 2), Vector(9)) << chip;
    }
  }

  Build(2);
  const std::vector<int> group = Chips(0, 16);
  TSP_ASSERT_OK_AND_ASSIGN(int64_t gathered, AllGather(group));
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run(/*threads=*/2));
  EXPECT_EQ(result.last_event_cycle, gathered);
  for (int d = 0; d < 16; ++d) {
    for (int r = 0; r < 16; ++r) EXPECT_EQ(Memory(d, Place(r).slice, r), Vector(r)) << d << " " << r;
  }
}

TEST_F(CollectiveTest, AllReduceOverANode) {
  Build(1);
  TSP_ASSERT_OK_AND_ASSIGN(int64_t predicted, AllReduce(Chips(0, 8)));
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run());
  EXPECT_EQ(result.last_event_cycle, predicted);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(Memory(d, Sum(6).slice, Sum(6).address), ReferenceSum(8)) << d;
}

TEST_F(CollectiveTest, AllReduceOverTwoNodesMatchesWithOneAndTwoThreads) {
  Build(2);
  TSP_ASSERT_OK_AND_ASSIGN(int64_t predicted, AllReduce(Chips(0, 16)));
  programs_ = builder_->Build();
  std::string first_trace;
  std::vector<Transfer> first_transfers;
  for (int threads : {1, 2}) {
    SystemRunOptions options;
    options.threads = threads;
    options.record_trace = true;
    TSP_ASSERT_OK_AND_ASSIGN(emulator_, SystemEmulator::Create(*chip_, *system_, *topology_, programs_, options));
    TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, emulator_->Run());
    EXPECT_EQ(result.last_event_cycle, predicted);
    for (int d = 0; d < 16; ++d) EXPECT_EQ(Memory(d, Sum(14).slice, Sum(14).address), ReferenceSum(16));
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
  Build(2);
  TSP_ASSERT_OK_AND_ASSIGN(int64_t predicted, AllReduce(Chips(4, 8)));
  TSP_ASSERT_OK_AND_ASSIGN(SystemRunResult result, Run(/*threads=*/2, /*functional=*/false));
  EXPECT_EQ(result.last_event_cycle, predicted);
}

// Hand-written programs for the link rules.
std::string Sender(int second_send_cycle) {
  return absl::StrCat("queue MEM_W43\n  @0 Read address=0 dst=W0\n  @", second_send_cycle - 9,
                      " Read address=1 dst=W0\n", "queue C2C_W\n  @0 Deskew port=0\n  @9 Send port=0 a=W0\n  @",
                      second_send_cycle, " Send port=0 a=W0\n");
}
std::string Receiver(int first, int second) {
  return absl::StrCat("queue C2C_W\n  @0 Deskew port=0\n  @", first, " Receive port=0 dst=E0\n  @", second,
                      " Receive port=0 dst=E0\n");
}

TEST_F(SystemTest, LinksCarryOneVectorPerSerializationTime) {
  Build(1);
  auto run = [&](int second_send) {
    programs_.clear();
    programs_[0] = *isa::ParseProgram(Sender(second_send));
    // Departures at 13 and second_send + 4 arrive 239 later.
    programs_[1] = *isa::ParseProgram(Receiver(252, second_send + 4 + 239));
    auto emulator = SystemEmulator::Create(*chip_, *system_, *topology_, programs_, {});
    return (*emulator)->Run();
  };
  TSP_EXPECT_OK(run(9 + 23));
  EXPECT_THAT(run(9 + 22),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("chip 0, C2C_W port 0 (chip port 0), cycle 35: a Send departs on "
                                 "link 0 (to chip 1) while the vector that departed at cycle 13 is "
                                 "still being serialized until cycle 36")));
}

TEST_F(SystemTest, ReceiveBeforeArrivalAndUnreceivedArrivalAreErrors) {
  Build(1);
  programs_[0] = *isa::ParseProgram(Sender(40));
  programs_[1] = *isa::ParseProgram(Receiver(251, 283));
  auto early = SystemEmulator::Create(*chip_, *system_, *topology_, programs_, {});
  EXPECT_THAT((*early)->Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("chip 1, queue C2C_W, cycle 251, `@251 Receive port=0 "
                                                  "dst=E0`: receives on port 0 before any vector")));
  programs_[1] = *isa::ParseProgram("queue C2C_W\n  @0 Deskew port=0\n  @252 Receive port=0 dst=E0\n");
  auto missing = SystemEmulator::Create(*chip_, *system_, *topology_, programs_, {});
  EXPECT_THAT((*missing)->Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                          HasSubstr("chip 1, C2C_W port 0, cycle 283: a vector "
                                                    "arrived and no Receive took it")));
  // A port with no link (global port 4 of C2C_E is unwired in QuadFour).
  programs_.clear();
  programs_[0] = *isa::ParseProgram(
      "queue MEM_E43\n  @0 Read address=0 dst=E0\nqueue C2C_E\n  @0 Deskew port=4\n  @9 Send port=4 a=E0\n");
  auto unlinked = SystemEmulator::Create(*chip_, *system_, *topology_, programs_, {});
  EXPECT_THAT((*unlinked)->Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                           HasSubstr("a Send departs on a port that no link connects")));
}

// Timing-only runs batch a Read's Repeat; a system run that fails that way is
// run again one repetition at a time, so its error is that run's, word for
// word, and a run that succeeds has that run's results. MEM_W1's read at 4
// meets the value of MEM_W0's repetition 4 (emulator/early_stream_values_test.cc).
TEST_F(SystemTest, BatchedRepeatedReadsEndAsOneRepetitionAtATime) {
  Build(1);
  const std::string batch = "queue MEM_W0\n  @0 Read address=0 dst=E0\n  @1 Repeat n=9 every=1 stride=1\n";
  for (int w1_cycle : {4, 10}) {
    isa::ChipPrograms programs;
    programs[0] = *isa::ParseProgram(batch);
    programs[1] = *isa::ParseProgram(absl::StrCat(batch, "queue MEM_W1\n  @", w1_cycle, " Read address=0 dst=E0\n"));
    absl::StatusOr<SystemRunResult> runs[2];
    for (bool batched : {true, false}) {
      SystemRunOptions options;
      options.functional = false;
      options.early_stream_values = batched;
      TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SystemEmulator> emulator,
                               SystemEmulator::Create(*chip_, *system_, *topology_, programs, options));
      runs[batched] = emulator->Run();
    }
    ASSERT_EQ(runs[0].status(), runs[1].status()) << "MEM_W1 at " << w1_cycle;
    if (w1_cycle == 4) {
      EXPECT_THAT(runs[1], StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("chip 1, queue MEM_W0, cycle 10, `@0 Read address=0 dst=E0` "
                                              "(repetition 4 of a Repeat): two values in one "
                                              "stream-register slot")));
    } else {
      TSP_ASSERT_OK(runs[1].status());
      EXPECT_EQ(runs[1]->last_event_cycle, 15);  // MEM_W1's value lands in cycle 15.
      EXPECT_EQ(runs[1]->instructions_issued, runs[0]->instructions_issued);
      EXPECT_EQ(runs[1]->chips.at(1).busy_cycles, runs[0]->chips.at(1).busy_cycles);
    }
  }
}

}  // namespace
}  // namespace tsp::pipeline
