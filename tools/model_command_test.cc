#include "tools/model_command.h"

#include <sstream>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "tools/proto_json.h"
#include "scheduler/run_report.pb.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;

TspRequest ModelRequest(const std::string& model, int64_t chips) {
  TspRequest request;
  request.set_command("run");
  request.set_model(model);
  request.set_chips(chips);
  request.set_context(64);
  request.set_prompt_tokens(4);
  return request;
}

// The JSON report parses back into the RunReport with the keys, and
// its prediction equals its emulation.
TEST(ModelCommandTest, JsonReportParses) {
  TspRequest request = ModelRequest("tiny_dense", 8);
  request.set_format("json");
  std::ostringstream out, progress;
  TSP_ASSERT_OK(RunModelCommand(request, out, progress));
  for (const char* key : {"\"model\"", "\"chips\"", "\"tensor_parallel\"", "\"pipeline_stages\"",
                          "\"weight_format\"", "\"context_tokens\"", "\"prompt_tokens\"", "\"concurrent_users\"",
                          "\"cycles_per_token_predicted\"", "\"cycles_per_token_emulated\"",
                          "\"tokens_per_s_per_user\"", "\"ttft_s\"", "\"aggregate_tokens_per_s\""}) {
    EXPECT_THAT(out.str(), HasSubstr(key));
  }
  scheduler::RunReport report;
  ASSERT_TRUE(ParseProtoJson(out.str(), &report).ok()) << out.str();
  EXPECT_EQ(report.model(), "tiny_dense");
  EXPECT_EQ(report.chips(), 8);
  EXPECT_EQ(report.cycles_per_token_predicted(), report.cycles_per_token_emulated());
  EXPECT_GT(report.tokens_per_s_per_user(), 0);
  // Progress went to the terminal stream, not into the JSON.
  EXPECT_THAT(progress.str(), HasSubstr("compiling and emulating stage 0"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("compiling")));
}

TEST(ModelCommandTest, FunctionalRunChoosesTheReferenceTokens) {
  TspRequest request = ModelRequest("tiny_moe", 8);
  request.set_mode("functional");
  request.set_prompt_tokens(2);
  std::ostringstream out, progress;
  TSP_ASSERT_OK(RunModelCommand(request, out, progress));
  EXPECT_THAT(out.str(), HasSubstr("4 of 4 steps chose the reference's token"));
}

TEST(ModelCommandTest, ModelsThatDoNotFitSayByHowMuch) {
  TspRequest request = ModelRequest("llama2_70b", 8);
  std::ostringstream out, progress;
  const absl::Status status = RunModelCommand(request, out, progress);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("does not fit 8 chips"));
  EXPECT_THAT(status.message(), HasSubstr("the fewest chips that fit"));
  request.set_mode("fast");
  EXPECT_EQ(RunModelCommand(request, out, progress).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tsp::tools
