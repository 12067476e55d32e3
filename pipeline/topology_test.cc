#include "pipeline/topology.h"

#include <numeric>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/spec_loader.h"
#include "isa/status_matchers.h"

namespace tsp::pipeline {
namespace {

using ::testing::HasSubstr;
using ::tsp::testing::StatusIs;

// The default 576-chip system with `edit` applied to its SystemSpec.
absl::StatusOr<Topology> Build(const std::function<void(SystemSpec&)>& edit = nullptr) {
  static const isa::ChipModel* chip = new isa::ChipModel(*isa::DefaultChipModel());
  SystemSpec spec;
  absl::Status loaded = isa::LoadTextProtoFile("pipeline/specs/groq_576.textproto", &spec);
  if (!loaded.ok()) return loaded;
  if (edit) edit(spec);
  absl::StatusOr<SystemModel> system = SystemModel::Create(spec, *chip);
  if (!system.ok()) return system.status();
  return Topology::Create(*system, *chip);
}

std::vector<int> Range(int first, int count) {
  std::vector<int> chips(count);
  std::iota(chips.begin(), chips.end(), first);
  return chips;
}

TEST(TopologyTest, QuadFourWiresEveryPortOfInteriorNodes) {
  TSP_ASSERT_OK_AND_ASSIGN(Topology topology, Build());
  EXPECT_EQ(topology.chips(), 576);
  // 72 nodes x 28 local links, plus 4 links to each of the 4 nearest nodes per
  // side: node pairs at distance d = 1..4 number 72 - d, so 4 x (71+70+69+68).
  EXPECT_EQ(topology.links().size(), 72u * 28 + 4u * (71 + 70 + 69 + 68));
  // A chip of an interior node uses 7 local and 4 global ports, each to a
  // different neighbouring node.
  const int chip = 30 * 8 + 5;
  std::set<int> far_nodes;
  for (int port = 0; port < 16; ++port) {
    const PortRef peer = topology.Peer(chip, port);
    if (port < 7) {
      EXPECT_EQ(peer.chip / 8, 30) << port;
    } else if (port >= 8 && port < 12) {
      ASSERT_GE(peer.chip, 0) << port;
      far_nodes.insert(peer.chip / 8);
      EXPECT_EQ(topology.Peer(peer.chip, peer.port).chip, chip);
    } else {
      EXPECT_EQ(peer.chip, -1) << port;
    }
  }
  // Chip 5 (odd) links 2 and 1 nodes each way; even chips link 4 and 3.
  EXPECT_EQ(far_nodes, (std::set<int>{28, 29, 31, 32}));
  // Express lanes: chip 0's +4 link lands on chip 0 of the node 4 east.
  EXPECT_EQ(topology.Peer(30 * 8, 8).chip, 34 * 8);
}

TEST(TopologyTest, HopCountsAndDiameters) {
  TSP_ASSERT_OK_AND_ASSIGN(Topology topology, Build());
  const std::vector<int> hops = topology.HopsFrom(0);
  EXPECT_EQ(hops[0], 0);
  EXPECT_EQ(hops[7], 1);  // Same node.
  // A node 8 away is two node-hops of 4, with local hops to reach the right chips.
  EXPECT_LE(hops[8 * 8], 4);
  // SHIP 4.1 reports a 3-hop diameter for 72 chips (9 nodes) and 5 hops for
  // 136 chips (17 nodes). For 9 consecutive nodes (8 node-steps: two global
  // hops of 4) 3 hops would need every chip to own a +4 and a -4 link, but
  // only 4 of a node's 32 links go each way; with express lanes this wiring
  // needs one local hop at each end: 4 and 6 hops.
  EXPECT_EQ(topology.Diameter(Range(0, 8)), 1);
  EXPECT_EQ(topology.Diameter(Range(32 * 8, 72)), 4);
  EXPECT_EQ(topology.Diameter(Range(32 * 8, 136)), 6);
}

TEST(TopologyTest, RoutesAreShortestAndFixed) {
  TSP_ASSERT_OK_AND_ASSIGN(Topology topology, Build());
  for (auto [from, to] : {std::pair{0, 1}, std::pair{3, 575}, std::pair{100, 300}}) {
    TSP_ASSERT_OK_AND_ASSIGN(std::vector<Hop> route, topology.Route(from, to));
    ASSERT_EQ(static_cast<int>(route.size()), topology.HopsFrom(from)[to]);
    int at = from;
    for (const Hop& hop : route) {
      EXPECT_EQ(hop.from, at);
      EXPECT_EQ(topology.Peer(hop.from, hop.from_port).chip, hop.to);
      EXPECT_EQ(topology.LinkAt(hop.from, hop.from_port), hop.link);
      at = hop.to;
    }
    EXPECT_EQ(at, to);
    // The route is the first of the minimal paths, which all have its length.
    std::vector<std::vector<Hop>> paths = topology.MinimalPaths(from, to, 50);
    ASSERT_FALSE(paths.empty());
    EXPECT_EQ(paths[0].size(), route.size());
    for (const auto& path : paths) EXPECT_EQ(path.size(), route.size());
    EXPECT_EQ(paths[0][0].from_port, route[0].from_port);
  }
  // Two chips of one node: one path; chips of different nodes: several.
  EXPECT_EQ(topology.MinimalPaths(0, 1, 50).size(), 1u);
  EXPECT_GT(topology.MinimalPaths(0, 100, 50).size(), 1u);
}

TEST(TopologyTest, DragonflyJoinsEveryPairOfNodes) {
  TSP_ASSERT_OK_AND_ASSIGN(Topology topology, Build([](SystemSpec& spec) {
                             spec.set_topology(DRAGONFLY);
                             spec.mutable_nodes()->set_value(8);
                           }));
  EXPECT_EQ(topology.chips(), 64);
  // 32 global endpoints per node over 7 other nodes: 4 links per pair.
  EXPECT_EQ(topology.links().size(), 8u * 28 + 28u * 4);
  EXPECT_EQ(topology.Diameter(Range(0, 64)), 3);
  EXPECT_THAT(Build([](SystemSpec& spec) {
                spec.set_topology(DRAGONFLY);
                spec.mutable_nodes()->set_value(40);
              }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a Dragonfly of 40 nodes needs 39 global links per node to "
                                 "reach every other node; a node has 32")));
}

TEST(TopologyTest, RejectsCustomLinksThatCannotBeWired) {
  auto custom = [](std::vector<std::array<int64_t, 4>> links) {
    return [links](SystemSpec& spec) {
      spec.set_topology(CUSTOM);
      spec.mutable_nodes()->set_value(1);
      for (const auto& l : links) {
        LinkSpec* link = spec.add_links();
        link->set_chip_a(l[0]);
        link->set_port_a(l[1]);
        link->set_chip_b(l[2]);
        link->set_port_b(l[3]);
      }
    };
  };
  TSP_ASSERT_OK_AND_ASSIGN(Topology pair, Build(custom({{0, 0, 1, 0}})));
  EXPECT_EQ(pair.Peer(1, 0).chip, 0);
  EXPECT_EQ(pair.HopsFrom(0)[2], -1);
  EXPECT_THAT(pair.Route(0, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("chip 2 cannot be reached")));
  EXPECT_THAT(Build(custom({{0, 0, 9, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("link 0 (chip 0 port 0 - chip 9 port 0): chip 9 does not exist; "
                                 "the system has chips 0..7")));
  EXPECT_THAT(Build(custom({{0, 0, 1, 16}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("port 16 does not exist")));
  EXPECT_THAT(Build(custom({{0, 0, 1, 0}, {0, 0, 2, 0}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("link 1 (chip 0 port 0 - chip 2 port 0): chip 0 port 0 is "
                                 "already wired by link 0")));
  EXPECT_THAT(Build(custom({{3, 0, 3, 1}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("links a chip to itself")));
  EXPECT_THAT(Build([](SystemSpec& spec) { spec.add_links(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("need topology CUSTOM")));
}

}  // namespace
}  // namespace tsp::pipeline
