#include "scheduler/lowering/embedding.h"

#include "isa/status_macros.h"
#include "scheduler/lowering/all_reduce.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<std::vector<Vec>> Embed(LoweringContext& ctx, ChipResidents& c, int member) {
  ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> rows, BatchEmbed(ctx, c, {member}));
  return std::move(rows[0]);
}

absl::StatusOr<std::vector<std::vector<Vec>>> BatchEmbed(LoweringContext& ctx, ChipResidents& c,
                                                         const std::vector<int>& members) {
  const size_t batch = members.size();
  bool needs[2] = {false, false};
  for (const StreamedMatrix& m : c.embedding.sides) needs[static_cast<int>(m.side)] = true;
  // inputs[side][i]: member i's one-hot vectors on that side's MXM.
  std::vector<std::vector<Vec>> inputs[2] = {std::vector<std::vector<Vec>>(batch),
                                             std::vector<std::vector<Vec>>(batch)};
  std::vector<Vec> token_scales(batch);
  for (size_t i = 0; i < batch; ++i) {
    std::vector<Vec> onehot;
    const int64_t vectors = CeilDiv(c.vocab_local, ctx.lanes());
    for (int64_t k = 0; k < vectors; ++k) {
      std::vector<float> ids(ctx.lanes(), -1.0f);
      for (int j = 0; j < ctx.lanes() && k * ctx.lanes() + j < c.vocab_local; ++j) {
        ids[j] = static_cast<float>(c.vocab_first + k * ctx.lanes() + j);
      }
      ASSIGN_OR_RETURN(Vec id_vector, ctx.Ops(c).ConstantFloat(Side::kEast, ids));
      ASSIGN_OR_RETURN(Vec hot, ctx.Op(c, Opcode::kCmpEq, {id_vector, c.tokens[members[i]]}, Side::kEast));
      onehot.push_back(hot);
    }
    for (const Vec& hot : onehot) {
      for (int side = 0; side < 2; ++side) {
        if (!needs[side]) continue;
        ASSIGN_OR_RETURN(Vec in, ctx.Ops(c).Vxm(Opcode::kConvert, isa::FP32, {hot}, static_cast<Side>(side),
                                                ctx.int8() ? isa::INT8 : isa::FP16));
        inputs[side][i].push_back(in);
      }
    }
    if (ctx.int8()) {
      std::vector<Vec> picked;
      for (size_t k = 0; k < onehot.size(); ++k) {
        ASSIGN_OR_RETURN(Vec p, ctx.Op(c, Opcode::kMul, {onehot[k], c.embedding_scales[k]}, Side::kWest));
        picked.push_back(p);
      }
      ASSIGN_OR_RETURN(token_scales[i], ctx.Reduce(c, Opcode::kAdd, picked));
    }
  }
  std::vector<std::vector<Vec>> x(batch);
  for (const StreamedMatrix& m : c.embedding.sides) {
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> part,
                     ctx.Ops(c).MatMul(m, inputs[static_cast<int>(m.side)], m.row_tiles, m.column_tiles));
    for (size_t i = 0; i < batch; ++i) {
      for (const Vec& acc : part[i]) {
        if (!ctx.int8()) {
          x[i].push_back(acc);
          continue;
        }
        ASSIGN_OR_RETURN(Vec real,
                         ctx.Ops(c).Vxm(Opcode::kConvert, isa::INT32, {acc}, Other(acc.side), isa::FP32));
        ASSIGN_OR_RETURN(Vec row, ctx.Op(c, Opcode::kMul, {real, token_scales[i]}, Other(real.side)));
        x[i].push_back(row);
      }
    }
  }
  return x;
}

absl::Status LowerEmbedding(StageState& state, int index) {
  std::vector<int> members;
  for (size_t m = 0; m < state.members.size(); ++m) members.push_back(static_cast<int>(m));
  std::vector<RankVectors> partials(members.size());
  for (ChipResidents* c : state.group) {
    ASSIGN_OR_RETURN(std::vector<std::vector<Vec>> rows, BatchEmbed(state.ctx, *c, members));
    for (size_t m = 0; m < members.size(); ++m) partials[m].push_back(std::move(rows[m]));
  }
  for (size_t m = 0; m < members.size(); ++m) {
    ASSIGN_OR_RETURN(state.values[m][index], AllReduceStage(state.ctx, state.group, partials[m]));
  }
  return absl::OkStatus();
}

}  // namespace tsp::scheduler::lowering
