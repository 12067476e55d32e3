#include "scheduler/lowering/rotary.h"

#include <cmath>

#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<Vec> Rotary(LoweringContext& ctx, ChipResidents& c, const Vec& head, int64_t position) {
  const int64_t half = ctx.head_dim() / 2;
  std::vector<float> cosines(ctx.lanes(), 0.0f), sines(ctx.lanes(), 0.0f);
  std::vector<int> swap(ctx.lanes(), -1);
  for (int64_t j = 0; j < half; ++j) {
    const double angle =
        static_cast<double>(position) *
        std::pow(ctx.config().rope_theta(), -2.0 * static_cast<double>(j) / static_cast<double>(ctx.head_dim()));
    const float cosine = static_cast<float>(std::cos(angle));
    const float sine = static_cast<float>(std::sin(angle));
    cosines[j] = cosines[j + half] = cosine;
    sines[j] = -sine;
    sines[j + half] = sine;
    swap[j] = static_cast<int>(j + half);
    swap[j + half] = static_cast<int>(j);
  }
  ASSIGN_OR_RETURN(Vec cos_vector, ctx.Ops(c).ConstantFloat(Other(head.side), cosines));
  ASSIGN_OR_RETURN(Vec swapped, ctx.Ops(c).Permute(head, swap, Other(head.side)));
  ASSIGN_OR_RETURN(Vec sin_vector, ctx.Ops(c).ConstantFloat(Other(swapped.side), sines));
  ASSIGN_OR_RETURN(Vec direct, ctx.Op(c, Opcode::kMul, {head, cos_vector}, head.side));
  ASSIGN_OR_RETURN(Vec crossed, ctx.Op(c, Opcode::kMul, {swapped, sin_vector}, Other(head.side)));
  return ctx.Op(c, Opcode::kAdd, {direct, crossed}, Other(head.side));
}

}  // namespace tsp::scheduler::lowering
