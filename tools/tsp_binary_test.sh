#!/usr/bin/env bash
# The tsp binary as a user meets it: help and version exit 0, it runs from
# any directory (the built-in specs need no working directory), usage errors
# exit 2 and failures of the work exit 1, each with one line on stderr.
set -u
tsp="$(pwd)/tools/tsp"
example="$(pwd)/tools/examples/add_vectors.tsp"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect STATUS 'substring of stderr' args...: the exit status, one line, the text.
expect() {
  local want="$1" text="$2"
  shift 2
  local err status
  err="$("${tsp}" "$@" 2>&1 >/dev/null)"
  status=$?
  if [[ ${status} != "${want}" ]]; then
    fail "tsp $* exited ${status}, not ${want}: ${err}"
  elif [[ "${err}" != *"${text}"* ]]; then
    fail "tsp $*: expected '${text}', got '${err}'"
  elif [[ "$(printf '%s\n' "${err}" | grep -c .)" != 1 ]]; then
    fail "tsp $*: more than one line: ${err}"
  else
    echo "ok (${status}): tsp $*"
  fi
}

# Help and version, every usual spelling, on stdout with status 0.
for args in "help" "--help" "-h" "help plan" "plan --help" "run -h"; do
  # shellcheck disable=SC2086
  out="$("${tsp}" ${args})" || fail "tsp ${args} exited $?"
  [[ "${out}" == *"tsp "* ]] || fail "tsp ${args} printed: ${out}"
done
[[ "$("${tsp}" --help)" == *"plan     capacity planning"* ]] || fail "the overview lists no subcommands"
[[ "$("${tsp}" plan --help)" != *"--rows"* ]] || fail "plan's help lists the demo's flags"
version="$("${tsp}" --version)" || fail "--version exited $?"
[[ "${version}" == "tsp unreleased, commit "*" build" ]] || fail "version: ${version}"

# From a directory that holds nothing of the repository.
dir="$(mktemp -d)"
cd "${dir}" || exit 1
out="$("${tsp}" run --program="${example}" --format=json)" || fail "run exited $?"
[[ "${out}" == *'"completion_cycle":36'* ]] || fail "unexpected output: ${out}"
out="$("${tsp}" check --system=groq_1152)" || fail "check --system=groq_1152 exited $?"
[[ "${out}" == *"1152 chips"* ]] || fail "check: ${out}"
out="$("${tsp}" run --model=tiny_dense --chips=8 --context=64 --format=json 2>/dev/null)" ||
  fail "run --model from ${dir} exited $?"
[[ "${out}" == *'"cycles_per_token_predicted":'[0-9]* ]] || fail "run --model: ${out}"
out="$("${tsp}" compare --model=tiny_dense --chips=8 --input_tokens=32 --output_tokens=8 2>/dev/null)" ||
  fail "compare from ${dir} exited $?"
[[ "${out}" == *"H100 SXM"* ]] || fail "compare: ${out}"
cd - >/dev/null || exit 1
rm -rf "${dir}"

# Usage errors: 2.
expect 2 "unknown flag --no_such_flag" run --program="${example}" --no_such_flag
expect 2 "unknown flag --contex; did you mean 'context'?" run --model=tiny_dense --contex=64
expect 2 "--mode=fast: 'fast' is not one of: functional, timing" run --program="${example}" --mode=fast
expect 2 "unknown subcommand 'frobnicate'" frobnicate
expect 2 "unknown subcommand 'plna'; did you mean 'plan'?" plna
expect 2 "--rows does not apply to fit; it applies to: matvec" fit --model=tiny_dense --rows=5
expect 2 "--chips=0: must be at least 1" run --model=tiny_dense --chips=0
expect 2 "--chips=abc: 'abc' is not a whole number" run --model=tiny_dense --chips=abc
expect 2 "no partition of tiny_dense uses exactly 3 chips" run --model=tiny_dense --chips=3
expect 2 "no model 'tiny_dens'; did you mean 'tiny_dense'?" run --model=tiny_dens
expect 2 "no system 'groq576'; did you mean 'groq_576'?" run --model=tiny_dense --system=groq576
expect 2 "tiny_dense: 4 heads, 2 KV heads" run --model=tiny_dense --tp=3
# Failures of the work: 1.
expect 1 "does not fit 8 chips" run --model=llama2_70b --chips=8
expect 1 "cannot open" run --program=no/such/file.tsp

echo "${failures} failures"
[[ ${failures} == 0 ]]
