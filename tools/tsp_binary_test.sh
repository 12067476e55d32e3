#!/usr/bin/env bash
# The tsp binary: runs an example, and rejects bad flags with one clear line
# and a non-zero exit.
set -u
tsp="tools/tsp"
fail() { echo "FAIL: $*"; exit 1; }

out="$("${tsp}" run --program=tools/examples/add_vectors.tsp --format=json)" || fail "run exited $?"
[[ "${out}" == *'"completion_cycle":36'* ]] || fail "unexpected output: ${out}"

err="$("${tsp}" run --program=tools/examples/add_vectors.tsp --no_such_flag 2>&1)" && fail "unknown flag accepted"
[[ "${err}" == *"no_such_flag"* ]] || fail "unknown flag not named: ${err}"

err="$("${tsp}" run --program=tools/examples/add_vectors.tsp --mode=fast 2>&1)" && fail "bad mode accepted"
[[ "${err}" == "tsp: --mode=fast is not one of: functional, timing" ]] || fail "bad message: ${err}"

err="$("${tsp}" frobnicate 2>&1)" && fail "unknown command accepted"
[[ "${err}" == *"unknown command 'frobnicate'"* ]] || fail "bad message: ${err}"
echo PASS
