#include "tools/proto_json.h"

#include "google/protobuf/util/json_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scheduler/plan_report.pb.h"
#include "scheduler/run_report.pb.h"

namespace tsp::tools {
namespace {

TEST(ProtoJsonTest, NumbersAreNumbersAndEveryFieldIsThere) {
  scheduler::RunReport report;
  report.set_model("llama2_70b");
  report.set_context_tokens(4096);
  report.set_cycles_per_token_predicted(3'932'123);
  report.set_peak_memory_bytes(int64_t{3'096'915'968});
  report.set_tokens_per_s_per_user(228.88235294117646);
  report.add_units()->set_predicted_last_cycle(int64_t{1} << 40);
  const nlohmann::json json = nlohmann::json::parse(ProtoJson(report));
  EXPECT_EQ(json["report"], "tsp.scheduler.RunReport");
  ASSERT_TRUE(json["context_tokens"].is_number_integer());
  EXPECT_EQ(json["context_tokens"].get<int64_t>(), 4096);
  EXPECT_EQ(json["cycles_per_token_predicted"].get<int64_t>(), 3'932'123);
  EXPECT_EQ(json["peak_memory_bytes"].get<int64_t>(), int64_t{3'096'915'968});
  EXPECT_EQ(json["tokens_per_s_per_user"].get<double>(), 228.88235294117646);
  EXPECT_EQ(json["units"][0]["predicted_last_cycle"].get<int64_t>(), int64_t{1} << 40);
  // Zeros and empty fields are present.
  ASSERT_TRUE(json.contains("ttft_s"));
  EXPECT_EQ(json["ttft_s"].get<double>(), 0.0);
  EXPECT_EQ(json["system"], "");
  EXPECT_TRUE(json["units"][0]["stages"].is_array());
}

TEST(ProtoJsonTest, ParsesBackIntoTheSameMessage) {
  scheduler::PlanReport report;
  report.set_model("tiny_dense");
  report.set_chosen(-1);
  report.add_assumptions("power: 215 W per chip");
  scheduler::PlanRow* row = report.add_rows();
  row->set_chips(8);
  row->set_concurrent_users(int64_t{1} << 53);
  row->set_tokens_per_s_per_user(0.1);
  row->set_dollars_per_million_tokens(1.0 / 3.0);
  row->set_pareto(true);
  scheduler::PlanReport back;
  ASSERT_TRUE(ParseProtoJson(ProtoJson(report), &back).ok());
  EXPECT_EQ(back.SerializeAsString(), report.SerializeAsString());
  // Not another message's JSON, nor what is not JSON.
  scheduler::RunReport run;
  EXPECT_EQ(ParseProtoJson(ProtoJson(report), &run).message(),
            "the JSON is a \"tsp.scheduler.PlanReport\", not a tsp.scheduler.RunReport");
  EXPECT_EQ(ParseProtoJson("{\"chips\": ", &back).message(), "not a JSON object of tsp.scheduler.PlanReport");
}

}  // namespace
}  // namespace tsp::tools
