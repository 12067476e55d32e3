#!/usr/bin/env bash
# Regenerates a golden schedule file in the source tree (bazel run <test>.update).
set -euo pipefail
binary="$1"; golden="$2"; shift 2
"${binary}" "$@" > "${BUILD_WORKSPACE_DIRECTORY}/${golden}"
echo "wrote ${golden}"
