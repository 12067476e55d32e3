#include "isa/builtin_texts.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tsp::isa {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const char* const kTable[][2] = {{"zeta", "z text"}, {"alpha", "a text"}, {nullptr, nullptr}};

TEST(BuiltinTextsTest, FindsByExactNameAndListsSorted) {
  const BuiltinTexts texts(kTable);
  EXPECT_STREQ(texts.Find("alpha"), "a text");
  EXPECT_STREQ(texts.Find("zeta"), "z text");
  EXPECT_EQ(texts.Find("alph"), nullptr);
  EXPECT_EQ(texts.Find(""), nullptr);
  EXPECT_THAT(texts.names(), ElementsAre("alpha", "zeta"));
}

TEST(BuiltinTextsTest, PathsAreFilesNamesAreBuiltins) {
  EXPECT_TRUE(IsPath("models/llama2_7b.textproto"));
  EXPECT_TRUE(IsPath("my.textproto"));
  EXPECT_TRUE(IsPath("./x"));
  EXPECT_FALSE(IsPath("llama2_7b"));
}

TEST(BuiltinTextsTest, NearestNamesForTyposAndPrefixes) {
  const std::vector<std::string> models = {"llama2_13b", "llama2_70b", "llama2_7b", "llama3_70b",
                                           "llama3_8b",  "mixtral_8x7b", "tiny_dense", "tiny_moe", "tiny_wide"};
  // One letter wrong, one missing, two swapped.
  EXPECT_THAT(NearestNames("llama2_70c", models), ElementsAre("llama2_70b", "llama2_7b", "llama3_70b"));
  EXPECT_THAT(NearestNames("tiny_dens", models), ElementsAre("tiny_dense"));
  EXPECT_THAT(NearestNames("mixtarl_8x7b", models), ElementsAre("mixtral_8x7b"));
  // A prefix lists what it starts (in the candidates' order), nearest kept to three.
  EXPECT_THAT(NearestNames("tiny", models), ElementsAre("tiny_dense", "tiny_moe", "tiny_wide"));
  EXPECT_THAT(NearestNames("gpt4", models), IsEmpty());
  EXPECT_THAT(NearestNames("llama9_1t", models), IsEmpty());
  EXPECT_THAT(NearestNames("plna", {"plan", "run", "trace"}), ElementsAre("plan"));
  EXPECT_THAT(NearestNames("", {"a", "bcd"}), ElementsAre("a"));
}

TEST(BuiltinTextsTest, DidYouMeanReadsAsASentence) {
  EXPECT_EQ(DidYouMean("contex", {"context", "chips"}), "; did you mean 'context'?");
  EXPECT_EQ(DidYouMean("chip", {"chips", "chip_counts", "tp"}), "; did you mean 'chips' or 'chip_counts'?");
  EXPECT_EQ(DidYouMean("frobnicate", {"chips", "tp"}), "");
}

}  // namespace
}  // namespace tsp::isa
