#ifndef TSP_ISA_BUILTIN_TEXTS_H_
#define TSP_ISA_BUILTIN_TEXTS_H_

// Texts compiled into binaries (tsp_embed_named_texts in
// third_party/build_defs/embed.bzl: built-in models, systems, accelerators),
// found by name so that tools run from any directory, and the names nearest a
// misspelt one for "did you mean" in errors.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tsp::isa {

class BuiltinTexts {
 public:
  // `table`: {name, text} pairs ending with {nullptr, nullptr}, as the
  // genrule writes them; it must outlive this object (it is static data).
  explicit BuiltinTexts(const char* const (*table)[2]) : table_(table) {}

  // The names, sorted.
  std::vector<std::string> names() const;
  // The text of `name`, or nullptr when there is none of that name.
  const char* Find(absl::string_view name) const;

 private:
  const char* const (*table_)[2];
};

// Whether `name_or_path` names a file rather than a built-in: it has a '/' or
// ends in ".textproto".
bool IsPath(absl::string_view name_or_path);

// Up to three of `candidates` nearest `query` by edits (insertions,
// deletions, substitutions, swaps of neighbours: at most a quarter of the
// query's length, and at least one), nearest first, ties in `candidates`
// order; a candidate that starts with the query counts as nearest.
std::vector<std::string> NearestNames(absl::string_view query, const std::vector<std::string>& candidates);

// "; did you mean 'a' or 'b'?" for NearestNames, or "" when none is near.
std::string DidYouMean(absl::string_view query, const std::vector<std::string>& candidates);

}  // namespace tsp::isa

#endif  // TSP_ISA_BUILTIN_TEXTS_H_
