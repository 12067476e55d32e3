#include "scheduler/lowering/all_reduce.h"

#include "isa/status_macros.h"

namespace tsp::scheduler::lowering {

using isa::Opcode;

absl::StatusOr<std::vector<std::vector<Vec>>> AllReduceStage(LoweringContext& ctx, std::vector<ChipResidents*> group,
                                                             const std::vector<std::vector<Vec>>& partials, Opcode op,
                                                             isa::ElementType type) {
  const size_t n = group.size();
  if (n == 1) return partials;
  // Reduce-scatter then all-gather: vector k is summed on its owner chip
  // k % n, in chip order, and the owner sends the total to every other chip,
  // so all hold bit-identical totals. Each chip sends (n - 1) / n of its
  // partials twice instead of all of them n - 1 times.
  const size_t count = partials[0].size();
  // received[k][s]: chip s's partial k on its owner.
  std::vector<std::vector<Vec>> received(count, std::vector<Vec>(n));
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    for (size_t s = 0; s < n; ++s) {
      const Vec& v = partials[s][k];
      if (s == owner) {
        received[k][s] = v;
        continue;
      }
      ASSIGN_OR_RETURN(received[k][s], ctx.system().Transfer(group[s]->chip, v, group[owner]->chip, Other(v.side)));
    }
  }
  std::vector<Vec> sums(count);
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    Vec acc = received[k][0];
    for (size_t s = 1; s < n; ++s) {
      ASSIGN_OR_RETURN(acc, ctx.Ops(*group[owner]).Vxm(op, type, {acc, received[k][s]}, Other(acc.side)));
    }
    sums[k] = acc;
  }
  std::vector<std::vector<Vec>> totals(n, std::vector<Vec>(count));
  for (size_t k = 0; k < count; ++k) {
    const size_t owner = k % n;
    for (size_t d = 0; d < n; ++d) {
      if (d == owner) {
        totals[d][k] = sums[k];
        continue;
      }
      ASSIGN_OR_RETURN(totals[d][k],
                       ctx.system().Transfer(group[owner]->chip, sums[k], group[d]->chip, Other(sums[k].side)));
    }
  }
  return totals;
}

}  // namespace tsp::scheduler::lowering
