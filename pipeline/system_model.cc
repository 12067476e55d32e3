#include "pipeline/system_model.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "isa/builtin_texts.h"
#include "isa/spec_loader.h"
#include "isa/status_macros.h"

// From the genrule over pipeline/specs/*.textproto.
extern const char* const kTspBuiltinSystems[][2];

namespace tsp::pipeline {
namespace {

const isa::BuiltinTexts& BuiltinSystems() {
  static const isa::BuiltinTexts systems(kTspBuiltinSystems);
  return systems;
}

absl::Status Error(const SystemSpec& spec, absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("system spec '", spec.name(), "': ", field, ": ", problem));
}

absl::Status CheckFigure(const SystemSpec& spec, absl::string_view field, bool present,
                         const isa::Figure& figure, int64_t minimum = 1) {
  if (!present) return Error(spec, field, "missing; every system figure needs its source");
  if (figure.value() < minimum) {
    return Error(spec, field, absl::StrCat("value ", figure.value(), " is below ", minimum));
  }
  if (!isa::IsValidSource(figure.source())) {
    return Error(spec, field, absl::StrCat("source '", figure.source(), "' is not valid"));
  }
  return absl::OkStatus();
}

absl::Status CheckReal(const SystemSpec& spec, absl::string_view field, bool present,
                       const RealFigure& figure) {
  if (!present) return Error(spec, field, "missing; every system figure needs its source");
  if (!(figure.value() > 0)) return Error(spec, field, "must be positive");
  if (!isa::IsValidSource(figure.source())) {
    return Error(spec, field, absl::StrCat("source '", figure.source(), "' is not valid"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SystemModel> SystemModel::Create(const SystemSpec& spec,
                                                const isa::ChipModel& chip) {
  if (spec.name().empty()) return Error(spec, "name", "missing");
  if (spec.chip() != chip.name()) {
    return Error(spec, "chip", absl::StrCat("names chip '", spec.chip(), "', but the chip spec is '",
                                            chip.name(), "'"));
  }
  RETURN_IF_ERROR(CheckFigure(spec, "chips_per_node", spec.has_chips_per_node(), spec.chips_per_node()));
  RETURN_IF_ERROR(CheckFigure(spec, "nodes_per_rack", spec.has_nodes_per_rack(), spec.nodes_per_rack()));
  RETURN_IF_ERROR(CheckFigure(spec, "nodes", spec.has_nodes(), spec.nodes()));
  RETURN_IF_ERROR(CheckFigure(spec, "local_links_per_chip", spec.has_local_links_per_chip(),
                              spec.local_links_per_chip(), 0));
  RETURN_IF_ERROR(CheckFigure(spec, "global_links_per_chip", spec.has_global_links_per_chip(),
                              spec.global_links_per_chip(), 0));
  RETURN_IF_ERROR(CheckFigure(spec, "link_latency_cycles", spec.has_link_latency_cycles(),
                              spec.link_latency_cycles()));
  RETURN_IF_ERROR(CheckFigure(spec, "link_lanes", spec.has_link_lanes(), spec.link_lanes()));
  RETURN_IF_ERROR(CheckFigure(spec, "lane_bits_per_second", spec.has_lane_bits_per_second(),
                              spec.lane_bits_per_second()));
  RETURN_IF_ERROR(CheckFigure(spec, "link_wire_bytes_per_vector",
                              spec.has_link_wire_bytes_per_vector(),
                              spec.link_wire_bytes_per_vector(), chip.lanes()));
  RETURN_IF_ERROR(CheckFigure(spec, "host_bytes_per_second", spec.has_host_bytes_per_second(),
                              spec.host_bytes_per_second()));
  RETURN_IF_ERROR(CheckFigure(spec, "host_latency_ns", spec.has_host_latency_ns(),
                              spec.host_latency_ns(), 0));
  RETURN_IF_ERROR(CheckFigure(spec, "watts_per_chip", spec.has_watts_per_chip(), spec.watts_per_chip()));
  RETURN_IF_ERROR(CheckReal(spec, "dollars_per_chip", spec.has_dollars_per_chip(), spec.dollars_per_chip()));
  RETURN_IF_ERROR(CheckReal(spec, "amortization_years", spec.has_amortization_years(),
                            spec.amortization_years()));
  RETURN_IF_ERROR(CheckReal(spec, "dollars_per_kilowatt_hour", spec.has_dollars_per_kilowatt_hour(),
                            spec.dollars_per_kilowatt_hour()));
  // The largest published system has 10,440 chips (ISCA22); far beyond that
  // is a mistake, and would only exhaust the host.
  constexpr int64_t kMaxChips = 100'000;
  if (spec.chips_per_node().value() > 64 || spec.nodes().value() > kMaxChips ||
      spec.nodes().value() * spec.chips_per_node().value() > kMaxChips) {
    return Error(spec, "nodes",
                 absl::StrCat(spec.nodes().value(), " nodes of ", spec.chips_per_node().value(),
                              " chips exceed the ", kMaxChips, " chips (and 64 per node) planned for"));
  }
  if (spec.local_links_per_chip().value() != spec.chips_per_node().value() - 1) {
    return Error(spec, "local_links_per_chip",
                 absl::StrCat(spec.local_links_per_chip().value(),
                              " links cannot connect a chip to the other ",
                              spec.chips_per_node().value() - 1, " chips of its node"));
  }
  const int64_t links = spec.local_links_per_chip().value() + spec.global_links_per_chip().value();
  if (links > chip.spec().c2c().links_on_die().value()) {
    return Error(spec, "global_links_per_chip",
                 absl::StrCat(links, " links per chip exceed the chip's ",
                              chip.spec().c2c().links_on_die().value(), " C2C links"));
  }
  switch (spec.topology()) {
    case QUAD_FOUR: {
      RETURN_IF_ERROR(CheckFigure(spec, "neighbour_nodes_per_side",
                                  spec.has_neighbour_nodes_per_side(),
                                  spec.neighbour_nodes_per_side()));
      const int64_t node_links = spec.global_links_per_chip().value() * spec.chips_per_node().value();
      const int64_t neighbours = 2 * spec.neighbour_nodes_per_side().value();
      if (node_links % neighbours != 0) {
        return Error(spec, "neighbour_nodes_per_side",
                     absl::StrCat("a node's ", node_links, " global links do not split evenly over ",
                                  neighbours, " neighbour nodes"));
      }
      break;
    }
    case DRAGONFLY:
    case CUSTOM:
      break;
    case TOPOLOGY_UNSPECIFIED:
    case TopologyKind_INT_MIN_SENTINEL_DO_NOT_USE_:
    case TopologyKind_INT_MAX_SENTINEL_DO_NOT_USE_:
      return Error(spec, "topology", "missing (QUAD_FOUR or DRAGONFLY)");
  }
  if (spec.topology() != CUSTOM && spec.links_size() > 0) {
    return Error(spec, "links", "explicit links need topology CUSTOM; the others generate theirs");
  }
  SystemModel model;
  model.spec_ = spec;
  // Exact integer ceiling: bits x clock / bits-per-second.
  const __int128 numerator = static_cast<__int128>(spec.link_wire_bytes_per_vector().value()) * 8 *
                             chip.clock_hz();
  const __int128 denominator =
      static_cast<__int128>(spec.link_lanes().value()) * spec.lane_bits_per_second().value();
  model.link_serialization_cycles_ = static_cast<int64_t>((numerator + denominator - 1) / denominator);
  return model;
}

int64_t SystemModel::racks() const {
  const int64_t per_rack = spec_.nodes_per_rack().value();
  return (spec_.nodes().value() + per_rack - 1) / per_rack;
}

std::vector<std::string> BuiltinSystemNames() { return BuiltinSystems().names(); }

absl::Status LoadSystemSpec(absl::string_view name_or_path, SystemSpec* spec) {
  if (const char* text = BuiltinSystems().Find(name_or_path); text != nullptr) {
    return isa::ParseTextProto(text, absl::StrCat("pipeline/specs/", name_or_path, ".textproto"), spec);
  }
  if (isa::IsPath(name_or_path)) return isa::LoadTextProtoFile(name_or_path, spec);
  return absl::NotFoundError(absl::StrCat("no system '", name_or_path, "'",
                                          isa::DidYouMean(name_or_path, BuiltinSystemNames()),
                                          "; built-in systems: ", absl::StrJoin(BuiltinSystemNames(), ", "),
                                          " (or give a path to a SystemSpec textproto)"));
}

absl::StatusOr<SystemModel> LoadSystemModel(absl::string_view name_or_path, const isa::ChipModel& chip) {
  SystemSpec spec;
  RETURN_IF_ERROR(LoadSystemSpec(name_or_path, &spec));
  absl::StatusOr<SystemModel> model = SystemModel::Create(spec, chip);
  if (!model.ok()) {
    return absl::Status(model.status().code(), absl::StrCat(name_or_path, ": ", model.status().message()));
  }
  return model;
}

}  // namespace tsp::pipeline
