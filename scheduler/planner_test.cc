#include "scheduler/planner.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"
#include "models/model_registry.h"
#include "pipeline/system_model.h"

namespace tsp::scheduler {
namespace {

using ::testing::HasSubstr;

PlanQuery TinyQuery(std::vector<int> chip_counts, bool listed) {
  PlanQuery query;
  query.config = *models::LoadModel("tiny_dense");
  if (!pipeline::LoadSystemSpec(pipeline::kDefaultSystemName, &query.system).ok()) std::abort();
  query.formats = {models::NumberFormat::kInt8, models::NumberFormat::kFp16};
  query.chip_counts = std::move(chip_counts);
  query.chip_counts_listed = listed;
  query.context_tokens = 64;
  query.prompt_tokens = 2;
  query.emulate_search = false;
  return query;
}

// No listed option is beaten by another on every column (as fast per user,
// as many users and as much aggregate rate, on no more chips), every count
// asked gets a row or a note, and listed Pareto and chosen rows are emulated, their
// predicted cycles equal to the emulated ones.
TEST(PlannerTest, ListedOptionsAreUndominatedAndEveryCountIsAccountedFor) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  TSP_ASSERT_OK_AND_ASSIGN(PlanReport report, Plan(TinyQuery({8, 16, 24}, /*listed=*/true), chip));
  ASSERT_FALSE(report.rows().empty());
  std::set<int> accounted;
  for (const PlanRow& row : report.rows()) {
    if (row.useful()) accounted.insert(row.chips());
    if (row.useful() && (row.pareto() || row.chosen())) {
      EXPECT_TRUE(row.emulated()) << row.ShortDebugString();
      EXPECT_EQ(row.cycles_per_token_predicted(), row.cycles_per_token_emulated());
    }
  }
  for (const ChipCountNote& note : report.unlisted_chip_counts()) {
    EXPECT_FALSE(note.reason().empty());
    EXPECT_TRUE(accounted.insert(note.chips()).second) << "count " << note.chips() << " has a row and a note";
  }
  EXPECT_EQ(accounted, (std::set<int>{8, 16, 24}));
  for (const PlanRow& a : report.rows()) {
    if (!a.useful()) continue;
    for (const PlanRow& b : report.rows()) {
      if (&a == &b || !b.useful()) continue;
      const bool beaten =
          b.chips() <= a.chips() && b.tokens_per_s_per_user() >= a.tokens_per_s_per_user() &&
          b.concurrent_users() >= a.concurrent_users() && b.aggregate_tokens_per_s() >= a.aggregate_tokens_per_s() &&
          (b.chips() < a.chips() || b.tokens_per_s_per_user() > a.tokens_per_s_per_user() ||
           b.concurrent_users() > a.concurrent_users() || b.aggregate_tokens_per_s() > a.aggregate_tokens_per_s());
      EXPECT_FALSE(beaten) << a.ShortDebugString() << "\nis beaten by\n" << b.ShortDebugString();
    }
  }
  // A copy of a pipeline on 8 chips serves 8 times the users at the same
  // per-user speed (the replicas rule), and is listed.
  bool replicas_listed = false;
  for (const PlanRow& row : report.rows()) replicas_listed |= row.useful() && row.replicas() > 1;
  EXPECT_TRUE(replicas_listed);
}

// Constraints no option meets: a report saying which constraint fails and
// by how much, not an error.
TEST(PlannerTest, AnUnmetConstraintIsAVerdictNotAnError) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  PlanQuery query = TinyQuery({8}, /*listed=*/false);
  query.min_tokens_per_s_per_user = 1e9;
  TSP_ASSERT_OK_AND_ASSIGN(PlanReport report, Plan(query, chip));
  EXPECT_EQ(report.chosen(), -1);
  EXPECT_THAT(report.verdict(), HasSubstr("tokens/s"));
}

}  // namespace
}  // namespace tsp::scheduler
