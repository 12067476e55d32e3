#!/usr/bin/env bash
# Bazel's workspace status (.bazelrc: --workspace_status_command): the commit
# the build is made from, for `tsp --version`. STABLE_ keys rebuild only the
# stamped genrule that reads them (tools:version_commit) when they change.
# Outside a git checkout the values are empty and tsp says "unknown".
cd "$(dirname "$0")/.." || exit 0
commit="$(git rev-parse --short=12 HEAD 2>/dev/null)"
if [[ -n "${commit}" ]] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="${commit}-dirty"; fi
echo "STABLE_TSP_COMMIT ${commit}"
echo "STABLE_TSP_COMMIT_DATE $(git log -1 --format=%cs 2>/dev/null)"
