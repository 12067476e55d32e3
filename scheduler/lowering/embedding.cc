#include "scheduler/lowering/embedding.h"

#include "isa/status_macros.h"
#include "scheduler/lowering/all_reduce.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<std::vector<Vec>> Embed(LoweringContext& ctx, ChipResidents& c) {
  std::vector<Vec> onehot;
  const int64_t vectors = CeilDiv(c.vocab_local, ctx.lanes());
  for (int64_t k = 0; k < vectors; ++k) {
    std::vector<float> ids(ctx.lanes(), -1.0f);
    for (int i = 0; i < ctx.lanes() && k * ctx.lanes() + i < c.vocab_local; ++i) {
      ids[i] = static_cast<float>(c.vocab_first + k * ctx.lanes() + i);
    }
    ASSIGN_OR_RETURN(Vec id_vector, ctx.Ops(c).ConstantFloat(Side::kEast, ids));
    ASSIGN_OR_RETURN(Vec hot, ctx.Op(c, Opcode::kCmpEq, {id_vector, c.token}, Side::kEast));
    onehot.push_back(hot);
  }
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : c.embedding.sides) needs[static_cast<int>(m.side)] = true;
  std::vector<Vec> inputs[2];
  for (const Vec& hot : onehot) {
    for (int side = 0; side < 2; ++side) {
      if (!needs[side]) continue;
      ASSIGN_OR_RETURN(Vec in, ctx.Ops(c).Vxm(Opcode::kConvert, isa::FP32, {hot}, static_cast<Side>(side),
                                              ctx.int8() ? isa::INT8 : isa::FP16));
      inputs[side].push_back(in);
    }
  }
  Vec token_scale;
  if (ctx.int8()) {
    std::vector<Vec> picked;
    for (size_t k = 0; k < onehot.size(); ++k) {
      ASSIGN_OR_RETURN(Vec p, ctx.Op(c, Opcode::kMul, {onehot[k], c.embedding_scales[k]}, Side::kWest));
      picked.push_back(p);
    }
    ASSIGN_OR_RETURN(token_scale, ctx.Reduce(c, Opcode::kAdd, picked));
  }
  std::vector<Vec> x;
  for (const StreamedMatrix& m : c.embedding.sides) {
    ASSIGN_OR_RETURN(std::vector<Vec> part,
                     ctx.Ops(c).MatVec(m, inputs[static_cast<int>(m.side)], m.row_tiles, m.column_tiles));
    for (const Vec& acc : part) {
      if (!ctx.int8()) {
        x.push_back(acc);
        continue;
      }
      ASSIGN_OR_RETURN(Vec real, ctx.Ops(c).Vxm(Opcode::kConvert, isa::INT32, {acc}, Other(acc.side), isa::FP32));
      ASSIGN_OR_RETURN(Vec row, ctx.Op(c, Opcode::kMul, {real, token_scale}, Other(real.side)));
      x.push_back(row);
    }
  }
  return x;
}

absl::Status LowerEmbedding(StageState& state, int index) {
  RankVectors partials;
  for (ChipResidents* c : state.group) {
    ASSIGN_OR_RETURN(std::vector<Vec> e, Embed(state.ctx, *c));
    partials.push_back(e);
  }
  ASSIGN_OR_RETURN(state.values[index], AllReduceStage(state.ctx, state.group, partials));
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
