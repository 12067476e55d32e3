#include "pipeline/system_model.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::pipeline {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

constexpr char kDefaultPath[] = "pipeline/specs/groq_576.textproto";

TEST(SystemModelTest, EveryCheckedInSpecLoads) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  for (const char* path : {kDefaultPath}) TSP_EXPECT_OK(LoadSystemModel(path, chip)) << path;
}

TEST(SystemModelTest, DerivesChipsRacksAndLinkSerialization) {
  TSP_ASSERT_OK_AND_ASSIGN(isa::ChipModel chip, isa::DefaultChipModel());
  TSP_ASSERT_OK_AND_ASSIGN(SystemModel system, LoadSystemModel(kDefaultPath, chip));
  EXPECT_EQ(system.chips(), 576);
  EXPECT_EQ(system.racks(), 8);
  // 328 bytes x 8 bits at 900 MHz over 4 lanes of 25.78125 Gb/s:
  // 2624 x 0.9e9 / 103.125e9 = 22.9 -> 23 cycles.
  EXPECT_EQ(system.link_serialization_cycles(), 23);
}

absl::StatusOr<SystemModel> Edited(absl::string_view from, absl::string_view to) {
  absl::StatusOr<std::string> text = isa::ReadFile(kDefaultPath);
  if (!text.ok()) return text.status();
  std::string edited = absl::StrReplaceAll(*text, {{from, to}});
  EXPECT_NE(edited, *text) << from;
  SystemSpec spec;
  absl::Status parsed = isa::ParseTextProto(edited, "edited", &spec);
  if (!parsed.ok()) return parsed;
  absl::StatusOr<isa::ChipModel> chip = isa::DefaultChipModel();
  return SystemModel::Create(spec, *chip);
}

TEST(SystemModelTest, RejectsSpecsThatCannotBeWired) {
  EXPECT_THAT(Edited("local_links_per_chip { value: 7", "local_links_per_chip { value: 6"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("6 links cannot connect a chip to the other 7 chips")));
  EXPECT_THAT(Edited("global_links_per_chip { value: 4", "global_links_per_chip { value: 10"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("17 links per chip exceed the chip's 16 C2C links")));
  EXPECT_THAT(Edited("neighbour_nodes_per_side { value: 4", "neighbour_nodes_per_side { value: 3"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a node's 32 global links do not split evenly over 6")));
  EXPECT_THAT(Edited("source: \"SHIP 7.1.1 (388 W provisioned per chip)\"", "source: \"\""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("watts_per_chip: source")));
  EXPECT_THAT(Edited("chip: \"tsp_v1\"", "chip: \"tsp_v2\""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names chip 'tsp_v2'")));
}

}  // namespace
}  // namespace tsp::pipeline
