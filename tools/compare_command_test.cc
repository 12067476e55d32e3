#include "tools/compare_command.h"

#include <sstream>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "nlohmann/json.hpp"
#include "tools/proto_json.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

TspRequest CompareRequest() {
  TspRequest request;
  request.set_command("compare");
  request.set_model("tiny_dense");
  request.set_chip_counts("8,16");
  request.set_input_tokens(64);
  request.set_output_tokens(16);
  return request;
}

// The JSON report parses back, numbers as numbers, with its assumptions, and
// holds the LPU (emulated) and every built-in accelerator (roofline), each
// with the keys asked.
TEST(CompareCommandTest, JsonReportHoldsEverySystemAndItsAssumptions) {
  TspRequest request = CompareRequest();
  request.set_format("json");
  std::ostringstream out, progress;
  TSP_ASSERT_OK(CompareCommand(request, out, progress));
  const nlohmann::json json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["report"], "tsp.tools.CompareReport");
  EXPECT_TRUE(json["input_tokens"].is_number_integer());
  ASSERT_TRUE(json["assumptions"].is_array());
  EXPECT_GE(json["assumptions"].size(), 2u);
  for (const char* key : {"system", "devices", "method", "aggregate_output_tokens_per_s",
                          "aggregate_total_tokens_per_s", "tokens_per_s_per_user", "ttft_s", "watts", "batch"}) {
    EXPECT_TRUE(json["rows"][0].contains(key)) << key;
  }
  EXPECT_TRUE(json["rows"][1]["batch"].is_number_integer());
  CompareReport parsed;
  ASSERT_TRUE(ParseProtoJson(out.str(), &parsed).ok()) << out.str();
  ASSERT_EQ(parsed.rows_size(), 6);
  EXPECT_EQ(parsed.rows(0).method(), "emulated");
  EXPECT_THAT(parsed.rows(0).system(), HasSubstr("LPU"));
  EXPECT_THAT(parsed.assumptions(0), HasSubstr("LPU: emulated"));
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

// Accelerators by built-in name; an unknown one suggests the nearest.
TEST(CompareCommandTest, AcceleratorsByName) {
  TspRequest request = CompareRequest();
  request.add_accelerators("h100_sxm");
  std::ostringstream progress;
  TSP_ASSERT_OK_AND_ASSIGN(CompareReport report, CompareReportFor(request, progress, nullptr));
  ASSERT_EQ(report.rows_size(), 2);
  EXPECT_THAT(report.rows(1).system(), HasSubstr("H100 SXM"));
  request.clear_accelerators();
  request.add_accelerators("h100");
  EXPECT_THAT(CompareReportFor(request, progress, nullptr).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no accelerator 'h100'; did you mean 'h100_sxm' or 'h200'?")));
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
