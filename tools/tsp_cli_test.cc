#include "tools/tsp_cli.h"

#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tools/usage_error.h"
#include "isa/status_matchers.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

TEST(TspCliTest, DefaultDemoMatchesReferenceAndPrediction) {
  TspRequest request;
  request.set_rows(640);
  request.set_columns(960);
  std::ostringstream out;
  TSP_ASSERT_OK(RealMain(request, out));
  EXPECT_THAT(out.str(), HasSubstr("agrees to the cycle"));
  EXPECT_THAT(out.str(), HasSubstr("640 of 640 outputs bit-identical to the reference"));
  // Same kernel as matvec_kernel_test's hand calculation: last event at 186.
  EXPECT_THAT(out.str(), HasSubstr("last event at cycle 186"));
}

TEST(TspCliTest, JsonAndFp16) {
  TspRequest request;
  request.set_rows(320);
  request.set_columns(640);
  request.set_weights("fp16");
  request.set_format("json");
  std::ostringstream out;
  TSP_ASSERT_OK(RealMain(request, out));
  const nlohmann::json json = nlohmann::json::parse(out.str());
  EXPECT_EQ(json["report"], "tsp.tools.MatvecReport");
  EXPECT_EQ(json["outputs_matching_reference"].get<int64_t>(), 320);
  EXPECT_EQ(json["outputs"].get<int64_t>(), 320);
  EXPECT_EQ(json["predicted_last_event_cycle"], json["emulated_last_event_cycle"]);
  EXPECT_TRUE(json["completion_us"].is_number_float());
}

TEST(TspCliTest, RunsAnExampleProgram) {
  TspRequest request;
  request.set_command("run");
  request.set_program("tools/examples/add_vectors.tsp");
  std::ostringstream out;
  TSP_ASSERT_OK(RealMain(request, out));
  // Write at 11 lands at 16; 19 more cycles for the last superlane.
  EXPECT_THAT(out.str(), HasSubstr("last event  : cycle 16"));
  EXPECT_THAT(out.str(), HasSubstr("completion  : 36 cycles"));
}

TEST(TspCliTest, ChecksSpecs) {
  TspRequest request;
  request.set_command("check");
  request.set_system("groq_576");
  std::ostringstream out;
  TSP_ASSERT_OK(RealMain(request, out));
  EXPECT_THAT(out.str(), HasSubstr("chip tsp_v1: 97 slices, 146 queues, 320 lanes"));
  EXPECT_THAT(out.str(), HasSubstr("576 chips in 72 nodes and 8 racks"));
  // The other built-in system, and JSON.
  request.set_system("groq_1152");
  request.set_format("json");
  std::ostringstream json;
  TSP_ASSERT_OK(RealMain(request, json));
  EXPECT_EQ(nlohmann::json::parse(json.str())["chips"].get<int64_t>(), 1152);
  request.set_system("groq576");
  EXPECT_THAT(RealMain(request, json), StatusIs(absl::StatusCode::kNotFound,
                                                HasSubstr("no system 'groq576'; did you mean 'groq_576'?")));
}

TEST(TspCliTest, RejectsBadRequestsClearly) {
  std::ostringstream out;
  TspRequest request;
  request.set_command("plan9");
  absl::Status status = RealMain(request, out);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("unknown subcommand 'plan9'; did you mean 'plan'?")));
  EXPECT_TRUE(IsUsageError(status));
  request.set_command("matvec");
  request.set_rows(100);
  EXPECT_THAT(RealMain(request, out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("multiples of 320")));
  request.set_rows(320);
  request.set_weights("int4");
  EXPECT_THAT(RealMain(request, out), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("--weights=int4 is not one of")));
  request.set_command("run");
  request.set_program("no/such.tsp");
  status = RealMain(request, out);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open 'no/such.tsp'")));
  EXPECT_FALSE(IsUsageError(status));
  request.set_command("check");
  request.set_chip("tools/examples/add_vectors.tsp");
  EXPECT_THAT(RealMain(request, out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tools/examples/add_vectors.tsp:")));
}

}  // namespace
}  // namespace tsp::tools
