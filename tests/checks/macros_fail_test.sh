#!/usr/bin/env bash
# The tools/defs.bzl checks fail with the messages they promise.
set -uo pipefail
perf_check="$1"; golden_test="$2"; schedule_text="$3"; golden="$4"; program="$5"
fail() { echo "FAIL: $*"; exit 1; }

# A bound that cannot hold: the measured value is shown beside it.
out="$("${perf_check}" --model=tiny_dense --context=256 --prompt_tokens=4 \
  --system=pipeline/specs/groq_576.textproto --min_tokens_per_s_per_user=1e9 2>/dev/null)"
[[ $? != 0 ]] || fail "an impossible bound passed"
grep -qE '^FAILED tokens/s per user: measured [0-9.]+, bound >= 1000000000.00$' <<<"${out}" ||
  fail "no measured-against-bound line: ${out}"
grep -q '^ok     cycles per token: predicted' <<<"${out}" || fail "no prediction check: ${out}"

# A golden that is out of date: a diff and the command that regenerates it.
stale="$(mktemp)"
sed 's/^predicted_last_event_cycle 998$/predicted_last_event_cycle 997/' "${golden}" > "${stale}"
out="$("${golden_test}" "${schedule_text}" "${stale}" //tests/checks:golden_lane_sum.update --kernel=lane_sum)"
[[ $? != 0 ]] || fail "a stale golden passed"
grep -q '^-predicted_last_event_cycle 997$' <<<"${out}" || fail "no diff: ${out}"
grep -q '^+predicted_last_event_cycle 998$' <<<"${out}" || fail "no diff: ${out}"
grep -q 'bazel run //tests/checks:golden_lane_sum.update' <<<"${out}" || fail "no regenerate command: ${out}"
# The genuine golden passes.
"${golden_test}" "${schedule_text}" "${golden}" x --kernel=lane_sum > /dev/null || fail "the golden failed"

# The program target's output parses as programs for 2 chips (non-empty).
[[ -s "${program}" ]] || fail "empty program output"
echo "PASSED"
