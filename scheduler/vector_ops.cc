#include "scheduler/vector_ops.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/hazards.h"
#include "isa/program_builder.h"
#include "isa/status_macros.h"
#include "isa/timing.h"

namespace tsp::scheduler {
namespace {

using isa::Opcode;

constexpr int kActivationSlicesPerSide = 12;
constexpr int kWeightSlicesPerSide = 32;
constexpr int kGroupSlices = 4;
// ASSUMED (this compiler's layout): when matrices spread into the activation
// slices, their low 3,072 addresses (of 8,192) stay for a step's vectors,
// which are not reused within a step and so grow with the layers of a stage
// and the attention tiles, not with the SRAM. Measured: a 3-layer llama2_70b stage (16-way, 4,096
// tokens) uses 1,515; a 5-layer llama3_70b stage (32-way, 8,192 tokens) 3,193,
// past the reserve but below its matrices. A step whose vectors reach the
// matrices fails to compile, saying so; it never overwrites them.
constexpr int64_t kActivationReserve = 3072;

isa::Direction Toward(int from, int to) { return to >= from ? isa::EAST : isa::WEST; }

uint32_t FloatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

}  // namespace

VectorOps::VectorOps(ChipScheduler& scheduler, bool with_data)
    : scheduler_(scheduler), with_data_(with_data) {
  const isa::ChipModel& model = chip();
  vxm_ = model.SlicesOfKind(isa::SLICE_VXM).front();
  const std::vector<int> sxm = model.SlicesOfKind(isa::SLICE_SXM);
  sxm_[0] = sxm.front();
  sxm_[1] = sxm.back();
  // The fp16 pair-first planes (isa/README.md): the westmost and the east
  // pair's first; int8 uses the same ones.
  const std::vector<int> mxm = model.SlicesOfKind(isa::SLICE_MXM);
  mxm_[0] = mxm.front();
  mxm_[1] = mxm[mxm.size() / 2];
  planes_[0].position = mxm_[0];
  planes_[1].position = mxm_[1];
  // MEM slices outward from the VXM on each side.
  for (int slice : model.SlicesOfKind(isa::SLICE_MEM)) {
    const int side = slice < vxm_ ? 0 : 1;
    std::vector<int>& list = side == 0 ? activation_slices_[0] : activation_slices_[1];
    list.push_back(slice);
  }
  std::reverse(activation_slices_[0].begin(), activation_slices_[0].end());
  for (int side = 0; side < 2; ++side) {
    std::vector<int> all = activation_slices_[side];
    activation_slices_[side].assign(all.begin(),
                                    all.begin() + std::min<size_t>(all.size(), kActivationSlicesPerSide));
    for (size_t i = activation_slices_[side].size(); i < all.size() && weight_slices_[side].size() <
                                                                            kWeightSlicesPerSide;
         ++i) {
      weight_slices_[side].push_back(all[i]);
    }
    group_next_[side].assign(activation_slices_[side].size() / kGroupSlices, 0);
  }
}

absl::StatusOr<Vec> VectorOps::NewVec(isa::ElementType type, Side side) {
  const int s = static_cast<int>(side);
  const int groups = static_cast<int>(group_next_[s].size());
  if (groups == 0) return absl::FailedPreconditionError("the chip has no activation slices");
  const int g = next_group_[s];
  next_group_[s] = (g + 1) % groups;
  int64_t ceiling = chip().mem_addresses();
  for (int p = 0; p < kGroupSlices; ++p) ceiling = std::min(ceiling, WeightFloor(s, g * kGroupSlices + p));
  if (group_next_[s][g] >= ceiling && !allow_overflow_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "chip ", scheduler_.id(), ": activation SRAM full (", groups * kGroupSlices, " slices x ", ceiling,
        " addresses on the ", s == 0 ? "west" : "east", " side",
        ceiling < chip().mem_addresses()
            ? absl::StrCat("; matrices spread over the addresses above, as the ", activation_reserve(),
                           " kept for vectors seemed enough: give the stage fewer layers, with more stages "
                           "(tsp --stages) or more chips (--chips)")
            : "",
        ")"));
  }
  Vec v;
  v.type = type;
  v.side = side;
  v.address = group_next_[s][g]++;
  for (int p = 0; p < v.planes(); ++p) v.slices[p] = activation_slices_[s][g * kGroupSlices + p];
  return v;
}

absl::StatusOr<Vec> VectorOps::NewVecAvoiding(isa::ElementType type, const std::vector<int>& slices) {
  const int groups = static_cast<int>(group_next_[0].size());
  for (int attempt = 0; attempt < 2 * groups; ++attempt) {
    const Side side = static_cast<Side>(attempt % 2);
    const int g = (next_group_[attempt % 2] + attempt / 2) % groups;
    bool clear = true;
    for (int p = 0; p < isa::ElementBytes(type); ++p) {
      const int slice = activation_slices_[attempt % 2][g * kGroupSlices + p];
      clear &= std::find(slices.begin(), slices.end(), slice) == slices.end();
    }
    if (!clear) continue;
    next_group_[attempt % 2] = g;
    return NewVec(type, side);
  }
  return absl::FailedPreconditionError("no activation slice group is free of the given slices");
}

int64_t VectorOps::activation_addresses_used() const {
  int64_t used = 0;
  for (int s = 0; s < 2; ++s) {
    for (int64_t next : group_next_[s]) used = std::max(used, next);
  }
  return used;
}

absl::StatusOr<Vec> VectorOps::Constant(isa::ElementType type, Side side,
                                        const std::vector<uint32_t>& bits) {
  absl::StatusOr<Vec> v = NewVec(type, side);
  if (!v.ok() || !with_data_) return v;
  for (int p = 0; p < v->planes(); ++p) {
    std::string plane(lanes(), '\0');
    for (int lane = 0; lane < lanes() && lane < static_cast<int>(bits.size()); ++lane) {
      plane[lane] = static_cast<char>(bits[lane] >> (8 * p));
    }
    scheduler_.SetMemory(v->slices[p], v->address, std::move(plane));
  }
  return v;
}

absl::StatusOr<Vec> VectorOps::ConstantFloat(Side side, const std::vector<float>& values) {
  std::vector<uint32_t> bits;
  bits.reserve(values.size());
  for (float value : values) bits.push_back(FloatBits(value));
  return Constant(isa::FP32, side, bits);
}

absl::StatusOr<Vec> VectorOps::Splat(Side side, float value) {
  return ConstantFloat(side, std::vector<float>(lanes(), value));
}

int64_t VectorOps::ArrivalLowerBound(const Vec& v, int position) const {
  const int64_t read_latency = chip().latency_cycles(Opcode::kRead);
  int64_t lower = 0;
  for (int p = 0; p < v.planes(); ++p) {
    lower = std::max(lower, scheduler_.ReadableAt(v.slices[p], v.address) + read_latency +
                                Distance(v.slices[p], position));
  }
  return lower;
}

namespace {
// A tile stream's Read and its Repeat read `loads` consecutive addresses:
// one source each, or one for all when none was written.
void SetTileReadSources(const Claim& claim, int slice, int64_t address, int loads, isa::Intent* intent) {
  bool any_written = false;
  for (int i = 0; i < loads && !any_written; ++i) any_written = claim.MemorySource(slice, address + i).queue >= 0;
  for (int i = 0; i < (any_written ? loads : 1); ++i)
    AddSource(claim.MemorySource(slice, address + i), intent->mutable_memory());
}
}  // namespace

int VectorOps::ReadTo(Claim& claim, const Vec& v, int position, int64_t cycle, std::vector<SourceEntry>* sources) {
  sources->clear();
  const int64_t read_latency = chip().latency_cycles(Opcode::kRead);
  const isa::Direction direction = Toward(v.slices[0], position);
  const int first = claim.Streams(direction, v.planes(), position, cycle);
  if (first < 0) return -1;
  for (int p = 0; p < v.planes(); ++p) {
    if (Toward(v.slices[p], position) != direction) return -1;
    const int64_t read = cycle - Distance(v.slices[p], position) - read_latency;
    if (!claim.Read(v.slices[p], v.address, read)) {
      claim.SkipQueueBusyRun(scheduler_.Queue(v.slices[p]), read);
      return -1;
    }
    isa::Instruction& instruction = claim.Emit(scheduler_.Queue(v.slices[p]), read, Opcode::kRead);
    instruction.set_address(v.address);
    *instruction.mutable_dst() = isa::Stream(direction, first + p);
    AddSource(claim.MemorySource(v.slices[p], v.address), instruction.mutable_intent()->mutable_memory());
    sources->push_back({scheduler_.Queue(v.slices[p]), read});
  }
  return first;
}

bool VectorOps::WriteFrom(Claim& claim, const Vec& v, int position, int64_t cycle, isa::Direction direction, int first,
                          const SourceEntry& producer) {
  for (int p = 0; p < v.planes(); ++p) {
    if (Toward(position, v.slices[p]) != direction) return false;
    const int64_t write = cycle + Distance(position, v.slices[p]);
    if (!claim.Write(v.slices[p], v.address, write)) return false;
    isa::Instruction& instruction = claim.Emit(scheduler_.Queue(v.slices[p]), write, Opcode::kWrite);
    instruction.set_address(v.address);
    *instruction.mutable_a() = isa::Stream(direction, first + p);
    AddSource(producer, instruction.mutable_intent()->mutable_a());
  }
  return true;
}

absl::StatusOr<Vec> VectorOps::Vxm(Opcode opcode, isa::ElementType type,
                                   const std::vector<Vec>& operands, Side side,
                                   isa::ElementType to_type, int amount) {
  const isa::ElementType out_type = opcode == Opcode::kConvert ? to_type : type;
  ASSIGN_OR_RETURN(Vec out, NewVec(out_type, side));
  RETURN_IF_ERROR(VxmInto(opcode, type, operands, out, to_type, amount));
  return out;
}

absl::Status VectorOps::VxmInto(Opcode opcode, isa::ElementType type, const std::vector<Vec>& operands,
                                const Vec& out, isa::ElementType to_type, int amount) {
  const Side side = out.side;
  // Operands read in one cycle must come from different slices: an operand
  // given twice is read once, one that shares a slice with another is first
  // copied to slices none of the others use.
  std::vector<Vec> inputs = operands;
  std::vector<int> alias(inputs.size(), -1);
  auto same = [](const Vec& a, const Vec& b) {
    return a.address == b.address && a.type == b.type && a.slices == b.slices;
  };
  auto shares = [](const Vec& a, const Vec& b) {
    for (int p = 0; p < a.planes(); ++p) {
      for (int q = 0; q < b.planes(); ++q) {
        if (a.slices[p] == b.slices[q]) return true;
      }
    }
    return false;
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    bool conflict = false;
    for (size_t j = 0; j < i; ++j) {
      if (alias[j] >= 0) continue;
      if (same(inputs[i], inputs[j])) {
        alias[i] = static_cast<int>(j);
        break;
      }
      conflict |= shares(inputs[i], inputs[j]);
    }
    if (alias[i] >= 0 || !conflict) continue;
    std::vector<int> avoid;
    for (size_t j = 0; j < inputs.size(); ++j) {
      if (j == i) continue;
      for (int p = 0; p < inputs[j].planes(); ++p) avoid.push_back(inputs[j].slices[p]);
    }
    ASSIGN_OR_RETURN(Vec moved, NewVecAvoiding(inputs[i].type, avoid));
    RETURN_IF_ERROR(CopyInto(inputs[i], moved));
    inputs[i] = moved;
  }
  const isa::OpcodeInfo& info = isa::GetOpcodeInfo(opcode);
  const int64_t latency = chip().latency_cycles(opcode);
  const isa::SliceInfo& vxm = chip().slices()[vxm_];
  // fp32 -> fp16 conversion needs a large ALU too (isa/README.md).
  const bool needs_large_alu = info.needs_large_alu || (opcode == Opcode::kConvert &&
                                                        type == isa::FP32 && to_type == isa::FP16);
  int64_t lower = 0;
  for (const Vec& v : inputs) lower = std::max(lower, ArrivalLowerBound(v, vxm_));
  const isa::Direction out_direction = side == Side::kWest ? isa::WEST : isa::EAST;
  std::vector<SourceEntry> sources[3];  // Per operand; outside the claim, which is tried at many cycles.
  ASSIGN_OR_RETURN(int64_t t, scheduler_.Place(lower, info.mnemonic, [&](int64_t t, Claim& claim) {
    int alu = -1;
    for (int k = 0; k < vxm.queue_count && alu < 0; ++k) {
      const int candidate = (next_alu_ + k) % vxm.queue_count;
      if (needs_large_alu && !chip().IsLargeAlu(candidate)) continue;
      if (claim.UseQueue(vxm.first_queue + candidate, t)) alu = candidate;
    }
    if (alu < 0) return false;
    int streams[3] = {0, 0, 0};
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (alias[i] >= 0) {
        streams[i] = streams[alias[i]];
        sources[i] = sources[alias[i]];
      } else {
        streams[i] = ReadTo(claim, inputs[i], vxm_, t, &sources[i]);
      }
      if (streams[i] < 0) return false;
    }
    const int first = claim.Streams(out_direction, out.planes(), vxm_, t + latency);
    if (first < 0) return false;
    if (!WriteFrom(claim, out, vxm_, t + latency, out_direction, first, {vxm.first_queue + alu, t})) {
      return false;
    }
    isa::Instruction& instruction = claim.Emit(vxm.first_queue + alu, t, info.opcode);
    AddSources(sources[0], instruction.mutable_intent()->mutable_a());
    if (inputs.size() > 1) AddSources(sources[1], instruction.mutable_intent()->mutable_b());
    if (inputs.size() > 2) AddSources(sources[2], instruction.mutable_intent()->mutable_c());
    instruction.set_type(type);
    auto stream_of = [&](size_t i) {
      return isa::Stream(Toward(inputs[i].slices[0], vxm_), streams[i]);
    };
    *instruction.mutable_a() = stream_of(0);
    if (inputs.size() > 1) *instruction.mutable_b() = stream_of(1);
    if (inputs.size() > 2) *instruction.mutable_c() = stream_of(2);
    if (opcode == Opcode::kConvert) instruction.set_to_type(to_type);
    if (opcode == Opcode::kShl || opcode == Opcode::kShr) instruction.set_amount(amount);
    *instruction.mutable_dst() = isa::Stream(out_direction, first);
    next_alu_ = (alu + 1) % vxm.queue_count;
    return true;
  }));
  (void)t;
  return absl::OkStatus();
}

absl::StatusOr<Vec> VectorOps::Copy(const Vec& a, Side side) {
  ASSIGN_OR_RETURN(Vec out, NewVec(a.type, side));
  RETURN_IF_ERROR(CopyInto(a, out));
  return out;
}

absl::Status VectorOps::CopyInto(const Vec& a, const Vec& out) {
  // Through the SXM on the source's side with a zero shift: the one route
  // that reaches every MEM slice from any MEM slice.
  return SxmInto(Opcode::kShift, a, 0, out);
}

absl::StatusOr<Vec> VectorOps::Shift(Opcode opcode, const Vec& a, int amount, Side side) {
  ASSIGN_OR_RETURN(Vec out, NewVec(a.type, side));
  RETURN_IF_ERROR(SxmInto(opcode, a, amount, out));
  return out;
}

absl::Status VectorOps::SxmInto(Opcode opcode, const Vec& a, int amount_or_map, const Vec& out) {
  const int sxm = sxm_[static_cast<int>(a.side)];
  const isa::SliceInfo& unit = chip().slices()[sxm];
  const int64_t latency = chip().latency_cycles(opcode);
  const isa::Direction out_direction = Toward(sxm, vxm_);
  const absl::string_view mnemonic = isa::GetOpcodeInfo(opcode).mnemonic;
  std::vector<SourceEntry> sources;  // Outside the claim, which is tried at many cycles.
  return scheduler_
      .Place(ArrivalLowerBound(a, sxm), mnemonic,
             [&](int64_t t, Claim& claim) {
               int queue = -1;
               for (int k = 0; k < unit.queue_count && queue < 0; ++k) {
                 const int candidate = (next_sxm_queue_ + k) % unit.queue_count;
                 if (claim.UseQueue(unit.first_queue + candidate, t)) queue = candidate;
               }
               if (queue < 0) return false;
               const int in = ReadTo(claim, a, sxm, t, &sources);
               if (in < 0) return false;
               const int first = claim.Streams(out_direction, out.planes(), sxm, t + latency);
               if (first < 0) return false;
               if (!WriteFrom(claim, out, sxm, t + latency, out_direction, first, {unit.first_queue + queue, t})) {
                 return false;
               }
               isa::Instruction& instruction = claim.Emit(unit.first_queue + queue, t, opcode);
               AddSources(sources, instruction.mutable_intent()->mutable_a());
               instruction.set_type(a.type);
               *instruction.mutable_a() = isa::Stream(Toward(a.slices[0], sxm), in);
               if (opcode == Opcode::kPermute) {
                 instruction.set_map(amount_or_map);
               } else {
                 instruction.set_amount(amount_or_map);
               }
               *instruction.mutable_dst() = isa::Stream(out_direction, first);
               next_sxm_queue_ = (queue + 1) % unit.queue_count;
               return true;
             })
      .status();
}

absl::StatusOr<Vec> VectorOps::Permute(const Vec& a, const std::vector<int>& map, Side side) {
  return Shift(Opcode::kPermute, a, scheduler_.AddLaneMap(map), side);
}

absl::StatusOr<StreamedMatrix> VectorOps::NewMatrix(Side side, isa::ElementType type, int64_t rows,
                                                    int64_t columns) {
  const int s = static_cast<int>(side);
  const int width = isa::ElementBytes(type);
  const int rows_per_load =
      std::min(chip().max_weight_rows_per_load(), chip().streams_per_direction() / width);
  if (static_cast<int>(weight_slices_[s].size()) < rows_per_load * width) {
    return absl::FailedPreconditionError("too few MEM slices to stream matrices");
  }
  StreamedMatrix m;
  m.side = side;
  m.type = type;
  m.rows = rows;
  m.columns = columns;
  m.row_tiles = static_cast<int>((rows + lanes() - 1) / lanes());
  m.column_tiles = static_cast<int>((columns + lanes() - 1) / lanes());
  m.loads = (lanes() + rows_per_load - 1) / rows_per_load;
  const int64_t tiles = static_cast<int64_t>(m.row_tiles) * m.column_tiles;
  if (spread_) {
    absl::StatusOr<std::shared_ptr<const std::vector<StreamPlace>>> places =
        SpreadTiles(s, tiles, rows_per_load * width, m.loads);
    if (!places.ok()) {
      return absl::ResourceExhaustedError(absl::StrCat("chip ", scheduler_.id(), ": a ", rows, " x ", columns, " ",
                                                       isa::ElementTypeName(type), " matrix ",
                                                       places.status().message()));
    }
    m.places = *std::move(places);
    // Tiles that all lie where the fixed layout would put them need no places.
    bool fixed = true;
    const int64_t base = tiles > 0 ? (*m.places)[0].address : 0;
    for (int64_t t = 0; t < tiles && fixed; ++t) {
      for (int stream = 0; stream < rows_per_load * width && fixed; ++stream) {
        const StreamPlace& place = (*m.places)[t * rows_per_load * width + stream];
        fixed = place.slice == weight_slices_[s][stream] && place.address == base + t * m.loads;
      }
    }
    if (fixed) {
      m.places = nullptr;
      m.base = base;
    }
    return m;
  }
  m.base = weight_next_[s];
  const int64_t addresses = tiles * m.loads;
  if (m.base + addresses > chip().mem_addresses() && !allow_overflow_ && !allow_weight_overflow_) {
    const int64_t bytes_short = (m.base + addresses - chip().mem_addresses()) *
                                static_cast<int64_t>(rows_per_load * width) * lanes();
    return absl::ResourceExhaustedError(absl::StrCat(
        "chip ", scheduler_.id(), ": a ", rows, " x ", columns, " ", isa::ElementTypeName(type),
        " matrix does not fit the ", s == 0 ? "west" : "east", " weight slices: ", bytes_short,
        " bytes short (", weight_slices_[s].size(), " slices x ", chip().mem_addresses(),
        " addresses, ", m.base, " in use)"));
  }
  weight_overflow_ += std::max<int64_t>(0, m.base + addresses - std::max(m.base, chip().mem_addresses())) *
                      rows_per_load * width;
  weight_next_[s] += addresses;
  return m;
}

void VectorOps::set_spread_weights(bool spread) {
  spread_ = spread;
  for (int s = 0; s < 2; ++s) {
    slice_used_[s].assign(weight_slices_[s].size() + activation_slices_[s].size(), 0);
    for (size_t i = 0; i < weight_slices_[s].size(); ++i) slice_used_[s][i] = weight_next_[s];
  }
}

int64_t VectorOps::activation_reserve() const { return kActivationReserve; }

int64_t VectorOps::weight_capacity_addresses() const {
  const int64_t slices = static_cast<int64_t>(weight_slices_[0].size());
  const int64_t spare = std::max<int64_t>(0, chip().mem_addresses() - activation_reserve()) *
                        static_cast<int64_t>(activation_slices_[0].size());
  return chip().mem_addresses() + spare / std::max<int64_t>(1, slices);
}

int64_t VectorOps::weight_addresses_used(Side side) const {
  const int s = static_cast<int>(side);
  if (!spread_) return weight_next_[s];
  int64_t sum = 0;
  for (int64_t used : slice_used_[s]) sum += used;
  return sum / static_cast<int64_t>(weight_slices_[s].size());
}

int64_t VectorOps::WeightFloor(int side, int activation_index) const {
  if (!spread_) return chip().mem_addresses();
  return chip().mem_addresses() - slice_used_[side][weight_slices_[side].size() + activation_index];
}

absl::StatusOr<std::shared_ptr<const std::vector<StreamPlace>>> VectorOps::SpreadTiles(int s, int64_t tiles,
                                                                                         int streams, int loads) {
  const int weight_count = static_cast<int>(weight_slices_[s].size());
  const int count = static_cast<int>(slice_used_[s].size());
  const int64_t size = chip().mem_addresses();
  auto room = [&](int i) -> int64_t {
    if (i < weight_count) return size - slice_used_[s][i];
    // An activation slice keeps its reserve and whatever vectors it holds.
    const int a = i - weight_count;
    const int64_t vectors = std::max(activation_reserve(), group_next_[s][a / kGroupSlices]);
    return size - slice_used_[s][i] - vectors;
  };
  auto places = std::make_shared<std::vector<StreamPlace>>();
  places->reserve(static_cast<size_t>(tiles * streams));
  std::vector<int> order(count);
  std::vector<int64_t> rooms(count);
  for (int64_t t = 0; t < tiles; ++t) {
    for (int i = 0; i < count; ++i) {
      order[i] = i;
      rooms[i] = room(i);
    }
    // The roomiest slices; weight slices first among equals, in their order.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return rooms[a] > rooms[b]; });
    const int64_t least = rooms[order[streams - 1]];
    std::sort(order.begin(), order.begin() + streams);
    if (least < loads) {
      if (!allow_overflow_ && !allow_weight_overflow_) {
        int64_t left = 0;
        for (int i = 0; i < count; ++i) left += std::max<int64_t>(0, rooms[i]);
        return absl::ResourceExhaustedError(absl::StrCat(
            "does not fit the ", s == 0 ? "west" : "east", " side's MEM slices: ", tiles - t, " of its ", tiles,
            " tiles left, each ", loads, " addresses on ", streams, " slices, with ", left,
            " slice-addresses free (", weight_count, " weight slices, ", count - weight_count,
            " activation slices above address ", activation_reserve(), ")"));
      }
      for (int k = 0; k < streams; ++k) {
        weight_overflow_ += std::max<int64_t>(0, loads - std::max<int64_t>(0, rooms[order[k]]));
      }
    }
    for (int k = 0; k < streams; ++k) {
      const int i = order[k];
      StreamPlace place;
      if (i < weight_count) {
        place.slice = weight_slices_[s][i];
        place.address = slice_used_[s][i];
        slice_used_[s][i] += loads;
      } else {
        slice_used_[s][i] += loads;
        place.slice = activation_slices_[s][i - weight_count];
        place.address = size - slice_used_[s][i];
      }
      places->push_back(place);
    }
  }
  return std::shared_ptr<const std::vector<StreamPlace>>(std::move(places));
}

StreamPlace VectorOps::TileStream(const StreamedMatrix& m, int64_t tile, int stream) const {
  if (m.places != nullptr) {
    const int streams = static_cast<int>(m.places->size() / std::max<int64_t>(1, int64_t{m.row_tiles} * m.column_tiles));
    return (*m.places)[tile * streams + stream];
  }
  return {weight_slices_[static_cast<int>(m.side)][stream], m.base + tile * m.loads};
}

void VectorOps::FillMatrix(const StreamedMatrix& m,
                           const std::function<uint16_t(int64_t, int64_t)>& bits) {
  if (!with_data_) return;
  for (SramImage& image : MatrixImages(m, bits))
    scheduler_.SetMemory(image.slice, image.address, std::move(image.bytes));
}

std::vector<SramImage> VectorOps::MatrixImages(const StreamedMatrix& m,
                                               const std::function<uint16_t(int64_t, int64_t)>& bits) const {
  std::vector<SramImage> images;
  const int width = isa::ElementBytes(m.type);
  const int rows_per_load = (lanes() + m.loads - 1) / m.loads;
  const int64_t tiles = static_cast<int64_t>(m.row_tiles) * m.column_tiles;
  for (int stream = 0; stream < rows_per_load * width; ++stream) {
    std::string data(static_cast<size_t>(tiles * m.loads) * lanes(), '\0');
    const int plane = stream % width;
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t tile_row = t / m.column_tiles;
      const int64_t tile_column = t % m.column_tiles;
      for (int i = 0; i < m.loads; ++i) {
        const int64_t row = tile_row * lanes() + static_cast<int64_t>(rows_per_load) * i + stream / width;
        if (row >= m.rows || row >= (tile_row + 1) * lanes()) continue;
        char* vector = &data[static_cast<size_t>(t * m.loads + i) * lanes()];
        for (int j = 0; j < lanes(); ++j) {
          const int64_t column = tile_column * lanes() + j;
          if (column >= m.columns) break;
          vector[j] = static_cast<char>(bits(row, column) >> (8 * plane));
        }
      }
    }
    if (m.places == nullptr) {
      images.push_back({TileStream(m, 0, stream).slice, m.base, std::move(data)});
      continue;
    }
    const size_t tile_bytes = static_cast<size_t>(m.loads) * lanes();
    for (int64_t t = 0; t < tiles; ++t) {
      const StreamPlace place = TileStream(m, t, stream);
      images.push_back({place.slice, place.address, data.substr(t * tile_bytes, tile_bytes)});
    }
  }
  return images;
}

Vec VectorOps::MatrixRow(const StreamedMatrix& m, int64_t row) const {
  const int width = isa::ElementBytes(m.type);
  const int rows_per_load = (lanes() + m.loads - 1) / m.loads;
  const int64_t tile_row = row / lanes();
  const int64_t r = row % lanes();
  Vec v;
  v.type = m.type;
  v.side = m.side;
  for (int p = 0; p < width; ++p) {
    const StreamPlace place = TileStream(m, tile_row * m.column_tiles, static_cast<int>((r % rows_per_load) * width + p));
    v.slices[p] = place.slice;
    // Planes of one row share an address in either layout.
    v.address = place.address + r / rows_per_load;
  }
  return v;
}

absl::StatusOr<int64_t> VectorOps::InstallTile(const StreamedMatrix& m, int64_t tile) {
  const int s = static_cast<int>(m.side);
  MxmPlaneTimes& plane = planes_[s];
  const isa::SliceInfo& unit = chip().slices()[plane.position];
  const int width = isa::ElementBytes(m.type);
  const int rows_per_load = (lanes() + m.loads - 1) / m.loads;
  const isa::Direction in_direction = s == 0 ? isa::WEST : isa::EAST;
  const int64_t read_latency = chip().latency_cycles(Opcode::kRead);
  const int64_t load_latency = chip().latency_cycles(Opcode::kLoadWeights);
  const int64_t install_latency = chip().latency_cycles(Opcode::kInstallWeights);
  std::vector<SourceEntry> tile_sources;  // The tile's Reads: the LoadWeights' intent.
  // Rows stream in at cycles L .. L + loads - 1, after the previous install took the buffer.
  int64_t lower = plane.last_install;
  for (int stream = 0; stream < rows_per_load * width; ++stream) {
    const StreamPlace place = TileStream(m, tile, stream);
    for (int i = 0; i < m.loads; ++i) {
      lower = std::max(lower, scheduler_.ReadableAt(place.slice, place.address + i) + read_latency +
                                  Distance(place.slice, plane.position) - i);
    }
  }
  ASSIGN_OR_RETURN(const int64_t first_load,
                   scheduler_.Place(std::max<int64_t>(lower, 0), "LoadWeights", [&](int64_t t, Claim& claim) {
                     tile_sources.clear();
                     for (int i = 0; i < m.loads; ++i) {
                       // A load queue cycle or stream slot taken at t + i is one every
                       // anchor up to t + i would need too.
                       if (!claim.UseQueue(unit.first_queue, t + i) ||
                           !claim.FixedStreams(in_direction, 0, rows_per_load * width, plane.position, t + i)) {
                         claim.FailBelow(t + i + 1);
                         return false;
                       }
                     }
                     for (int stream = 0; stream < rows_per_load * width; ++stream) {
                       const StreamPlace place = TileStream(m, tile, stream);
                       const int slice = place.slice;
                       const int64_t read = t - Distance(slice, plane.position) - read_latency;
                       for (int i = 0; i < m.loads; ++i) {
                         if (!claim.Read(slice, place.address + i, read + i)) return false;
                       }
                       isa::Instruction& instruction = claim.Emit(scheduler_.Queue(slice), read, Opcode::kRead);
                       instruction.set_address(place.address);
                       *instruction.mutable_dst() = isa::Stream(in_direction, stream);
                       SetTileReadSources(claim, slice, place.address, m.loads, instruction.mutable_intent());
                       tile_sources.push_back({scheduler_.Queue(slice), read});
                       if (m.loads > 1) {
                         isa::Instruction& repeat = claim.Emit(scheduler_.Queue(slice), read + 1, Opcode::kRepeat);
                         repeat.set_n(m.loads - 1);
                         repeat.set_every(1);
                         repeat.set_stride(1);
                         claim.Note(read + m.loads - 1 + read_latency);
                       }
                     }
                     isa::Instruction& load = claim.Emit(unit.first_queue, t, Opcode::kLoadWeights);
                     load.set_type(m.type);
                     load.set_row(0);
                     load.set_rows(rows_per_load);
                     *load.mutable_a() = isa::Stream(in_direction, 0);
                     AddSources(tile_sources, load.mutable_intent()->mutable_a());
                     if (m.loads > 1) {
                       isa::Instruction& repeat = claim.Emit(unit.first_queue, t + 1, Opcode::kRepeat);
                       repeat.set_n(m.loads - 1);
                       repeat.set_every(1);
                       repeat.set_stride(rows_per_load);
                       claim.Note(t + m.loads - 1 + load_latency);
                     }
                     return true;
                   }));
  plane.last_load = first_load + m.loads - 1;
  // The install waits for the last row and for the previous tile's multiply.
  const int64_t install_lower =
      std::max(isa::EarliestInstall(plane.last_load + load_latency), plane.last_multiply - install_latency + 1);
  ASSIGN_OR_RETURN(
      const int64_t install, scheduler_.Place(install_lower, "InstallWeights", [&](int64_t t, Claim& claim) {
        if (!claim.UseQueue(unit.first_queue + 1, t)) return false;
        isa::Instruction& instruction = claim.Emit(unit.first_queue + 1, t, Opcode::kInstallWeights);
        *instruction.mutable_intent()->mutable_loads() = Produced(unit.first_queue, plane.last_load, m.loads);
        return true;
      }));
  plane.last_install = install;
  return install;
}

absl::StatusOr<std::vector<Vec>> VectorOps::MatVec(const StreamedMatrix& m, const std::vector<Vec>& x, int row_tiles,
                                                   int column_tiles) {
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> y, MatMul(m, {x}, row_tiles, column_tiles));
  return std::move(y[0]);
}

absl::StatusOr<std::vector<std::vector<Vec>>> VectorOps::MatMul(const StreamedMatrix& m,
                                                                const std::vector<std::vector<Vec>>& x, int row_tiles,
                                                                int column_tiles) {
  if (x.empty()) return absl::InvalidArgumentError("a matrix product of no vectors");
  for (const std::vector<Vec>& member : x) {
    if (row_tiles > m.row_tiles || column_tiles > m.column_tiles || static_cast<int>(member.size()) < column_tiles) {
      return absl::InvalidArgumentError(absl::StrCat("a matvec over ", row_tiles, " x ", column_tiles, " tiles of a ",
                                                     m.row_tiles, " x ", m.column_tiles, " matrix with ", member.size(),
                                                     " input vectors"));
    }
    for (int tile_column = 0; tile_column < column_tiles; ++tile_column) {
      if (member[tile_column].side != m.side || member[tile_column].type != m.type) {
        return absl::InvalidArgumentError("a matvec input must be on the matrix's side, of its type");
      }
    }
  }
  const int batch = static_cast<int>(x.size());
  const int group_size = chip().mxm_accumulators();
  const int s = static_cast<int>(m.side);
  MxmPlaneTimes& plane = planes_[s];
  const isa::SliceInfo& unit = chip().slices()[plane.position];
  const isa::Direction in_direction = s == 0 ? isa::WEST : isa::EAST;
  const isa::Direction out_direction = s == 0 ? isa::EAST : isa::WEST;
  const isa::ElementType out_type = m.type == isa::FP16 ? isa::FP32 : isa::INT32;
  const int64_t install_latency = chip().latency_cycles(Opcode::kInstallWeights);
  const int64_t multiply_latency = chip().latency_cycles(Opcode::kMultiply);
  const int64_t accumulate_latency = chip().latency_cycles(Opcode::kAccumulate);
  std::vector<std::vector<Vec>> y(batch);
  for (int tile_row = 0; tile_row < row_tiles; ++tile_row) {
    for (int group = 0; group < batch; group += group_size) {
      const int members = std::min(group_size, batch - group);
      std::vector<Vec> outs;
      for (int k = 0; k < members; ++k) {
        ASSIGN_OR_RETURN(Vec out, NewVec(out_type, m.side));
        outs.push_back(out);
      }
      std::vector<int64_t> last_multiply_into(members);  // By accumulator.
      for (int tile_column = 0; tile_column < column_tiles; ++tile_column) {
        const int64_t tile = static_cast<int64_t>(tile_row) * m.column_tiles + tile_column;
        ASSIGN_OR_RETURN(const int64_t install, InstallTile(m, tile));
        // Member k's vector into accumulator k, one Multiply each.
        for (int k = 0; k < members; ++k) {
          const Vec& input = x[group + k][tile_column];
          int64_t multiply_lower = isa::EarliestMultiply(install + install_latency);
          if (tile_column == 0) {
            // A new row block's products must land after the accumulator's last read-out cleared it.
            multiply_lower = std::max(multiply_lower, plane.LastAccumulate(k) - multiply_latency + 1);
          }
          multiply_lower = std::max(multiply_lower, ArrivalLowerBound(input, plane.position));
          std::vector<SourceEntry> sources;  // Outside the claim, which is tried at many cycles.
          ASSIGN_OR_RETURN(const int64_t multiply,
                           scheduler_.Place(multiply_lower, "Multiply", [&](int64_t t, Claim& claim) {
                             if (!claim.UseQueue(unit.first_queue + 1, t)) return false;
                             const int stream = ReadTo(claim, input, plane.position, t, &sources);
                             if (stream < 0) return false;
                             isa::Instruction& instruction = claim.Emit(unit.first_queue + 1, t, Opcode::kMultiply);
                             instruction.set_type(m.type);
                             *instruction.mutable_a() = isa::Stream(in_direction, stream);
                             if (k > 0) instruction.set_accumulator(k);
                             AddSources(sources, instruction.mutable_intent()->mutable_a());
                             *instruction.mutable_intent()->mutable_weights() = Produced(unit.first_queue + 1, install);
                             return true;
                           }));
          plane.last_multiply = std::max(plane.last_multiply, multiply);
          last_multiply_into[k] = multiply;
        }
      }
      for (int k = 0; k < members; ++k) {
        const Vec& out = outs[k];
        ASSIGN_OR_RETURN(
            const int64_t accumulate,
            scheduler_.Place(last_multiply_into[k] + multiply_latency, "Accumulate", [&](int64_t t, Claim& claim) {
              if (!claim.UseQueue(unit.first_queue + 2, t)) return false;
              const int first = claim.Streams(out_direction, 4, plane.position, t + accumulate_latency);
              if (first < 0) return false;
              if (!WriteFrom(claim, out, plane.position, t + accumulate_latency, out_direction, first,
                             {unit.first_queue + 2, t})) {
                return false;
              }
              isa::Instruction& instruction = claim.Emit(unit.first_queue + 2, t, Opcode::kAccumulate);
              *instruction.mutable_dst() = isa::Stream(out_direction, first);
              if (k > 0) instruction.set_accumulator(k);
              *instruction.mutable_intent()->mutable_products() =
                  Produced(unit.first_queue + 1, last_multiply_into[k], column_tiles);
              return true;
            }));
        if (static_cast<int>(plane.last_accumulate.size()) <= k) plane.last_accumulate.resize(k + 1, -1'000'000);
        plane.last_accumulate[k] = accumulate;
        y[group + k].push_back(out);
      }
    }
  }
  return y;
}

}  // namespace tsp::scheduler
