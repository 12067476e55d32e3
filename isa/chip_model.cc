#include "isa/chip_model.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "isa/status_macros.h"

namespace tsp::isa {
namespace {

constexpr absl::string_view kSourceKeys[] = {"ISCA20", "ISCA22", "HC34", "SHIP",    "GAPI",
                                             "GFLOW",  "ALCF",   "LLMPERF", "AA"};

class SpecChecker {
 public:
  explicit SpecChecker(const ChipSpec& spec) : spec_(spec) {}

  absl::Status Error(absl::string_view field, absl::string_view problem) const {
    return absl::InvalidArgumentError(
        absl::StrCat("chip spec '", spec_.name(), "': ", field, ": ", problem));
  }

  // A figure must be present, at least `minimum`, and sourced.
  absl::Status CheckFigure(absl::string_view field, bool present, const Figure& figure,
                           int64_t minimum = 1) const {
    if (!present) return Error(field, "missing; every chip figure must be given with its source");
    if (figure.value() < minimum) {
      return Error(field, absl::StrCat("value ", figure.value(), " is below the minimum ", minimum));
    }
    if (!IsValidSource(figure.source())) {
      return Error(field, absl::StrCat("source '", figure.source(),
                                       "' is not a key of docs/tsp-facts.md (",
                                       absl::StrJoin(kSourceKeys, ", "),
                                       "), 'S: ...', 'DERIVED: ...' or 'ASSUMED: <reason>'"));
    }
    return absl::OkStatus();
  }

 private:
  const ChipSpec& spec_;
};

}  // namespace

bool IsValidSource(absl::string_view source) {
  for (absl::string_view key : kSourceKeys) {
    if (absl::StartsWith(source, key)) return true;
  }
  for (absl::string_view prefix : {"S:", "DERIVED:", "ASSUMED:"}) {
    // A reason must follow the prefix.
    if (absl::StartsWith(source, prefix) && source.size() > prefix.size() + 3) return true;
  }
  return false;
}

absl::string_view SliceKindName(SliceKind kind) {
  switch (kind) {
    case SLICE_KIND_UNSPECIFIED:
      return "unspecified";
    case SLICE_MEM:
      return "MEM";
    case SLICE_VXM:
      return "VXM";
    case SLICE_MXM:
      return "MXM";
    case SLICE_SXM:
      return "SXM";
    case SLICE_C2C:
      return "C2C";
    case SLICE_ICU:
      return "ICU";
    case SliceKind_INT_MIN_SENTINEL_DO_NOT_USE_:
    case SliceKind_INT_MAX_SENTINEL_DO_NOT_USE_:
      break;
  }
  return "?";
}

absl::StatusOr<ChipModel> ChipModel::Create(const ChipSpec& spec) {
  SpecChecker check(spec);
  if (spec.name().empty()) return check.Error("name", "missing");
  RETURN_IF_ERROR(check.CheckFigure("clock_hz", spec.has_clock_hz(), spec.clock_hz()));
  RETURN_IF_ERROR(check.CheckFigure("superlanes", spec.has_superlanes(), spec.superlanes()));
  RETURN_IF_ERROR(check.CheckFigure("lanes_per_superlane", spec.has_lanes_per_superlane(),
                                    spec.lanes_per_superlane()));
  RETURN_IF_ERROR(check.CheckFigure("superlane_skew_cycles", spec.has_superlane_skew_cycles(),
                                    spec.superlane_skew_cycles(), 0));
  RETURN_IF_ERROR(check.CheckFigure("streams_per_direction", spec.has_streams_per_direction(),
                                    spec.streams_per_direction()));
  RETURN_IF_ERROR(check.CheckFigure("mem.slice_bytes", spec.mem().has_slice_bytes(),
                                    spec.mem().slice_bytes()));
  RETURN_IF_ERROR(check.CheckFigure("mem.banks_per_slice", spec.mem().has_banks_per_slice(),
                                    spec.mem().banks_per_slice()));
  RETURN_IF_ERROR(
      check.CheckFigure("mem.word_bytes", spec.mem().has_word_bytes(), spec.mem().word_bytes()));
  RETURN_IF_ERROR(check.CheckFigure("mem.address_bits", spec.mem().has_address_bits(),
                                    spec.mem().address_bits()));
  RETURN_IF_ERROR(
      check.CheckFigure("mxm.plane_rows", spec.mxm().has_plane_rows(), spec.mxm().plane_rows()));
  RETURN_IF_ERROR(check.CheckFigure("mxm.plane_columns", spec.mxm().has_plane_columns(),
                                    spec.mxm().plane_columns()));
  RETURN_IF_ERROR(check.CheckFigure("mxm.fp16_planes_per_op", spec.mxm().has_fp16_planes_per_op(),
                                    spec.mxm().fp16_planes_per_op()));
  RETURN_IF_ERROR(check.CheckFigure("mxm.max_weight_rows_per_load",
                                    spec.mxm().has_max_weight_rows_per_load(),
                                    spec.mxm().max_weight_rows_per_load()));
  RETURN_IF_ERROR(check.CheckFigure("mxm.accumulator_vectors", spec.mxm().has_accumulator_vectors(),
                                    spec.mxm().accumulator_vectors()));
  RETURN_IF_ERROR(check.CheckFigure("vxm.alus_per_lane", spec.vxm().has_alus_per_lane(),
                                    spec.vxm().alus_per_lane()));
  RETURN_IF_ERROR(check.CheckFigure("c2c.links_on_die", spec.c2c().has_links_on_die(),
                                    spec.c2c().links_on_die(), 0));
  RETURN_IF_ERROR(check.CheckFigure("c2c.receive_buffer_vectors", spec.c2c().has_receive_buffer_vectors(),
                                    spec.c2c().receive_buffer_vectors()));
  RETURN_IF_ERROR(
      check.CheckFigure("compute_queues", spec.has_compute_queues(), spec.compute_queues()));

  ChipModel model;
  model.spec_ = spec;
  const int64_t lanes = spec.superlanes().value() * spec.lanes_per_superlane().value();
  if (lanes > 4096) return check.Error("superlanes", absl::StrCat(lanes, " lanes is beyond 4096"));
  if (spec.mxm().accumulator_vectors().value() > 4096) {
    return check.Error("mxm.accumulator_vectors",
                       absl::StrCat(spec.mxm().accumulator_vectors().value(), " is beyond 4096 vectors a plane"));
  }
  if (spec.streams_per_direction().value() > 256) {
    return check.Error("streams_per_direction", "more than 256 streams per direction");
  }

  // MEM geometry: a word carries one byte per lane of its tile, and an
  // address selects one word in every tile (one 320-byte vector).
  const MemGeometry& mem = spec.mem();
  if (mem.word_bytes().value() != spec.lanes_per_superlane().value()) {
    return check.Error("mem.word_bytes",
                       absl::StrCat(mem.word_bytes().value(),
                                    " differs from lanes_per_superlane ",
                                    spec.lanes_per_superlane().value(),
                                    "; a word must carry one byte per lane of its tile"));
  }
  const int64_t vector_bytes = mem.word_bytes().value() * spec.superlanes().value();
  if (mem.slice_bytes().value() % vector_bytes != 0) {
    return check.Error("mem.slice_bytes",
                       absl::StrCat(mem.slice_bytes().value(), " is not a whole number of ",
                                    vector_bytes, "-byte vectors (word_bytes x superlanes)"));
  }
  model.mem_addresses_ = mem.slice_bytes().value() / vector_bytes;
  // 2^20 addresses (336 MiB a slice at 320 lanes) bounds what a hostile spec
  // can make the emulator allocate.
  if (mem.address_bits().value() > 20 ||
      model.mem_addresses_ != (int64_t{1} << mem.address_bits().value())) {
    return check.Error(
        "mem.address_bits",
        absl::StrCat(mem.address_bits().value(), " bits do not address the ",
                     model.mem_addresses_, " vectors of a slice (slice_bytes / ", vector_bytes,
                     ")"));
  }
  if (model.mem_addresses_ % mem.banks_per_slice().value() != 0) {
    return check.Error("mem.banks_per_slice",
                       absl::StrCat(model.mem_addresses_, " addresses do not split evenly into ",
                                    mem.banks_per_slice().value(), " banks"));
  }

  // MXM: a plane maps one full vector to one full vector.
  if (spec.mxm().plane_columns().value() != lanes || spec.mxm().plane_rows().value() != lanes) {
    return check.Error("mxm", absl::StrCat("planes of ", spec.mxm().plane_rows().value(), " x ",
                                           spec.mxm().plane_columns().value(),
                                           " do not match the ", lanes, " lanes"));
  }
  if (spec.mxm().max_weight_rows_per_load().value() > spec.streams_per_direction().value()) {
    return check.Error("mxm.max_weight_rows_per_load",
                       "exceeds the streams of one direction, which carry the rows");
  }
  if (spec.mxm().fp16_planes_per_op().value() != 2) {
    return check.Error("mxm.fp16_planes_per_op",
                       "only 2 (an fp16 operation on a pair of planes) is modelled");
  }

  std::set<int32_t> large_alus;
  for (int32_t alu : spec.vxm().large_alus()) {
    if (alu < 0 || alu >= spec.vxm().alus_per_lane().value() || !large_alus.insert(alu).second) {
      return check.Error("vxm.large_alus",
                         absl::StrCat("ALU ", alu, " is out of range or listed twice"));
    }
  }
  if (!spec.vxm().large_alus().empty() && !IsValidSource(spec.vxm().large_alus_source())) {
    return check.Error("vxm.large_alus_source", "missing or not a valid source");
  }

  // Floorplan.
  if (spec.floorplan().empty()) return check.Error("floorplan", "empty");
  int64_t compute_queues = 0;
  std::map<SliceKind, int> kind_counts;
  for (int run_index = 0; run_index < spec.floorplan_size(); ++run_index) {
    const SliceRun& run = spec.floorplan(run_index);
    const std::string field = absl::StrCat("floorplan[", run_index, "] (", run.name(), ")");
    if (run.kind() == SLICE_KIND_UNSPECIFIED || run.kind() == SLICE_ICU) {
      return check.Error(field, "kind must be one of SLICE_MEM, SLICE_VXM, SLICE_MXM, "
                                "SLICE_SXM, SLICE_C2C");
    }
    if (run.name().empty()) return check.Error(field, "name missing");
    RETURN_IF_ERROR(check.CheckFigure(field + ".count", run.has_count(), run.count()));
    RETURN_IF_ERROR(check.CheckFigure(field + ".queues_per_slice", run.has_queues_per_slice(),
                                      run.queues_per_slice()));
    if (run.count().value() > 1024 || run.queues_per_slice().value() > 64) {
      return check.Error(field, "count above 1024 or queues_per_slice above 64");
    }
    if (run.kind() == SLICE_VXM &&
        run.queues_per_slice().value() != spec.vxm().alus_per_lane().value()) {
      return check.Error(field + ".queues_per_slice",
                         absl::StrCat(run.queues_per_slice().value(),
                                      " differs from vxm.alus_per_lane ",
                                      spec.vxm().alus_per_lane().value(),
                                      "; each VXM queue drives one ALU"));
    }
    const int count = static_cast<int>(run.count().value());
    const int queues = static_cast<int>(run.queues_per_slice().value());
    for (int i = 0; i < count; ++i) {
      SliceInfo slice;
      const int number = run.number_from_east() ? count - 1 - i : i;
      slice.name = count == 1 ? run.name() : absl::StrCat(run.name(), number);
      slice.kind = run.kind();
      slice.position = static_cast<int>(model.slices_.size());
      slice.kind_index = kind_counts[run.kind()]++;
      slice.first_queue = static_cast<int>(model.queues_.size());
      slice.queue_count = queues;
      if (!model.slice_by_name_.emplace(slice.name, slice.position).second) {
        return check.Error(field, absl::StrCat("slice name ", slice.name, " is used twice"));
      }
      for (int q = 0; q < queues; ++q) {
        QueueInfo queue;
        queue.name = queues == 1 ? slice.name : absl::StrCat(slice.name, ".", q);
        queue.slice = slice.position;
        queue.index_in_slice = q;
        model.queue_by_name_.emplace(queue.name, static_cast<int>(model.queues_.size()));
        model.queues_.push_back(std::move(queue));
      }
      model.slices_.push_back(std::move(slice));
      if (run.kind() != SLICE_C2C) compute_queues += queues;
    }
  }
  if (kind_counts[SLICE_MEM] == 0) return check.Error("floorplan", "has no MEM slice");
  if (kind_counts[SLICE_VXM] == 0) {
    return check.Error("floorplan", "has no VXM slice; every vector operation runs there");
  }
  if (compute_queues != spec.compute_queues().value()) {
    return check.Error("compute_queues",
                       absl::StrCat(spec.compute_queues().value(),
                                    " differs from the floorplan's MEM, VXM, MXM and SXM queues (",
                                    compute_queues, ")"));
  }
  if (kind_counts[SLICE_MXM] % 2 != 0) {
    return check.Error("floorplan", "MXM planes must come in pairs (fp16 uses two planes)");
  }
  const int c2c_slices = kind_counts[SLICE_C2C];
  if (c2c_slices > 0) {
    if (spec.c2c().links_on_die().value() % c2c_slices != 0) {
      return check.Error("c2c.links_on_die",
                         absl::StrCat(spec.c2c().links_on_die().value(),
                                      " links do not split evenly over ", c2c_slices,
                                      " C2C slices"));
    }
    model.c2c_ports_per_slice_ = static_cast<int>(spec.c2c().links_on_die().value() / c2c_slices);
    model.c2c_receive_buffer_vectors_ = static_cast<int>(spec.c2c().receive_buffer_vectors().value());
  }

  // Timing: exactly one entry for every opcode.
  model.latency_.assign(AllOpcodes().size(), -1);
  for (int i = 0; i < spec.timing_size(); ++i) {
    const InstructionTiming& timing = spec.timing(i);
    const std::string field = absl::StrCat("timing[", i, "] (", timing.opcode(), ")");
    std::optional<Opcode> opcode = FindOpcode(timing.opcode());
    if (!opcode.has_value()) return check.Error(field, "no such opcode");
    int64_t& latency = model.latency_[static_cast<int>(*opcode)];
    if (latency >= 0) return check.Error(field, "opcode listed twice");
    if (timing.latency_cycles() < 0 || timing.latency_cycles() > 1'000'000) {
      return check.Error(field, "latency_cycles must be in [0, 1000000]");
    }
    if (!IsValidSource(timing.source())) {
      return check.Error(field, absl::StrCat("source '", timing.source(), "' is not valid"));
    }
    latency = timing.latency_cycles();
  }
  for (const OpcodeInfo& info : AllOpcodes()) {
    const int64_t latency = model.latency_[static_cast<int>(info.opcode)];
    if (latency < 0) {
      return check.Error("timing", absl::StrCat("no latency for opcode ", info.mnemonic));
    }
    // A result is delivered in a later cycle than its operands are read.
    if (info.kind != SLICE_ICU && latency < 1) {
      return check.Error("timing", absl::StrCat(info.mnemonic, " needs a latency of at least 1"));
    }
  }
  return model;
}

bool ChipModel::IsLargeAlu(int alu) const {
  for (int32_t large : spec_.vxm().large_alus()) {
    if (large == alu) return true;
  }
  return false;
}

std::optional<int> ChipModel::FindSlice(absl::string_view name) const {
  auto it = slice_by_name_.find(name);
  if (it == slice_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> ChipModel::FindQueue(absl::string_view name) const {
  auto it = queue_by_name_.find(name);
  if (it == queue_by_name_.end()) return std::nullopt;
  return it->second;
}

std::vector<int> ChipModel::SlicesOfKind(SliceKind kind) const {
  std::vector<int> result;
  for (const SliceInfo& slice : slices_) {
    if (slice.kind == kind) result.push_back(slice.position);
  }
  return result;
}

}  // namespace tsp::isa
