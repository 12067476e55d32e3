#include "scheduler/tensor_parallel_width.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tsp::scheduler {

absl::Status CheckWidth(const models::ModelConfig& config, int tp) {
  if (tp < 1) return absl::InvalidArgumentError(absl::StrCat("a tensor-parallel width of ", tp, " chips"));
  std::vector<std::string> why;
  if (config.heads() % tp != 0) why.push_back(absl::StrCat(config.heads(), " heads"));
  if (config.kv_heads() % tp != 0 && tp % config.kv_heads() != 0) {
    why.push_back(absl::StrCat(config.kv_heads(), " KV heads (neither split nor each on whole groups of chips)"));
  }
  if (config.ffn_size() % tp != 0) why.push_back(absl::StrCat("FFN size ", config.ffn_size()));
  if (why.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(config.name(), ": ", absl::StrJoin(why, ", "), " do not split ", tp,
                                                 " ways"));
}

std::vector<int> WidthsToTry(const models::ModelConfig& config, int per_node) {
  std::vector<int> widths;
  for (int tp : {per_node, 2 * per_node, 4 * per_node, per_node / 2, per_node / 4, 1}) {
    if (tp >= 1 && std::find(widths.begin(), widths.end(), tp) == widths.end() && CheckWidth(config, tp).ok()) {
      widths.push_back(tp);
    }
  }
  return widths;
}

}  // namespace tsp::scheduler
