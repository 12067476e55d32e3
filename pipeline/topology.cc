#include "pipeline/topology.h"

#include <algorithm>
#include <deque>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"

namespace tsp::pipeline {
namespace {

class Wiring {
 public:
  Wiring(const std::string& system, int chips, int ports)
      : system_(system), chips_(chips), ports_(ports), port_link_(chips * ports, -1) {}

  absl::Status Connect(int64_t chip_a, int64_t port_a, int64_t chip_b, int64_t port_b,
                       bool global) {
    const int id = static_cast<int>(links_.size());
    const std::string where = absl::StrCat("system '", system_, "', link ", id, " (chip ", chip_a,
                                           " port ", port_a, " - chip ", chip_b, " port ", port_b,
                                           ")");
    for (auto [chip, port] : {std::pair{chip_a, port_a}, std::pair{chip_b, port_b}}) {
      if (chip < 0 || chip >= chips_) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": chip ", chip, " does not exist; the system has chips 0..", chips_ - 1));
      }
      if (port < 0 || port >= ports_) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": port ", port, " does not exist; a chip has ports 0..", ports_ - 1));
      }
      const int other = port_link_[chip * ports_ + port];
      if (other >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": chip ", chip, " port ", port,
                                                       " is already wired by link ", other));
      }
    }
    if (chip_a == chip_b) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": links a chip to itself"));
    }
    Link link;
    link.id = id;
    link.a = {static_cast<int>(chip_a), static_cast<int>(port_a)};
    link.b = {static_cast<int>(chip_b), static_cast<int>(port_b)};
    link.global = global;
    port_link_[chip_a * ports_ + port_a] = id;
    port_link_[chip_b * ports_ + port_b] = id;
    links_.push_back(link);
    return absl::OkStatus();
  }

  std::vector<Link> TakeLinks() { return std::move(links_); }
  std::vector<int> TakePortLinks() { return std::move(port_link_); }

 private:
  std::string system_;
  int chips_;
  int ports_;
  std::vector<int> port_link_;
  std::vector<Link> links_;
};

}  // namespace

absl::StatusOr<Topology> Topology::Create(const SystemModel& system, const isa::ChipModel& chip) {
  const SystemSpec& spec = system.spec();
  Topology topology;
  topology.chips_ = static_cast<int>(system.chips());
  topology.chips_per_node_ = static_cast<int>(spec.chips_per_node().value());
  topology.ports_per_chip_ = static_cast<int>(chip.spec().c2c().links_on_die().value());
  topology.ports_per_slice_ = chip.c2c_ports_per_slice();
  if (topology.ports_per_slice_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("chip '", chip.name(), "' has no C2C slice to wire"));
  }
  Wiring wiring(spec.name(), topology.chips_, topology.ports_per_chip_);
  const int per_node = topology.chips_per_node_;
  const int nodes = static_cast<int>(spec.nodes().value());
  const int global_links = static_cast<int>(spec.global_links_per_chip().value());
  // Global ports start at the first C2C slice after those the local ports fill.
  const int local_ports = per_node - 1;
  const int global_base =
      ((local_ports + topology.ports_per_slice_ - 1) / topology.ports_per_slice_) *
      topology.ports_per_slice_;
  if (spec.topology() != CUSTOM && global_base + global_links > topology.ports_per_chip_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "system '", spec.name(), "': ", local_ports, " local and ", global_links,
        " global links do not fit the chip's ", topology.ports_per_chip_, " ports"));
  }
  auto chip_id = [per_node](int node, int index) { return node * per_node + index; };

  if (spec.topology() == CUSTOM) {
    for (const LinkSpec& link : spec.links()) {
      const bool global = link.chip_a() / per_node != link.chip_b() / per_node;
      RETURN_IF_ERROR(wiring.Connect(link.chip_a(), link.port_a(), link.chip_b(), link.port_b(), global));
    }
  } else {
    // Node-local full mesh.
    for (int node = 0; node < nodes; ++node) {
      for (int i = 0; i < per_node; ++i) {
        for (int j = i + 1; j < per_node; ++j) {
          RETURN_IF_ERROR(wiring.Connect(chip_id(node, i), j - 1, chip_id(node, j), i, false));
        }
      }
    }
    const int endpoints = per_node * global_links;
    // Dragonfly: a node's endpoints in an order that moves to the next chip
    // first, so that consecutive pairs of nodes meet on different chips.
    auto endpoint_port = [&](int node, int e) {
      return std::pair{chip_id(node, e % per_node), global_base + e / per_node};
    };
    if (spec.topology() == QUAD_FOUR) {
      // A node's global endpoint e = chip x global_links + link takes the
      // e-th direction of the sequence +S, -S, +(S-1), -(S-1), ..., +1, -1,
      // repeated: the k-th repetition is the node's k-th link each way. So a
      // chip that links d nodes east also links d nodes west, and the far end
      // of the k-th +d link (the k-th -d endpoint of node n + d) is the same
      // chip index: chains of +d links need no local hop ("express lanes";
      // ASSUMED: SHIP gives the wiring between nodes, not between chips).
      const int per_side = static_cast<int>(spec.neighbour_nodes_per_side().value());
      const int directions = 2 * per_side;
      for (int node = 0; node < nodes; ++node) {
        for (int e = 0; e < endpoints; ++e) {
          const int k = e / directions;
          const int within = e % directions;
          if (within % 2 != 0) continue;  // West-going ends are wired from their far side.
          const int offset = per_side - within / 2;
          const int far_node = node + offset;
          if (far_node >= nodes) continue;
          const int far_e = k * directions + within + 1;
          RETURN_IF_ERROR(wiring.Connect(chip_id(node, e / global_links), global_base + e % global_links,
                                         chip_id(far_node, far_e / global_links),
                                         global_base + far_e % global_links, true));
        }
      }
    } else if (spec.topology() == DRAGONFLY && nodes > 1) {
      if (nodes - 1 > endpoints) {
        return absl::InvalidArgumentError(absl::StrCat(
            "system '", spec.name(), "': a Dragonfly of ", nodes, " nodes needs ", nodes - 1,
            " global links per node to reach every other node; a node has ", endpoints));
      }
      const int per_pair = endpoints / (nodes - 1);
      std::vector<int> next_endpoint(nodes, 0);
      for (int k = 0; k < per_pair; ++k) {
        for (int a = 0; a < nodes; ++a) {
          for (int b = a + 1; b < nodes; ++b) {
            auto [chip_a, port_a] = endpoint_port(a, next_endpoint[a]++);
            auto [chip_b, port_b] = endpoint_port(b, next_endpoint[b]++);
            RETURN_IF_ERROR(wiring.Connect(chip_a, port_a, chip_b, port_b, true));
          }
        }
      }
    }
  }
  topology.links_ = wiring.TakeLinks();
  topology.port_link_ = wiring.TakePortLinks();
  return topology;
}

PortRef Topology::Peer(int chip, int port) const {
  const int link = LinkAt(chip, port);
  if (link < 0) return {};
  const Link& l = links_[link];
  return l.a.chip == chip && l.a.port == port ? l.b : l.a;
}

std::vector<int> Topology::HopsFrom(int source) const {
  std::vector<int> hops(chips_, -1);
  std::deque<int> frontier{source};
  hops[source] = 0;
  while (!frontier.empty()) {
    const int chip = frontier.front();
    frontier.pop_front();
    for (int port = 0; port < ports_per_chip_; ++port) {
      const PortRef peer = Peer(chip, port);
      if (peer.chip >= 0 && hops[peer.chip] < 0) {
        hops[peer.chip] = hops[chip] + 1;
        frontier.push_back(peer.chip);
      }
    }
  }
  return hops;
}

std::vector<std::vector<Hop>> Topology::MinimalPaths(int from, int to, int limit) const {
  std::vector<std::vector<Hop>> paths;
  const std::vector<int> to_destination = HopsFrom(to);  // Links are symmetric.
  if (to_destination[from] < 0 || limit <= 0) return paths;
  std::vector<Hop> path;
  std::function<void(int)> extend = [&](int chip) {
    if (static_cast<int>(paths.size()) >= limit) return;
    if (chip == to) {
      paths.push_back(path);
      return;
    }
    for (int port = 0; port < ports_per_chip_; ++port) {
      const PortRef peer = Peer(chip, port);
      if (peer.chip < 0 || to_destination[peer.chip] != to_destination[chip] - 1) continue;
      path.push_back({chip, port, peer.chip, peer.port, LinkAt(chip, port)});
      extend(peer.chip);
      path.pop_back();
    }
  };
  extend(from);
  return paths;
}

absl::StatusOr<std::vector<Hop>> Topology::Route(int from, int to) const {
  if (from < 0 || from >= chips_ || to < 0 || to >= chips_) {
    return absl::InvalidArgumentError(absl::StrCat("no route from chip ", from, " to chip ", to,
                                                   ": the system has chips 0..", chips_ - 1));
  }
  {
    absl::MutexLock lock(&route_cache_->mutex);
    auto it = route_cache_->routes.find({from, to});
    if (it != route_cache_->routes.end()) return it->second;
  }
  std::vector<std::vector<Hop>> paths = MinimalPaths(from, to, 1);
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("chip ", to, " cannot be reached from chip ", from));
  }
  absl::MutexLock lock(&route_cache_->mutex);
  route_cache_->routes.emplace(std::make_pair(from, to), paths.front());
  return paths.front();
}

int Topology::Diameter(const std::vector<int>& group) const {
  int diameter = 0;
  for (int source : group) {
    const std::vector<int> hops = HopsFrom(source);
    for (int target : group) diameter = std::max(diameter, hops[target]);
  }
  return diameter;
}

}  // namespace tsp::pipeline
