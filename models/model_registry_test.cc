#include "models/model_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"

namespace tsp::models {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

TEST(ModelRegistryTest, EveryCheckedInModelLoadsByNameAndPath) {
  EXPECT_THAT(BuiltinModelNames(),
              ElementsAre("llama2_13b", "llama2_70b", "llama2_7b", "llama3_70b", "llama3_8b",
                          "mixtral_8x7b", "tiny_dense", "tiny_moe", "tiny_wide"));
  for (const std::string& name : BuiltinModelNames()) {
    TSP_ASSERT_OK_AND_ASSIGN(ModelConfig by_name, LoadModel(name));
    TSP_ASSERT_OK_AND_ASSIGN(ModelConfig by_path, LoadModel("models/" + name + ".textproto"));
    EXPECT_EQ(by_name.DebugString(), by_path.DebugString());
    EXPECT_EQ(by_name.name(), name);
  }
}

TEST(ModelRegistryTest, PublishedShapes) {
  TSP_ASSERT_OK_AND_ASSIGN(ModelConfig llama, LoadModel("llama2_70b"));
  EXPECT_EQ(HeadDim(llama), 128);
  EXPECT_EQ(llama.heads() / llama.kv_heads(), 8);
  TSP_ASSERT_OK_AND_ASSIGN(ModelConfig mixtral, LoadModel("mixtral_8x7b"));
  EXPECT_EQ(mixtral.experts(), 8);
  EXPECT_EQ(mixtral.experts_per_token(), 2);
  // The tiny configs fit the chip's 320 lanes.
  for (const char* name : {"tiny_dense", "tiny_wide", "tiny_moe"}) {
    TSP_ASSERT_OK_AND_ASSIGN(ModelConfig tiny, LoadModel(name));
    EXPECT_EQ(tiny.hidden_size() % 320, 0) << name;
    EXPECT_GE(tiny.hidden_size(), 320);
    EXPECT_LE(tiny.hidden_size(), 1280);
  }
}

ModelConfig Tiny() { return *LoadModel("tiny_dense"); }

TEST(ModelRegistryTest, RejectsInconsistentConfigs) {
  ModelConfig config = Tiny();
  config.set_heads(3);
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("model 'tiny_dense': heads: 3 heads do not divide hidden_size 320")));
  config = Tiny();
  config.set_kv_heads(3);
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kv_heads: 3 KV heads do not divide 4 heads")));
  config = Tiny();
  config.set_vocab_size(0);
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("vocab_size: 0 is not a positive size")));
  config = Tiny();
  config.set_heads(64);  // 320 / 64 = 5: odd head size.
  config.set_kv_heads(8);
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the head size 5 is odd")));
  config = Tiny();
  config.set_experts_per_token(2);
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 of 0 experts")));
  config = Tiny();
  config.set_ffn_size(90444444444444446);  // A fuzzer's find: products overflowed.
  EXPECT_THAT(ValidateModelConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ffn_size: 90444444444444446 is beyond the limit")));
  EXPECT_THAT(LoadModel("llama9_1t"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no model 'llama9_1t'; built-in models: llama2_13b, llama2_70b")));
  EXPECT_THAT(LoadModel("llama2_70c"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no model 'llama2_70c'; did you mean 'llama2_70b', 'llama2_7b' or 'llama3_70b'?")));
  EXPECT_THAT(LoadModel("no/such.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such.textproto")));
}

}  // namespace
}  // namespace tsp::models
