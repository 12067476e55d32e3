#include "tools/gzip_ostream.h"

#include <zlib.h>

#include <ostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

// What zlib reads back from the file.
std::string Gunzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  std::string text;
  char chunk[4096];
  int n;
  while ((n = gzread(file, chunk, sizeof(chunk))) > 0) text.append(chunk, n);
  gzclose(file);
  return text;
}

TEST(GzipOstreamTest, WritesWhatReadsBack) {
  const std::string path = ::testing::TempDir() + "/t.json.gz";
  GzipStreamBuffer buffer;
  TSP_ASSERT_OK(buffer.Open(path));
  std::ostream out(&buffer);
  std::string expected;
  // More than the 1 MiB buffer, so that it drains in between.
  for (int i = 0; i < 200'000; ++i) {
    const std::string line = "{\"ph\":\"X\",\"ts\":" + std::to_string(i) + "}\n";
    out << line;
    expected += line;
  }
  TSP_ASSERT_OK(buffer.Close());
  EXPECT_EQ(Gunzip(path), expected);
}

TEST(GzipOstreamTest, AnUnwritablePathIsAnError) {
  GzipStreamBuffer buffer;
  EXPECT_THAT(buffer.Open("/no/such/dir/t.json.gz"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot write /no/such/dir/t.json.gz")));
}

}  // namespace
}  // namespace tsp::tools
