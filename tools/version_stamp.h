#ifndef TSP_TOOLS_VERSION_STAMP_H_
#define TSP_TOOLS_VERSION_STAMP_H_

// What `tsp --version` prints, fixed when the binary is built: the release
// ("unreleased" until there is one), the commit and its date from Bazel's
// workspace status (tools/workspace_status.sh; "" when the tree is not a git
// checkout), and the compilation mode Bazel built with, with the flags that
// decide speed as the compiler saw them.

extern const char kTspVersion[];
extern const char kTspCommit[];      // Short hash, "-dirty" when uncommitted changes were built.
extern const char kTspCommitDate[];  // YYYY-MM-DD of the commit.
extern const char kTspBuildMode[];   // E.g. "opt (optimized -O2, assertions off)".

#endif  // TSP_TOOLS_VERSION_STAMP_H_
