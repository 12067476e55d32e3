#include "scheduler/lowering/step_lowering.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "models/operator_graph.h"

namespace tsp::scheduler::lowering {
namespace {

using ::testing::HasSubstr;

TEST(StepLoweringTest, ThePassListLowersEveryBuiltInModelsDecodeGraph) {
  for (const std::string& name : models::BuiltinModelNames()) {
    TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel(name));
    TSP_ASSERT_OK_AND_ASSIGN(models::OperatorGraph graph, models::BuildDecodeGraph(config, 5));
    TSP_EXPECT_OK(CheckPassesCover(graph)) << name;
  }
}

TEST(StepLoweringTest, AnOperatorNoPassLowersIsNamed) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_dense"));
  TSP_ASSERT_OK_AND_ASSIGN(models::OperatorGraph graph, models::BuildDecodeGraph(config, 5));
  graph.ops[3].inputs.push_back(0);  // layer 0 k_proj: a projection of two operands.
  graph.ops[3].inputs.push_back(1);
  EXPECT_THAT(CheckPassesCover(graph).message(), HasSubstr("no lowering pass lowers operator 'layer 0 k_proj'"));
}

TEST(StepLoweringTest, AFusedPassMayNotRunPastItsLayer) {
  TSP_ASSERT_OK_AND_ASSIGN(models::ModelConfig config, models::LoadModel("tiny_dense"));
  TSP_ASSERT_OK_AND_ASSIGN(models::OperatorGraph graph, models::BuildDecodeGraph(config, 5));
  // The attention after layer 0's rotary operator said to be layer 1's.
  int rotary = 0;
  while (graph.ops[rotary].kind != models::OpKind::kRotary) ++rotary;
  graph.ops[rotary + 1].layer = 1;
  EXPECT_THAT(CheckPassesCover(graph).message(), HasSubstr("past the end of its layer"));
}

}  // namespace
}  // namespace tsp::scheduler::lowering
