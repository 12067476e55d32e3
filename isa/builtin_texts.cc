#include "isa/builtin_texts.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tsp::isa {

std::vector<std::string> BuiltinTexts::names() const {
  std::vector<std::string> names;
  for (int i = 0; table_[i][0] != nullptr; ++i) names.push_back(table_[i][0]);
  std::sort(names.begin(), names.end());
  return names;
}

const char* BuiltinTexts::Find(absl::string_view name) const {
  for (int i = 0; table_[i][0] != nullptr; ++i) {
    if (name == table_[i][0]) return table_[i][1];
  }
  return nullptr;
}

bool IsPath(absl::string_view name_or_path) {
  return absl::StrContains(name_or_path, '/') || absl::EndsWith(name_or_path, ".textproto");
}

namespace {

// Edits (insert, delete, substitute, swap two neighbours) from a to b: the
// optimal string alignment distance.
int64_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<int64_t>> d(a.size() + 1, std::vector<int64_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int64_t>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::vector<std::string> NearestNames(absl::string_view query, const std::vector<std::string>& candidates) {
  const int64_t limit = std::max<int64_t>(1, static_cast<int64_t>(query.size()) / 4);
  std::vector<std::pair<int64_t, size_t>> near;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const int64_t distance = !query.empty() && absl::StartsWith(candidates[i], query)
                                 ? 0
                                 : EditDistance(query, candidates[i]);
    if (distance <= limit) near.emplace_back(distance, i);
  }
  std::sort(near.begin(), near.end());
  std::vector<std::string> names;
  for (size_t k = 0; k < near.size() && k < 3; ++k) names.push_back(candidates[near[k].second]);
  return names;
}

std::string DidYouMean(absl::string_view query, const std::vector<std::string>& candidates) {
  const std::vector<std::string> near = NearestNames(query, candidates);
  if (near.empty()) return "";
  std::string text = "; did you mean ";
  for (size_t i = 0; i < near.size(); ++i) {
    if (i > 0) absl::StrAppend(&text, i + 1 == near.size() ? " or " : ", ");
    absl::StrAppend(&text, "'", near[i], "'");
  }
  return absl::StrCat(text, "?");
}

}  // namespace tsp::isa
