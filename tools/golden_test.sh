#!/usr/bin/env bash
# A golden schedule test (tools/defs.bzl): the schedule's text form must equal
# the checked-in golden file. Arguments: the schedule_text binary, the golden
# file, the update target's label, then schedule_text's flags.
set -uo pipefail
binary="$1"; golden="$2"; update="$3"; shift 3
actual="$(mktemp)"
if ! "${binary}" "$@" > "${actual}"; then
  echo "FAILED: the schedule did not compile"
  exit 1
fi
if diff -u --label "golden ${golden}" --label "compiled now" "${golden}" "${actual}" > "${actual}.diff"; then
  echo "PASSED: the schedule equals ${golden}"
  exit 0
fi
echo "FAILED: the schedule differs from ${golden}:"
head -200 "${actual}.diff"
echo "If the change is intended, regenerate the golden with:"
echo "  bazel run ${update}"
exit 1
