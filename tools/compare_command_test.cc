#include "tools/compare_command.h"

#include <sstream>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;

TspRequest CompareRequest() {
  TspRequest request;
  request.set_command("compare");
  request.set_model("tiny_dense");
  request.set_chip_counts("8,16");
  request.set_input_tokens(64);
  request.set_output_tokens(16);
  return request;
}

// The JSON list parses and holds the LPU (emulated) and every accelerator
// spec of pipeline/accelerators (roofline), each with the keys asked.
TEST(CompareCommandTest, JsonListHoldsEverySystem) {
  TspRequest request = CompareRequest();
  request.set_format("json");
  std::ostringstream out, progress;
  TSP_ASSERT_OK(CompareCommand(request, out, progress));
  const std::string json = out.str();
  ASSERT_EQ(json.front(), '[') << json;
  for (const char* key : {"\"system\"", "\"devices\"", "\"method\"", "\"aggregate_output_tokens_per_s\"",
                          "\"aggregate_total_tokens_per_s\"", "\"tokens_per_s_per_user\"", "\"ttft_s\"",
                          "\"watts\""}) {
    EXPECT_THAT(json, HasSubstr(key));
  }
  CompareReport parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage("{\"rows\": " + json + "}", &parsed).ok()) << json;
  ASSERT_EQ(parsed.rows_size(), 6);
  EXPECT_EQ(parsed.rows(0).method(), "emulated");
  EXPECT_THAT(parsed.rows(0).system(), HasSubstr("LPU"));
  const char* names[] = {"H100 SXM", "H200 SXM", "B200", "Trainium2", "Sohu"};
  for (int i = 1; i < 6; ++i) {
    EXPECT_EQ(parsed.rows(i).method(), "roofline");
    EXPECT_THAT(parsed.rows(i).system(), HasSubstr(names[i - 1]));
    EXPECT_GT(parsed.rows(i).aggregate_output_tokens_per_s(), 0);
    // Input and output tokens both counted: (64 + 16) / 16 times the output rate.
    EXPECT_NEAR(parsed.rows(i).aggregate_total_tokens_per_s(), 5 * parsed.rows(i).aggregate_output_tokens_per_s(),
                1e-6 * parsed.rows(i).aggregate_total_tokens_per_s());
  }
}

// A named batch adds a row per system; one that does not fit says so.
TEST(CompareCommandTest, NamedBatchAndItsLimits) {
  TspRequest request = CompareRequest();
  request.set_batch(4);
  std::ostringstream progress;
  TSP_ASSERT_OK_AND_ASSIGN(CompareReport report, CompareReportFor(request, progress, nullptr));
  ASSERT_EQ(report.rows_size(), 11);
  int asked = 0;
  for (const CompareRow& row : report.rows()) {
    if (row.note() == "batch asked") {
      ++asked;
      EXPECT_EQ(row.batch(), 4);
    }
  }
  EXPECT_EQ(asked, 5);
  request.set_batch(1'000'000'000);
  TSP_ASSERT_OK_AND_ASSIGN(CompareReport huge, CompareReportFor(request, progress, nullptr));
  EXPECT_THAT(huge.rows(2).note(), HasSubstr("needs"));
  // Table output names the method of every row.
  std::ostringstream table;
  request.set_batch(0);
  TSP_ASSERT_OK(CompareCommand(request, table, progress));
  EXPECT_THAT(table.str(), HasSubstr("emulated"));
  EXPECT_THAT(table.str(), HasSubstr("roofline"));
}

}  // namespace
}  // namespace tsp::tools
