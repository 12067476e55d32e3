#include "scheduler/lowering/stage_state.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tsp::scheduler::lowering {

absl::StatusOr<const RankVectors*> StageState::Input(int index, int operand, int of_member) const {
  const models::Operator& consumer = op(index);
  if (operand < 0 || operand >= static_cast<int>(consumer.inputs.size())) {
    return absl::InternalError(absl::StrCat("operator '", consumer.name, "' has ", consumer.inputs.size(),
                                            " operands; its lowering asked for operand ", operand));
  }
  const int producer = consumer.inputs[operand];
  const std::map<int, RankVectors>& member_values = values[of_member < 0 ? member : of_member];
  auto it = member_values.find(producer);
  if (it == member_values.end()) {
    return absl::InternalError(absl::StrCat("operator '", consumer.name, "' on stage ", stage, " reads '",
                                            op(producer).name,
                                            "', which has no result: a pass that fuses it must lower its "
                                            "readers too"));
  }
  return &it->second;
}

LayerResidents& StageState::Layer(ChipResidents& c, const models::Operator& op) const {
  return c.layers[op.layer - ctx.FirstLayer(stage)];
}

}  // namespace tsp::scheduler::lowering
