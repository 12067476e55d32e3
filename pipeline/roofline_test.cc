#include "pipeline/roofline.h"

#include <string>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "absl/strings/str_cat.h"
#include "isa/status_matchers.h"

namespace tsp::pipeline {
namespace {

// A small decoder counted by hand: hidden 1,024, 2 layers, 8 heads and 8 KV
// heads of 128, SwiGLU 4,096, vocabulary 1,000. A layer: q, o 2 x 1,024^2 +
// k, v 2 x 1,024 x 1,024 = 4,194,304; MLP 3 x 1,024 x 4,096 = 12,582,912;
// two norms 2,048: 16,779,264. Two layers 33,558,528 + embedding and LM head
// 2 x 1,024,000 + the final norm 1,024 = 35,607,552 parameters (bytes in
// FP8). KV cache: 2 (K, V) x 2 layers x 8 x 128 = 4,096 bytes a token.
models::ModelConfig SmallModel() {
  models::ModelConfig c;
  c.set_name("small");
  c.set_hidden_size(1024);
  c.set_layers(2);
  c.set_heads(8);
  c.set_kv_heads(8);
  c.set_ffn_size(4096);
  c.set_vocab_size(1000);
  c.set_context_tokens(4096);
  return c;
}

RealFigure Sourced(double value) {
  RealFigure f;
  f.set_value(value);
  f.set_source("ASSUMED: a test device");
  return f;
}

AcceleratorSpec Device(double tflops, double hbm_gb, double tb_per_s, int devices) {
  AcceleratorSpec d;
  d.set_name("test device");
  *d.mutable_dense_tflops_16bit() = Sourced(tflops / 2);
  *d.mutable_dense_tflops_8bit() = Sourced(tflops);
  *d.mutable_hbm_gigabytes() = Sourced(hbm_gb);
  *d.mutable_hbm_terabytes_per_second() = Sourced(tb_per_s);
  *d.mutable_link_gigabytes_per_second() = Sourced(100);
  *d.mutable_allreduce_latency_us() = Sourced(5);
  *d.mutable_devices_per_server() = Sourced(devices);
  *d.mutable_servers_per_rack() = Sourced(4);
  *d.mutable_watts_per_device() = Sourced(500);
  return d;
}

RooflineQuery Query(const AcceleratorSpec& device, int64_t input, int64_t output, int64_t batch) {
  RooflineQuery q;
  q.config = SmallModel();
  q.device = device;
  q.input_tokens = input;
  q.output_tokens = output;
  q.batch = batch;
  return q;
}

TEST(RooflineTest, CountsParametersByHand) {
  EXPECT_EQ(DecoderParameters(SmallModel()), 35'607'552);
  EXPECT_EQ(ActiveParameters(SmallModel()), 35'607'552);
}

// One device of 1 TB/s and 10^6 TFLOPS, batch 1, one output token after a
// one-token prompt: the step reads the weights and one token of cache,
// 35,607,552 + 4,096 = 35,611,648 bytes, in 35.611648 us; its 71 MFLOPs
// take 71 ps. Memory-bound: 1 / 35.611648 us = 28,080.6 tokens/s.
TEST(RooflineTest, BandwidthBound) {
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult r, Roofline(Query(Device(1e6, 1, 1, 1), 1, 1, 1)));
  EXPECT_EQ(r.servers, 1);
  EXPECT_EQ(r.bound, "memory bandwidth");
  EXPECT_DOUBLE_EQ(r.step_seconds, 35'611'648 / 1e12);
  EXPECT_DOUBLE_EQ(r.tokens_per_s_per_user, 1e12 / 35'611'648);
  EXPECT_DOUBLE_EQ(r.step_collective_seconds, 0);  // One device: no all-reduce.
}

// 1 TFLOPS and 10^6 TB/s: the step's FLOPs, 2 x 35,607,552 (parameters) +
// 4 x 2 layers x 8 heads x 128 x 1 token (attention) = 71,223,296, take
// 71.223296 us. The one-token prompt: 71,215,104 + 2 x 2 x 8 x 128 x 1^2 =
// 71,219,200 FLOPs, 71.2192 us to the first token.
TEST(RooflineTest, ComputeBound) {
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult r, Roofline(Query(Device(1, 1, 1e6, 1), 1, 1, 1)));
  EXPECT_EQ(r.bound, "compute");
  EXPECT_DOUBLE_EQ(r.step_seconds, 71'223'296 / 1e12);
  EXPECT_DOUBLE_EQ(r.ttft_s, 71'219'200 / 1e12);
  // Half the efficiency, twice the time.
  RooflineQuery half = Query(Device(1, 1, 1e6, 1), 1, 1, 1);
  half.efficiency = 0.5;
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult slow, Roofline(half));
  EXPECT_DOUBLE_EQ(slow.step_seconds, 2 * 71'223'296 / 1e12);
}

// 0.1 GB of HBM: 100,000,000 - 35,607,552 = 64,392,448 bytes for caches of
// 1,000 + 24 = 1,024 tokens x 4,096 bytes = 4,194,304 each: 15 sequences.
TEST(RooflineTest, KvCacheLimitsTheBatch) {
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult r, Roofline(Query(Device(1000, 0.1, 1, 1), 1000, 24, 0)));
  EXPECT_EQ(r.max_batch, 15);
  EXPECT_EQ(r.batch, 15);
  absl::StatusOr<RooflineResult> too_many = Roofline(Query(Device(1000, 0.1, 1, 1), 1000, 24, 16));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_many.status().message().find("at most 15 sequences"), std::string::npos) << too_many.status();
}

// Two devices of 10 MB a server hold 20 MB < 35.6 MB of weights: two
// servers in a pipeline. Eight devices of a server: each step's two
// all-reduces a layer, 2 layers: 4 x (5 us + 2 x 7/8 x 2,048 bytes / 100
// GB/s) = 4 x 5.03584 us.
TEST(RooflineTest, PipelinesServersAndCountsCollectives) {
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult two, Roofline(Query(Device(1000, 0.01, 1, 2), 1, 1, 1)));
  EXPECT_EQ(two.servers, 2);
  EXPECT_EQ(two.devices, 4);
  TSP_ASSERT_OK_AND_ASSIGN(RooflineResult eight, Roofline(Query(Device(1000, 1, 1, 8), 1, 1, 1)));
  EXPECT_DOUBLE_EQ(eight.step_collective_seconds, 4 * (5e-6 + 2.0 * 7 / 8 * 2048 / 100e9));
}

TEST(RooflineTest, EverySpecFileLoadsWithSources) {
  for (const char* name : {"h100_sxm", "h200", "b200", "trainium2", "sohu"}) {
    const std::string path = absl::StrCat("pipeline/accelerators/", name, ".textproto");
    AcceleratorSpec spec;
    TSP_ASSERT_OK(isa::LoadTextProtoFile(path, &spec));
    TSP_EXPECT_OK(ValidateAcceleratorSpec(spec, path));
    const google::protobuf::Reflection& reflection = *spec.GetReflection();
    for (int i = 0; i < spec.GetDescriptor()->field_count(); ++i) {
      const google::protobuf::FieldDescriptor* field = spec.GetDescriptor()->field(i);
      if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
      const auto& figure = static_cast<const RealFigure&>(reflection.GetMessage(spec, field));
      // A source, or ASSUMED with a reason.
      EXPECT_GT(figure.source().size(), std::string("ASSUMED: ").size()) << path << " " << field->name();
    }
  }
  AcceleratorSpec unsourced = Device(1, 1, 1, 1);
  unsourced.mutable_hbm_gigabytes()->clear_source();
  EXPECT_NE(ValidateAcceleratorSpec(unsourced, "x").message().find("hbm_gigabytes has no source"),
            std::string::npos);
}

}  // namespace
}  // namespace tsp::pipeline
