// The system verifier says what the SystemEmulator says: on hand-written
// programs of two chips that break each link rule (and their legal
// neighbours), from the programs alone, the same error or none. Default
// figures: Read 5, Send 4, Receive 4; link latency 216 and serialization 23,
// so a vector sent at s arrives at s + 4 + 239; C2C_W at position 0, MEM_W43
// at 4.

#include "pipeline/system_verifier.h"

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "pipeline/system_emulator.h"

namespace tsp::pipeline {
namespace {

// Chip 0 sends at 9 and `second_send`; chip 1's program is `receiver`.
struct Case {
  int second_send;
  std::string receiver;  // Empty: chip 1 has no program.
  std::string sent_port = "0";
};

std::string Sender(const Case& c) {
  return absl::StrCat("queue MEM_W43\n  @0 Read address=0 dst=W0\n  @", c.second_send - 9, " Read address=1 dst=W0\n",
                      "queue C2C_W\n  @0 Deskew port=", c.sent_port, "\n  @9 Send port=", c.sent_port,
                      " a=W0\n  @", c.second_send, " Send port=", c.sent_port, " a=W0\n");
}
std::string Receiver(int first, int second, const std::string& intent = "") {
  return absl::StrCat("queue C2C_W\n  @0 Deskew port=0\n  @", first, " Receive port=0 dst=E0 ", intent, "\n  @", second,
                      " Receive port=0 dst=E0\n");
}

class SystemVerifierTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    chip_ = std::make_unique<isa::ChipModel>(*isa::DefaultChipModel());
    SystemSpec spec;
    ASSERT_THAT(LoadSystemSpec(kDefaultSystemName, &spec), testing::IsOk());
    spec.mutable_nodes()->set_value(1);
    system_ = std::make_unique<SystemModel>(*SystemModel::Create(spec, *chip_));
    topology_ = std::make_unique<Topology>(*Topology::Create(*system_, *chip_));
  }
  std::unique_ptr<isa::ChipModel> chip_;
  std::unique_ptr<SystemModel> system_;
  std::unique_ptr<Topology> topology_;
};

TEST_P(SystemVerifierTest, SaysWhatTheEmulatorSays) {
  const Case& c = GetParam();
  isa::ChipPrograms programs;
  TSP_ASSERT_OK_AND_ASSIGN(programs[0], isa::ParseProgram(Sender(c)));
  if (!c.receiver.empty()) {
    TSP_ASSERT_OK_AND_ASSIGN(programs[1], isa::ParseProgram(c.receiver));
  }
  SystemRunOptions options;
  options.functional = false;
  TSP_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SystemEmulator> emulator,
                           SystemEmulator::Create(*chip_, *system_, *topology_, programs, options));
  const absl::Status emulated = emulator->Run().status();
  for (int threads : {1, 2}) {
    EXPECT_EQ(VerifySystemPrograms(*chip_, *system_, *topology_, programs, threads), emulated)
        << Sender(c) << "\n" << c.receiver;
  }
  // The emulator asked to verify first says the same before it runs.
  options.verify = true;
  EXPECT_EQ(SystemEmulator::Create(*chip_, *system_, *topology_, programs, options).status(), emulated);
}

INSTANTIATE_TEST_SUITE_P(
    Links, SystemVerifierTest,
    ::testing::Values(
        // Both vectors taken as they arrive (252 and 275), and the link busy
        // when the second departs one cycle early.
        Case{32, Receiver(252, 275)}, Case{31, Receiver(252, 274)},
        // A Receive one cycle before its vector arrives, first or second; a
        // Receive after the port has overflowed (it holds one).
        Case{40, Receiver(251, 283)}, Case{40, Receiver(252, 282)}, Case{40, Receiver(283, 290)},
        // A vector no Receive takes; a chip with no program to receive.
        Case{40, "queue C2C_W\n  @0 Deskew port=0\n  @252 Receive port=0 dst=E0\n"}, Case{40, ""},
        // The Send a Receive takes, named by its intent: this one, another.
        Case{40, Receiver(252, 283, "sent<-chip0:C2C_W@9")}, Case{40, Receiver(252, 283, "sent<-chip0:C2C_W@40")},
        // A port no link connects (global port 4 of C2C_E is unwired in QuadFour).
        Case{40, Receiver(252, 283), "4"}));

}  // namespace
}  // namespace tsp::pipeline
