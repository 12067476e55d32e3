#ifndef TSP_EMULATOR_EMULATOR_TEST_UTIL_H_
#define TSP_EMULATOR_EMULATOR_TEST_UTIL_H_

// Helpers for tests that run small assembly programs on the default chip.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "emulator/chip_emulator.h"
#include "isa/assembler.h"
#include "isa/chip_model.h"
#include "isa/spec_loader.h"

namespace tsp::emulator {

inline std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (unsigned char byte : bytes) {
    text.push_back(kDigits[byte >> 4]);
    text.push_back(kDigits[byte & 15]);
  }
  return text;
}

// "memory SLICE ADDRESS: HEX\n".
inline std::string MemoryLine(const std::string& slice, int64_t address, const std::string& bytes) {
  return absl::StrCat("memory ", slice, " ", address, ": ", Hex(bytes), "\n");
}

// Parses and runs `text` on the default chip, keeping the emulator for
// memory reads afterwards.
class ProgramRunner {
 public:
  ProgramRunner() : chip_(*isa::DefaultChipModel()) {}
  const isa::ChipModel& chip() const { return chip_; }

  absl::StatusOr<RunResult> Run(const std::string& text, RunOptions options = {}) {
    absl::StatusOr<isa::Program> program = isa::ParseProgram(text);
    if (!program.ok()) return program.status();
    program_ = *std::move(program);
    absl::StatusOr<std::unique_ptr<ChipEmulator>> emulator =
        ChipEmulator::Create(chip_, program_, std::move(options));
    if (!emulator.ok()) return emulator.status();
    emulator_ = *std::move(emulator);
    return emulator_->Run();
  }
  std::string Memory(const std::string& slice, int64_t address, int64_t vectors = 1) const {
    return *emulator_->ReadMemory(slice, address, vectors);
  }
  const ChipEmulator& emulator() const { return *emulator_; }

 private:
  isa::ChipModel chip_;
  isa::Program program_;
  std::unique_ptr<ChipEmulator> emulator_;
};

// Programs of one weight tile on MXM_W1 that tests of the MXM rules vary.

// LoadWeights at 20 from 32 westward streams... one stream suffices here:
// MEM_W43 (4) reads at 12, the row reaches MXM_W1 (1) at 12 + 5 + 3 = 20.
// Every product is read out by the end of the run: by the Accumulate at
// `accumulate_cycle` (well after the product lands when not given).
inline std::string MultiplyAfterInstall(int install_cycle, int multiply_cycle, int accumulate_cycle = -1) {
  return absl::StrCat("queue MEM_W43\n  @12 Read address=0 dst=W0\n  @", multiply_cycle - 8,
                      " Read address=1 dst=W1\n",
                      "queue MXM_W1.0\n  @20 LoadWeights.int8 row=0 a=W0\n",
                      "queue MXM_W1.1\n  @", install_cycle, " InstallWeights\n  @", multiply_cycle,
                      " Multiply.int8 a=W1\n",
                      "queue MXM_W1.2\n  @", accumulate_cycle >= 0 ? accumulate_cycle : multiply_cycle + 100,
                      " Accumulate dst=E0\n");
}

// MEM_W43 (4) reads at 12 and 18: rows reach MXM_W1 (1) at 20 and 26.
// LoadWeights at 20 lands at 22, the install at 22 lands at 26; a Multiply
// at 26 lands at 50.
inline std::string OneTile(const std::string& install_intent, const std::string& multiply_intent,
                    const std::string& accumulate) {
  return absl::StrCat("queue MEM_W43\n  @12 Read address=0 dst=W0\n  @18 Read address=1 dst=W1\n",
                      "queue MXM_W1.0\n  @20 LoadWeights.int8 row=0 a=W0\n",
                      "queue MXM_W1.1\n  @22 InstallWeights ", install_intent, "\n  @26 Multiply.int8 a=W1 ",
                      multiply_intent, "\n", accumulate);
}

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_EMULATOR_TEST_UTIL_H_
