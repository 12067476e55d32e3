// Runs a hand-written program (the text form) on a chip with input data and
// compares SRAM afterwards with expected data (tools/defs.bzl,
// tsp_assembly_test). Data files hold hex bytes (whitespace ignored), whole
// vectors from the given address:
//   asm_check --program=P.tsp --input=MEM_W0:0=a.hex,MEM_E0:0=b.hex --expect=MEM_E1:0=sum.hex

#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "emulator/chip_emulator.h"
#include "isa/assembler.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"

ABSL_FLAG(std::string, program, "", "program in the text form (.tsp)");
ABSL_FLAG(std::string, chip, "", "ChipSpec textproto (default: built-in tsp_v1)");
ABSL_FLAG(std::vector<std::string>, input, {}, "SLICE:ADDRESS=FILE.hex, written to SRAM before the run");
ABSL_FLAG(std::vector<std::string>, expect, {}, "SLICE:ADDRESS=FILE.hex, compared with SRAM after the run");

namespace tsp::tools {
namespace {

struct Placement {
  std::string slice;
  int64_t address = 0;
  std::string bytes;
  std::string file;
};

absl::StatusOr<Placement> ParsePlacement(const std::string& flag) {
  std::vector<std::string> parts = absl::StrSplit(flag, absl::MaxSplits('=', 1));
  std::vector<std::string> where = absl::StrSplit(parts[0], ':');
  Placement p;
  if (parts.size() != 2 || where.size() != 2 || !absl::SimpleAtoi(where[1], &p.address)) {
    return absl::InvalidArgumentError(absl::StrCat("'", flag, "' is not SLICE:ADDRESS=FILE"));
  }
  p.slice = where[0];
  p.file = parts[1];
  ASSIGN_OR_RETURN(std::string text, isa::ReadFile(p.file));
  std::string hex;
  for (char c : text) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) hex.push_back(c);
  }
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError(absl::StrCat(p.file, ": an odd number of hex digits"));
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    if (!absl::SimpleHexAtoi(hex.substr(i, 2), &value)) {
      return absl::InvalidArgumentError(absl::StrCat(p.file, ": '", hex.substr(i, 2), "' is not a hex byte"));
    }
    p.bytes.push_back(static_cast<char>(value));
  }
  return p;
}

absl::StatusOr<int> Run() {
  ASSIGN_OR_RETURN(isa::ChipModel chip, absl::GetFlag(FLAGS_chip).empty() ? isa::DefaultChipModel()
                                                                          : isa::LoadChipModel(absl::GetFlag(FLAGS_chip)));
  ASSIGN_OR_RETURN(std::string text, isa::ReadFile(absl::GetFlag(FLAGS_program)));
  ASSIGN_OR_RETURN(isa::Program program, isa::ParseProgram(text));
  for (const std::string& flag : absl::GetFlag(FLAGS_input)) {
    ASSIGN_OR_RETURN(Placement p, ParsePlacement(flag));
    if (p.bytes.size() % chip.lanes() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(p.file, ": ", p.bytes.size(), " bytes, not whole vectors of ",
                                                     chip.lanes()));
    }
    isa::MemoryImage* image = program.add_memory();
    image->set_slice(p.slice);
    image->set_address(p.address);
    image->set_data(p.bytes);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<emulator::ChipEmulator> emulator, emulator::ChipEmulator::Create(chip, program, {}));
  ASSIGN_OR_RETURN(emulator::RunResult result, emulator->Run());
  std::cout << "ran " << absl::GetFlag(FLAGS_program) << ": last event at cycle " << result.last_event_cycle << "\n";
  int mismatches = 0;
  for (const std::string& flag : absl::GetFlag(FLAGS_expect)) {
    ASSIGN_OR_RETURN(Placement p, ParsePlacement(flag));
    const int64_t vectors = (static_cast<int64_t>(p.bytes.size()) + chip.lanes() - 1) / chip.lanes();
    ASSIGN_OR_RETURN(std::string got, emulator->ReadMemory(p.slice, p.address, vectors));
    int shown = 0;
    for (size_t i = 0; i < p.bytes.size(); ++i) {
      if (got[i] == p.bytes[i]) continue;
      ++mismatches;
      if (shown++ < 8) {
        std::cout << absl::StrFormat("MISMATCH %s address %d lane %d: got %02x, expected %02x (%s)\n", p.slice,
                                     p.address + static_cast<int64_t>(i) / chip.lanes(), i % chip.lanes(),
                                     static_cast<uint8_t>(got[i]), static_cast<uint8_t>(p.bytes[i]), p.file);
      }
    }
    std::cout << p.slice << ":" << p.address << ": " << (shown == 0 ? "as expected" : "differs") << "\n";
  }
  return mismatches == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tsp::tools

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<int> code = tsp::tools::Run();
  if (!code.ok()) {
    std::cout << "FAILED: " << code.status().message() << "\n";
    return 1;
  }
  std::cout << (*code == 0 ? "PASSED" : "FAILED: outputs differ") << "\n";
  return *code;
}
