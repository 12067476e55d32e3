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

}  // namespace tsp::emulator

#endif  // TSP_EMULATOR_EMULATOR_TEST_UTIL_H_
