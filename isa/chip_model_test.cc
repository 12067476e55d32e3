#include "isa/chip_model.h"

#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::isa {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

TEST(ChipModelTest, EveryCheckedInSpecLoads) {
  for (const char* path : {"isa/specs/tsp_v1.textproto"}) {
    TSP_EXPECT_OK(LoadChipModel(path)) << path;
  }
}

TEST(ChipModelTest, DefaultChipFollowsThePublishedFigures) {
  TSP_ASSERT_OK_AND_ASSIGN(ChipModel chip, DefaultChipModel());
  EXPECT_EQ(chip.clock_hz(), 900'000'000);
  EXPECT_EQ(chip.lanes(), 320);
  EXPECT_EQ(chip.streams_per_direction(), 32);
  // C2C_W, MXM x2, SXM, MEM x44, VXM, MEM x44, SXM, MXM x2, C2C_E.
  EXPECT_EQ(chip.positions(), 97);
  EXPECT_EQ(chip.SlicesOfKind(SLICE_MEM).size(), 88u);
  EXPECT_EQ(chip.SlicesOfKind(SLICE_MXM).size(), 4u);
  // 144 compute queues (88 MEM + 16 VXM + 12 MXM + 28 SXM) plus one per C2C slice.
  EXPECT_EQ(chip.queues().size(), 146u);
  // 2.5 MiB / 320 B = 8192 addresses in two banks.
  EXPECT_EQ(chip.mem_addresses(), 8192);
  EXPECT_EQ(chip.mem_addresses_per_bank(), 4096);
  EXPECT_EQ(chip.c2c_ports_per_slice(), 8);
  // MEM_W0 and MEM_E0 are the VXM's neighbours.
  const int vxm = *chip.FindSlice("VXM");
  EXPECT_EQ(*chip.FindSlice("MEM_W0"), vxm - 1);
  EXPECT_EQ(*chip.FindSlice("MEM_E0"), vxm + 1);
  EXPECT_EQ(*chip.FindSlice("MEM_W43"), 4);
  EXPECT_EQ(chip.queues()[*chip.FindQueue("VXM.15")].slice, vxm);
  EXPECT_TRUE(chip.IsLargeAlu(15));
  EXPECT_FALSE(chip.IsLargeAlu(1));
  EXPECT_EQ(chip.latency_cycles(Opcode::kRead), 5);
  EXPECT_FALSE(chip.FindQueue("MEM_W44").has_value());
}

// Edits the default spec's text and returns the validation result.
absl::StatusOr<ChipModel> ModifiedDefault(absl::string_view from, absl::string_view to) {
  std::string text = absl::StrReplaceAll(DefaultChipSpecText(), {{from, to}});
  EXPECT_NE(text, DefaultChipSpecText()) << "edit did not apply: " << from;
  ChipSpec spec;
  absl::Status parsed = ParseTextProto(text, "edited", &spec);
  if (!parsed.ok()) return parsed;
  return ChipModel::Create(spec);
}

TEST(ChipModelTest, RejectsAFigureWithoutSource) {
  EXPECT_THAT(ModifiedDefault("superlanes { value: 20 source: \"ISCA20\" }",
                              "superlanes { value: 20 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("superlanes: source '' is not a key of docs/tsp-facts.md")));
  EXPECT_THAT(ModifiedDefault("source: \"ASSUMED: unpublished; one ALU pass\"", "source: \"ASSUMED\""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timing[4] (Add)")));
}

TEST(ChipModelTest, RejectsInconsistentMemoryGeometry) {
  EXPECT_THAT(ModifiedDefault("value: 2621440", "value: 2621000"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("mem.slice_bytes: 2621000 is not a whole number of 320-byte")));
  EXPECT_THAT(ModifiedDefault("address_bits { value: 13", "address_bits { value: 12"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("12 bits do not address the 8192 vectors")));
}

TEST(ChipModelTest, RejectsQueueCountThatDoesNotAddUp) {
  EXPECT_THAT(ModifiedDefault("compute_queues { value: 144", "compute_queues { value: 145"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("145 differs from the floorplan's MEM, VXM, MXM and SXM queues (144)")));
}

TEST(ChipModelTest, RejectsMissingOrUnknownTiming) {
  EXPECT_THAT(ModifiedDefault("timing { opcode: \"Rsqrt\"", "timing { opcode: \"Rsqrtt\""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(Rsqrtt): no such opcode")));
  EXPECT_THAT(ModifiedDefault("timing { opcode: \"Notify\"         latency_cycles: 1",
                              "timing { opcode: \"Sync\"         latency_cycles: 1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(Sync): opcode listed twice")));
}

TEST(ChipModelTest, RejectsMisplacedSlicesAndAlus) {
  EXPECT_THAT(ModifiedDefault("large_alus: [0, 2, 5, 7, 8, 10, 13, 15]", "large_alus: [0, 16]"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ALU 16 is out of range")));
  EXPECT_THAT(ModifiedDefault("name: \"MEM_E\"", "name: \"MEM_W\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slice name MEM_W0 is used twice")));
}

TEST(ChipModelTest, ParseErrorsNameLineAndColumn) {
  ChipSpec spec;
  EXPECT_THAT(ParseTextProto("name: \"x\"\nclock_hz { valu: 3 }\n", "bad.textproto", &spec),
              StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr("bad.textproto:2:"), HasSubstr("no field named \"valu\""))));
  EXPECT_THAT(LoadChipModel("no/such/file.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no/such/file.textproto")));
}

}  // namespace
}  // namespace tsp::isa
