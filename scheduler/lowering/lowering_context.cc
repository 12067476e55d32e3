#include "scheduler/lowering/lowering_context.h"

#include <cstring>

#include "isa/status_macros.h"
#include "models/model_registry.h"

namespace tsp::scheduler::lowering {
namespace {

using isa::Opcode;

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

}  // namespace

LoweringContext::LoweringContext(const models::ModelConfig& config, const isa::ChipModel& chip,
                                 const pipeline::SystemModel& system, const pipeline::Topology& topology,
                                 const DecoderPartition& partition, const DecoderOptions& options,
                                 int64_t context_tokens)
    : config_(config),
      chip_(chip),
      partition_(partition),
      options_(options),
      context_(context_tokens),
      int8_(options.format == models::NumberFormat::kInt8),
      lanes_(chip.lanes()),
      head_dim_(models::HeadDim(config)),
      system_(chip, system, topology, options.weights != nullptr) {}

int LoweringContext::FirstLayer(int stage) const {
  int first = 0;
  for (int s = 0; s < stage; ++s) first += partition_.stage_layers[s];
  return first;
}

absl::StatusOr<Vec> LoweringContext::Splat(ChipResidents& c, float value, Side side) {
  const auto key = std::make_tuple(c.chip, Bits(value), static_cast<int>(side));
  auto it = splats_.find(key);
  if (it != splats_.end()) return it->second;
  ASSIGN_OR_RETURN(Vec v, Ops(c).Splat(side, value));
  splats_[key] = v;
  return v;
}

absl::StatusOr<std::vector<Vec>> LoweringContext::FloatVectors(ChipResidents& c, const std::vector<float>& values,
                                                               int64_t count, Side side) {
  std::vector<Vec> out;
  for (int64_t k = 0; k < CeilDiv(count, lanes_); ++k) {
    std::vector<float> lanes(lanes_, 0.0f);
    for (int i = 0; i < lanes_ && k * lanes_ + i < count; ++i) {
      if (!values.empty()) lanes[i] = values[k * lanes_ + i];
    }
    ASSIGN_OR_RETURN(Vec v, Ops(c).ConstantFloat(k % 2 == 0 ? side : Other(side), lanes));
    out.push_back(v);
  }
  return out;
}

// Every lane gets op over all lanes: rotations halve the lane count while it
// is even, then the odd remainder is covered by binary pieces.
absl::StatusOr<Vec> LoweringContext::AllLanes(ChipResidents& c, Opcode op, const Vec& v) {
  Vec acc = v;
  int n = lanes_;
  while (n % 2 == 0) {
    n /= 2;
    ASSIGN_OR_RETURN(Vec rotated, Ops(c).Shift(Opcode::kRotate, acc, n, Other(acc.side)));
    ASSIGN_OR_RETURN(acc, Op(c, op, {acc, rotated}, Other(acc.side)));
  }
  if (n == 1) return acc;
  // pieces[k] covers 2^k consecutive residues.
  std::vector<Vec> pieces = {acc};
  while ((2 << (pieces.size() - 1)) <= n) {
    const Vec& last = pieces.back();
    const int span = 1 << (pieces.size() - 1);
    ASSIGN_OR_RETURN(Vec rotated, Ops(c).Shift(Opcode::kRotate, last, span, Other(last.side)));
    ASSIGN_OR_RETURN(Vec next, Op(c, op, {last, rotated}, Other(last.side)));
    pieces.push_back(next);
  }
  Vec result;
  bool have = false;
  int offset = 0;
  for (int k = static_cast<int>(pieces.size()) - 1; k >= 0; --k) {
    if ((n & (1 << k)) == 0) continue;
    Vec piece = pieces[k];
    if (offset > 0) {
      ASSIGN_OR_RETURN(piece, Ops(c).Shift(Opcode::kRotate, piece, offset, Other(piece.side)));
    }
    if (have) {
      ASSIGN_OR_RETURN(result, Op(c, op, {result, piece}, Other(result.side)));
    } else {
      result = piece;
      have = true;
    }
    offset += 1 << k;
  }
  return result;
}

absl::StatusOr<Vec> LoweringContext::Reduce(ChipResidents& c, Opcode op, const std::vector<Vec>& vectors) {
  Vec acc = vectors[0];
  for (size_t k = 1; k < vectors.size(); ++k) {
    ASSIGN_OR_RETURN(acc, Op(c, op, {acc, vectors[k]}, Other(acc.side)));
  }
  return AllLanes(c, op, acc);
}

absl::StatusOr<Vec> LoweringContext::Masked(ChipResidents& c, const Vec& v, int64_t valid, float fill) {
  std::vector<float> mask(lanes_, 0.0f);
  for (int i = 0; i < lanes_ && i < valid; ++i) mask[i] = 1.0f;
  ASSIGN_OR_RETURN(Vec m, Ops(c).ConstantFloat(Other(v.side), mask));
  ASSIGN_OR_RETURN(Vec f, Splat(c, fill, v.side));
  return Op(c, Opcode::kSelect, {v, f, m}, Other(v.side));
}

absl::StatusOr<Vec> LoweringContext::Broadcast(ChipResidents& c, const Vec& v, int lane, Side side) {
  return Ops(c).Permute(v, std::vector<int>(lanes_, lane), side);
}

}  // namespace tsp::scheduler::lowering
