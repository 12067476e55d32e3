// The lockstep SystemEmulator's own rules on hand-written programs: links
// carry one vector per serialization time, a Receive finds the vector that
// arrived, batched reads end as one repetition at a time. (Scheduled
// transfers and collectives, predicted and emulated to the cycle, are in
// scheduler/system_scheduler_test.cc.) Default figures: Read 5, Send 4,
// Receive 4; link latency 216 and serialization 23; C2C_W at position 0,
// MEM_W43 at 4.

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

namespace tsp::pipeline {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

class SystemTest : public ::testing::Test {
 protected:
  void Build(int nodes) {
    chip_ = std::make_unique<isa::ChipModel>(*isa::DefaultChipModel());
    SystemSpec spec;
    ASSERT_THAT(LoadSystemSpec(kDefaultSystemName, &spec), testing::IsOk());
    spec.mutable_nodes()->set_value(nodes);
    system_ = std::make_unique<SystemModel>(*SystemModel::Create(spec, *chip_));
    topology_ = std::make_unique<Topology>(*Topology::Create(*system_, *chip_));
  }

  std::unique_ptr<isa::ChipModel> chip_;
  std::unique_ptr<SystemModel> system_;
  std::unique_ptr<Topology> topology_;
  isa::ChipPrograms programs_;
};

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
