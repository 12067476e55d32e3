#include "scheduler/model_run.h"

#include <iostream>
#include <memory>

#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "scheduler/test_system.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"

namespace tsp::scheduler {
namespace {

class ModelRunTest : public SystemFixture<::testing::Test> {};

// llama2_70b (int8, 4,096-token caches) on the production 576-chip system
// (72 nodes): 16-way x 36 stages, 8 of three layers; every distinct stage
// unit compiled and emulated, predicted == emulated, at the decode KV length
// and at a one-token prompt's.
TEST_F(ModelRunTest, Llama70bOn576Chips) {
  Build(72);
  PartitionQuery query;
  query.config = *models::LoadModel("llama2_70b");
  query.context_tokens = 4096;
  query.chips = 576;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(query, *chip_, *system_, *topology_));
  ModelRunOptions options;
  options.context_tokens = 4096;
  options.prompt_tokens = 1;
  options.progress = [](const std::string& line) { std::cerr << line << "\n"; };
  TSP_ASSERT_OK_AND_ASSIGN(RunReport report, RunModel(query.config, *chip_, *system_, *topology_, choice, options));
  EXPECT_EQ(report.cycles_per_token_predicted(), report.cycles_per_token_emulated());
  EXPECT_EQ(report.chips(), 576);
  EXPECT_EQ(report.tensor_parallel(), 16);
  EXPECT_EQ(report.pipeline_stages(), 36);
  int stages = 0;
  for (const StageUnitReport& unit : report.units()) {
    EXPECT_EQ(unit.predicted_last_cycle(), unit.emulated_last_cycle());
    stages += unit.stages_size();
  }
  EXPECT_EQ(stages, 2 * 36);  // Every stage at the decode KV length and at the prompt's.
  // The timing line's figures are filled in (their values are the machine's).
  EXPECT_GT(report.decode_step_wall_seconds(), 0);
  EXPECT_GT(report.prompt_wall_seconds(), 0);
  EXPECT_GT(report.peak_memory_bytes(), 0);
  EXPECT_EQ(report.threads(), options.threads);
  std::cout << "decode step " << report.decode_step_wall_seconds() << " s wall, prompt units "
            << report.prompt_wall_seconds() << " s, peak " << report.peak_memory_bytes() << " bytes\n";
  std::cout << "cycles per token " << report.cycles_per_token_emulated() << ", tokens/s per user "
            << report.tokens_per_s_per_user() << ", " << report.units_size() << " distinct units, compile "
            << report.compile_seconds() << " s, emulate " << report.emulate_seconds() << " s\n";
}

// With options.verify, every unit's chip programs pass the independent
// verifier, before emulation and, for units compiled only, instead of it.
TEST_F(ModelRunTest, VerifiesUnitsEmulatedOrNot) {
  Build(1);
  PartitionQuery query;
  query.config = *models::LoadModel("tiny_dense");
  query.chips = 2;
  TSP_ASSERT_OK_AND_ASSIGN(PartitionChoice choice, ChoosePartition(query, *chip_, *system_, *topology_));
  for (const bool emulate : {true, false}) {
    ModelRunOptions options;
    options.prompt_tokens = 0;
    options.emulate = emulate;
    options.verify = true;
    TSP_ASSERT_OK_AND_ASSIGN(RunReport report, RunModel(query.config, *chip_, *system_, *topology_, choice, options));
    EXPECT_TRUE(report.verified());
    EXPECT_EQ(report.verify_seconds() > 0, !emulate);
  }
}

}  // namespace
}  // namespace tsp::scheduler
