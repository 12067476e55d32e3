#include "models/operator_graph.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"

namespace tsp::models {
namespace {

ModelConfig Model(const char* name) { return *LoadModel(name); }

// Parameter counts as the models' publishers report them (Hugging Face
// model cards and safetensors metadata): an independent check of the shapes.
TEST(OperatorGraphTest, ParameterCountsMatchThePublishedModels) {
  EXPECT_EQ(ParameterCount(Model("llama2_7b")), 6'738'415'616);
  EXPECT_EQ(ParameterCount(Model("llama2_13b")), 13'015'864'320);
  EXPECT_EQ(ParameterCount(Model("llama2_70b")), 68'976'648'192);
  EXPECT_EQ(ParameterCount(Model("llama3_8b")), 8'030'261'248);
  EXPECT_EQ(ParameterCount(Model("llama3_70b")), 70'553'706'496);
  EXPECT_EQ(ParameterCount(Model("mixtral_8x7b")), 46'702'792'704);
}

TEST(OperatorGraphTest, DecodeStepOfLlama2_70b) {
  const ModelConfig config = Model("llama2_70b");
  const OperatorGraph graph = *BuildDecodeGraph(config, 1000);
  // Embedding, 80 layers of 14 operators, final norm, LM head, argmax.
  EXPECT_EQ(graph.ops.size(), 1u + 80 * 14 + 3);
  // One token reads every weight once, except the embedding (one row).
  EXPECT_EQ(graph.WeightElementsRead(), ParameterCount(config) - 32000 * 8192 + 8192);
  // MACs: each matmul weight once, plus attention over 1001 positions:
  // 2 x 64 heads x 128 x 1001 per layer.
  const int64_t matmul_weights = ParameterCount(config) - 32000 * 8192 - 80 * 2 * 8192 - 8192;
  EXPECT_EQ(graph.Macs(), matmul_weights + 80 * 2 * 64 * 128 * 1001);
  // K and V of 8 KV heads of 128 per layer: 2,048 elements a token and layer
  // (in fp16, the well-known 320 KiB per token over 80 layers).
  EXPECT_EQ(KvElementsPerToken(config), 80 * 2048);
  EXPECT_EQ(KvElementsPerToken(config) * 2, 320 * 1024);
  EXPECT_EQ(graph.KvElementsRead(), 80 * 2048 * 1001);
}

// The data edges: every operand an earlier operator, the residual stream
// threaded through the residual adds, each weight named once per layer.
TEST(OperatorGraphTest, OperandsAreEarlierOperatorsAndTheResidualStreamIsThreaded) {
  for (const char* name : {"tiny_dense", "tiny_moe"}) {
    const OperatorGraph graph = *BuildDecodeGraph(Model(name), 3);
    int residual = 0;
    ASSERT_EQ(graph.ops[0].kind, OpKind::kEmbedding);
    EXPECT_TRUE(graph.ops[0].inputs.empty());
    for (int i = 1; i < static_cast<int>(graph.ops.size()); ++i) {
      const Operator& op = graph.ops[i];
      ASSERT_FALSE(op.inputs.empty()) << op.name;
      for (int input : op.inputs) EXPECT_LT(input, i) << op.name;
      if (op.kind == OpKind::kResidualAdd) {
        EXPECT_EQ(op.inputs[0], residual) << op.name;
        const WeightKind projection = graph.ops[op.inputs[1]].weight;
        EXPECT_TRUE(projection == WeightKind::kO || projection == WeightKind::kDown) << op.name;
        residual = i;
      }
      if (op.kind == OpKind::kRmsNorm) {
        EXPECT_EQ(op.inputs[0], residual) << op.name;
      }
      if (op.kind == OpKind::kAttention) {
        EXPECT_EQ(graph.ops[op.inputs[0]].kind, OpKind::kRotary);
        EXPECT_EQ(graph.ops[op.inputs[1]].weight, WeightKind::kV);
      }
      if (op.kind == OpKind::kMatMul) {
        EXPECT_NE(op.weight, WeightKind::kNone) << op.name;
      }
    }
    EXPECT_EQ(graph.ops.back().kind, OpKind::kArgmax);
    EXPECT_EQ(graph.ops[graph.ops.back().inputs[0]].weight, WeightKind::kLmHead);
  }
}

TEST(OperatorGraphTest, PrefillIsCausal) {
  const ModelConfig config = Model("tiny_dense");
  const OperatorGraph graph = *BuildPrefillGraph(config, 4, 10);
  for (const Operator& op : graph.ops) {
    if (op.kind != OpKind::kAttention) continue;
    // Tokens see 11, 12, 13 and 14 positions: 50 in all, 2 x 4 heads x 80 MACs each.
    EXPECT_EQ(op.macs, 2 * 4 * 80 * 50);
    EXPECT_EQ(op.kv_elements_written, 2 * 2 * 80 * 4);
  }
  // Weights are read once for the chunk, MACs scale with the tokens.
  const OperatorGraph one = *BuildDecodeGraph(config, 10);
  EXPECT_EQ(graph.WeightElementsRead() - graph.ops[0].weight_elements_read,
            one.WeightElementsRead() - one.ops[0].weight_elements_read);
}

TEST(OperatorGraphTest, MixtureReadsOnlyTheChosenExperts) {
  const ModelConfig config = Model("mixtral_8x7b");
  const OperatorGraph decode = *BuildDecodeGraph(config, 0);
  int64_t expert_read = 0, expert_resident = 0, expert_macs = 0;
  for (const Operator& op : decode.ops) {
    if (op.experts > 1) {
      expert_read += op.weight_elements_read;
      expert_resident += op.weight_elements_resident;
      expert_macs += op.macs;
    }
  }
  // 32 layers x 3 matrices of 4096 x 14336, all 8 resident, 2 read per token.
  EXPECT_EQ(expert_resident, 32LL * 3 * 4096 * 14336 * 8);
  EXPECT_EQ(expert_read, 32LL * 3 * 4096 * 14336 * 2);
  EXPECT_EQ(expert_macs, expert_read);
  // A long prefill touches every expert.
  const OperatorGraph prefill = *BuildPrefillGraph(config, 64);
  for (const Operator& op : prefill.ops) {
    if (op.experts > 1) EXPECT_EQ(op.weight_elements_read, op.weight_elements_resident);
  }
}

TEST(OperatorGraphTest, RefusesCountsBeyond64Bits) {
  ModelConfig config = Model("tiny_dense");
  EXPECT_THAT(BuildPrefillGraph(config, 0), ::tsp::testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                                                     ::testing::HasSubstr("a graph of 0 tokens")));
  config.set_hidden_size(1 << 20);
  config.set_ffn_size(1 << 20);
  config.set_layers(4096);
  config.set_experts(256);
  config.set_experts_per_token(2);
  EXPECT_THAT(BuildPrefillGraph(config, 1 << 20),
              ::tsp::testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("64 bits")));
}

}  // namespace
}  // namespace tsp::models
