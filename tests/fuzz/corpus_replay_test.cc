// Replays each fuzz target's checked-in corpus (seeds and every reproducer
// found) so that CI keeps them passing; under --config=asan or ubsan the
// sanitizers watch too.

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/fuzz/fuzz_targets.h"

namespace tsp::fuzz {
namespace {

std::vector<std::string> Files(const std::string& directory) {
  std::vector<std::string> files;
  if (DIR* dir = opendir(directory.c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') files.push_back(directory + "/" + entry->d_name);
    }
    closedir(dir);
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Replay(const std::string& target, void (*fuzz)(const uint8_t*, size_t)) {
  const std::vector<std::string> files = Files("tests/fuzz/corpus/" + target);
  ASSERT_FALSE(files.empty()) << "no corpus for " << target;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string data = bytes.str();
    SCOPED_TRACE(file);
    fuzz(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
}

TEST(CorpusReplayTest, Specs) { Replay("spec", FuzzSpecs); }
TEST(CorpusReplayTest, Assembler) { Replay("assembler", FuzzAssembler); }
TEST(CorpusReplayTest, Program) { Replay("program", FuzzProgram); }
TEST(CorpusReplayTest, Emulator) { Replay("emulator", FuzzEmulator); }

}  // namespace
}  // namespace tsp::fuzz
