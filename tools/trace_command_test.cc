#include "tools/trace_command.h"

#include <zlib.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "nlohmann/json.hpp"

namespace tsp::tools {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;

std::string Field(const Struct& event, const std::string& key) {
  auto it = event.fields().find(key);
  if (it == event.fields().end()) return "";
  return it->second.has_string_value() ? it->second.string_value() : "";
}

double Number(const Struct& event, const std::string& key) {
  auto it = event.fields().find(key);
  return it == event.fields().end() ? -1 : it->second.number_value();
}

// The trace-event format's rules, as Chrome's and Perfetto's loaders apply
// them: every event has a phase and a process; complete ("X") events a name,
// a thread, a start and a non-negative duration, in start order on each
// thread and never overlapping; every flow start ("s") one finish ("f") with
// its id, not earlier; every async begin ("b") one end ("e"); metadata ("M")
// a name in its args. Returns the counts per phase.
std::map<std::string, int> CheckTraceEventRules(const std::string& json) {
  Struct trace;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &trace).ok());
  std::map<std::string, int> phases;
  const auto events = trace.fields().find("traceEvents");
  EXPECT_NE(events, trace.fields().end());
  if (events == trace.fields().end()) return phases;
  std::map<std::pair<int, int>, std::pair<double, double>> last;  // Track -> (start, end) of its last X.
  std::map<double, double> flow_start;
  std::map<double, double> flow_finish;
  std::map<std::tuple<std::string, double, std::string>, int> async;
  for (const Value& value : events->second.list_value().values()) {
    const Struct& e = value.struct_value();
    const std::string ph = Field(e, "ph");
    ++phases[ph];
    EXPECT_FALSE(ph.empty());
    EXPECT_GE(Number(e, "pid"), 0) << ph;
    if (ph == "M") {
      EXPECT_EQ(e.fields().count("args"), 1u);
      if (e.fields().count("args") == 0) continue;
      const Struct& args = e.fields().at("args").struct_value();
      EXPECT_TRUE(!Field(args, "name").empty() || args.fields().count("sort_index") == 1) << Field(e, "name");
      continue;
    }
    const double ts = Number(e, "ts");
    EXPECT_GE(ts, 0) << ph;
    if (ph == "X") {
      EXPECT_FALSE(Field(e, "name").empty());
      const double dur = Number(e, "dur");
      EXPECT_GE(dur, 0);
      const auto track = std::make_pair(static_cast<int>(Number(e, "pid")), static_cast<int>(Number(e, "tid")));
      auto it = last.find(track);
      if (it != last.end()) {
        EXPECT_GE(ts, it->second.first) << "track " << track.first << "/" << track.second;
        EXPECT_GE(ts + 1e-9, it->second.second) << "overlap on track " << track.first << "/" << track.second;
      }
      last[track] = {ts, ts + dur};
    } else if (ph == "s") {
      EXPECT_TRUE(flow_start.emplace(Number(e, "id"), ts).second) << "flow id twice";
    } else if (ph == "f") {
      EXPECT_TRUE(flow_finish.emplace(Number(e, "id"), ts).second) << "flow id twice";
      EXPECT_EQ(Field(e, "bp"), "e");
    } else if (ph == "b" || ph == "e") {
      async[{Field(e, "cat"), Number(e, "id"), Field(e, "name")}] += ph == "b" ? 1 : -1;
    }
  }
  EXPECT_EQ(flow_start.size(), flow_finish.size());
  for (const auto& [id, start] : flow_start) {
    auto it = flow_finish.find(id);
    EXPECT_NE(it, flow_finish.end()) << "flow " << id << " never finishes";
    if (it != flow_finish.end()) {
      EXPECT_GE(it->second, start) << "flow " << id;
    }
  }
  for (const auto& [key, balance] : async) EXPECT_EQ(balance, 0) << std::get<2>(key);
  return phases;
}

// The vectors the flows carry (each flow a burst on one port).
int64_t FlowVectors(const std::string& json) {
  const nlohmann::json trace = nlohmann::json::parse(json);
  int64_t vectors = 0;
  for (const nlohmann::json& e : trace["traceEvents"]) {
    if (e["ph"] == "s") vectors += e["args"]["vectors"].get<int64_t>();
  }
  return vectors;
}

std::string Trace(const std::string& detail, const std::string& chips, const std::string& suffix = ".json") {
  TspRequest request;
  request.set_command("trace");
  request.set_model("tiny_dense");
  request.set_chips(8);
  request.set_context(64);
  request.set_detail(detail);
  request.set_trace_chips(chips);
  request.set_out(::testing::TempDir() + "/trace_" + detail + suffix);
  std::ostringstream out, progress;
  const absl::Status status = TraceCommand(request, out, progress);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(out.str(), HasSubstr("events"));
  if (suffix == ".json.gz") {
    gzFile file = gzopen(request.out().c_str(), "rb");
    std::string text;
    char chunk[1 << 16];
    int n;
    while ((n = gzread(file, chunk, sizeof(chunk))) > 0) text.append(chunk, n);
    gzclose(file);
    return text;
  }
  std::ifstream file(request.out());
  std::stringstream json;
  json << file.rdbuf();
  return json.str();
}

TEST(TraceCommandTest, GzipHoldsTheSameTraceAndBurstsCarryEveryVector) {
  const std::string units = Trace("units", "");
  EXPECT_EQ(Trace("units", "", ".json.gz"), units);
  // Units trace: one flow per burst; instructions trace the same vectors.
  const std::string instructions = Trace("instructions", "");
  EXPECT_GT(FlowVectors(units), 0);
  EXPECT_EQ(FlowVectors(units), FlowVectors(instructions));
  const std::map<std::string, int> phases = CheckTraceEventRules(units);
  EXPECT_LT(phases.at("s"), FlowVectors(units));  // Bursts of more than one vector exist.
}

TEST(TraceCommandTest, InstructionTraceFollowsTheFormat) {
  const std::map<std::string, int> phases = CheckTraceEventRules(Trace("instructions", ""));
  EXPECT_GT(phases.at("X"), 1000);
  EXPECT_GT(phases.at("s"), 0);      // The stages' all-reduces and handoff cross links.
  EXPECT_EQ(phases.at("b"), 2 * 2);  // tiny_dense on 8 chips: 2 stages, its 2 users' tokens.
}

TEST(TraceCommandTest, UnitTraceIsSmallerAndFollowsTheFormat) {
  const std::string instructions = Trace("instructions", "");
  const std::string units = Trace("units", "");
  CheckTraceEventRules(units);
  EXPECT_LT(units.size() * 2, instructions.size());
}

TEST(TraceCommandTest, ChipSelectionKeepsOnlyThoseChips) {
  const std::string json = Trace("instructions", "0-1");
  CheckTraceEventRules(json);
  EXPECT_EQ(json.find("\"pid\":5,"), std::string::npos);
  EXPECT_NE(json.find("\"pid\":1,"), std::string::npos);
}

TEST(TraceCommandTest, BadOptionsAreClearErrors) {
  TspRequest request;
  request.set_command("trace");
  request.set_model("tiny_dense");
  std::ostringstream out, progress;
  EXPECT_THAT(std::string(TraceCommand(request, out, progress).message()), HasSubstr("--out=FILE.json, FILE.json.gz"));
  request.set_out(::testing::TempDir() + "/x.txt");
  EXPECT_THAT(std::string(TraceCommand(request, out, progress).message()),
              HasSubstr("x.txt: the file's name says what to write: .json"));
  request.set_out(::testing::TempDir() + "/x.json");
  request.set_detail("everything");
  EXPECT_THAT(std::string(TraceCommand(request, out, progress).message()), HasSubstr("units, instructions"));
  request.set_detail("units");
  request.set_trace_chips("3-1");
  EXPECT_THAT(std::string(TraceCommand(request, out, progress).message()), HasSubstr("not a chip or a range"));
  request.set_trace_chips("");
  request.set_cycles("9:3");
  EXPECT_THAT(std::string(TraceCommand(request, out, progress).message()), HasSubstr("is not first:last"));
}

}  // namespace
}  // namespace tsp::tools
