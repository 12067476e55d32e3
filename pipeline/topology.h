#ifndef TSP_PIPELINE_TOPOLOGY_H_
#define TSP_PIPELINE_TOPOLOGY_H_

// The chips of a system and the links between their C2C ports, generated from
// the SystemSpec (node-local full mesh; QuadFour line or Dragonfly between
// nodes) or listed explicitly (CUSTOM), with hop counts and routes.
//
// Port numbering (ASSUMED, the papers do not place links on ports): a chip's
// ports run across its C2C slices west to east. Local links use ports
// 0 .. chips_per_node - 2 (to the node's other chips in order), global links
// the ports of the next C2C slice from its port 0 on.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "isa/chip_model.h"
#include "pipeline/system_model.h"

namespace tsp::pipeline {

struct PortRef {
  int chip = -1;
  int port = -1;
};

struct Link {
  int id = 0;
  PortRef a;
  PortRef b;
  bool global = false;  // Between nodes.
};

// One hop of a route: out of `from` through `from_port`, over `link`, into
// `to` at `to_port`.
struct Hop {
  int from = 0;
  int from_port = 0;
  int to = 0;
  int to_port = 0;
  int link = 0;
};

class Topology {
 public:
  // Wires the system. Errors name the link, chip and port: a link to a missing
  // chip or port, a port wired twice, a chip linked to itself, a Dragonfly with
  // more nodes than a node has global links.
  static absl::StatusOr<Topology> Create(const SystemModel& system, const isa::ChipModel& chip);

  int chips() const { return chips_; }
  int chips_per_node() const { return chips_per_node_; }
  int ports_per_chip() const { return ports_per_chip_; }
  const std::vector<Link>& links() const { return links_; }
  // The link at a port, -1 if none.
  int LinkAt(int chip, int port) const { return port_link_[chip * ports_per_chip_ + port]; }
  PortRef Peer(int chip, int port) const;
  // The C2C slice (index among the chip's C2C slices, west to east) and the
  // port within it.
  int PortSlice(int port) const { return port / ports_per_slice_; }
  int PortInSlice(int port) const { return port % ports_per_slice_; }

  // Hops from `source` to every chip (-1: unreachable).
  std::vector<int> HopsFrom(int source) const;
  // The fixed route: a shortest path that, at each chip, leaves through the
  // lowest-numbered port that stays on a shortest path.
  absl::StatusOr<std::vector<Hop>> Route(int from, int to) const;
  // Up to `limit` minimal paths, in the same port order.
  std::vector<std::vector<Hop>> MinimalPaths(int from, int to, int limit) const;
  // Largest hop count between two chips of `group` (over the whole system).
  int Diameter(const std::vector<int>& group) const;

 private:
  int chips_ = 0;
  int chips_per_node_ = 0;
  int ports_per_chip_ = 0;
  int ports_per_slice_ = 0;
  std::vector<Link> links_;
  std::vector<int> port_link_;  // [chip * ports_per_chip + port] -> link or -1.
  // Routes found so far: a route is a breadth-first search over every chip,
  // and compilers ask for the same few pairs again and again. Shared by
  // copies (they are the same wiring); safe across threads.
  struct RouteCache {
    absl::Mutex mutex;
    std::map<std::pair<int, int>, std::vector<Hop>> routes ABSL_GUARDED_BY(mutex);
  };
  std::shared_ptr<RouteCache> route_cache_ = std::make_shared<RouteCache>();
};

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_TOPOLOGY_H_
