#!/usr/bin/env bash
# Every bad input gives its exit status (2: the command line is wrong; 1: the
# work failed, e.g. a file that does not parse, a hazard, a model that does
# not fit) and one line on stderr naming the input, the field or instruction
# and why: no crash, no stack trace, no hang, no partial output file.
set -u
tsp="tools/tsp"
data="tests/bad_inputs"
failures=0

expect_error() {
  local want="$1" expected="$2"
  shift 2
  local err status
  err="$(timeout 60 "${tsp}" "$@" 2>&1 >/dev/null)"
  status=$?
  local lines
  lines="$(printf '%s\n' "${err}" | grep -c .)"
  if [[ ${status} != "${want}" ]]; then
    echo "FAIL (exit ${status}, not ${want}): tsp $*"; echo "  ${err}"; failures=$((failures + 1))
  elif [[ "${err}" != *"${expected}"* ]]; then
    echo "FAIL (message): tsp $*"; echo "  expected: ${expected}"; echo "  got:      ${err}"
    failures=$((failures + 1))
  elif [[ ${lines} != 1 ]]; then
    echo "FAIL (${lines} lines): tsp $*"; echo "${err}"; failures=$((failures + 1))
  else
    echo "ok: tsp $*"
  fi
}

# Specs.
expect_error 1 "chip_malformed.textproto:3:" check --chip=${data}/chip_malformed.textproto
expect_error 1 "superlanes: value -20 is below the minimum 1" check --chip=${data}/chip_negative_superlanes.textproto
expect_error 1 "lanes_per_superlane: value 0 is below the minimum 1" check --chip=${data}/chip_zero_lanes.textproto
expect_error 1 "floorplan: has no VXM slice" check --chip=${data}/chip_without_vxm.textproto
expect_error 1 "no/such/chip.textproto" check --chip=no/such/chip.textproto
# Models.
expect_error 2 "no model 'no_such_model'; built-in models:" run --model=no_such_model
expect_error 2 "--weights=int4: 'int4' is not one of: int8, fp16" run --model=tiny_dense --weights=int4
expect_error 2 "--chips=-8: must be at least 1" run --model=tiny_dense --chips=-8
expect_error 2 "--chips=0: must be at least 1" run --model=tiny_dense --chips=0
expect_error 2 "no partition of tiny_dense uses exactly 3 chips" run --model=tiny_dense --chips=3
expect_error 2 "5000 chips asked of a 576-chip system" run --model=tiny_dense --chips=5000
expect_error 2 "--mode=fast: 'fast' is not one of: timing, functional" run --model=tiny_dense --mode=fast
expect_error 2 "--stages=4: tiny_dense has 2 layers, and every stage needs at least one" run --model=tiny_dense --chips=16 --tp=4 --stages=4
expect_error 2 "--chips=16 is not --tp x --stages = 4 x 2" run --model=tiny_dense --chips=16 --tp=4 --stages=2
expect_error 2 "has no field 'slice_byte' (fields: slice_bytes" plan --model=tiny_dense --chips=8 --set=chip.mem.slice_byte=1
expect_error 2 "12 is not a whole number of 8-chip nodes" plan --model=tiny_dense --chips=12
expect_error 1 "does not fit 16 chips" plan --model=llama2_70b --chips=8,16 --weights=int8
expect_error 2 "sweep needs --field=chip.PATH|system.PATH" sweep --model=tiny_dense
expect_error 2 "--format=xml: 'xml' is not one of: table, csv, json" plan --model=tiny_dense --format=xml
expect_error 2 "tiny_dense: 4 heads, 2 KV heads (neither split nor each on whole groups of chips), FFN size 640 do not split 3 ways" run --model=tiny_dense --tp=3 --stages=1
expect_error 1 "does not fit 432 chips: 8-way x 54 stages: a stage of 2 layers needs 284876800 bytes of streamed-matrix SRAM per chip, 77783040 more than its 207093760; the fewest chips that fit: 448 (16-way x 28 stages)" run --model=llama2_70b --context=4096 --chips=432
expect_error 2 "a prompt of 300 tokens must be at least 1 and shorter than the context of 256" run --model=tiny_dense --prompt_tokens=300
expect_error 1 "model_heads_not_dividing.textproto: model 'bad_heads': heads: 6 heads do not divide hidden_size 320" run --model=${data}/model_heads_not_dividing.textproto
expect_error 1 "model_heads_not_dividing.textproto: model 'bad_heads': heads: 6 heads do not divide hidden_size 320" fit --model=${data}/model_heads_not_dividing.textproto
expect_error 1 "model_kv_heads_not_dividing.textproto: model 'bad_kv': kv_heads: 3 KV heads do not divide 4 heads" fit --model=${data}/model_kv_heads_not_dividing.textproto
expect_error 1 "model_vocab_zero.textproto: model 'no_vocab': vocab_size: 0 is not a positive size" fit --model=${data}/model_vocab_zero.textproto
expect_error 1 "model_malformed.textproto:2:" fit --model=${data}/model_malformed.textproto
expect_error 2 "no model 'llama9_1t'; built-in models:" fit --model=llama9_1t
expect_error 1 "does not fit 8 chips: 8-way x 1 stages: a stage of 80 layers needs 10082508800 bytes of streamed-matrix SRAM per chip, 9875415040 more than its 207093760; the fewest chips that fit: 640 (8-way x 80 stages)" fit --model=llama2_70b --tp=8 --stages=1
expect_error 1 "does not fit the 64-chip system: 8-way x 8 stages: a stage of 10 layers needs 1285939200 bytes of streamed-matrix SRAM per chip, 1078845440 more than its 207093760; the fewest chips that fit: 448 (16-way x 28 stages)" fit --model=llama2_70b --max_chips=64
# Programs with hazards, each at its instruction and cycle.
expect_error 1 "queue MEM_E0, cycle 12, \`@12 Read address=6 dst=E9\`: reads bank 0 in the cycle a write lands" run --program=${data}/hazard_bank_conflict.tsp
expect_error 1 "two values in one stream-register slot" run --program=${data}/hazard_stream_collision.tsp
expect_error 1 "stream E0 holds no value at position 48 (VXM) in cycle 4" run --program=${data}/hazard_empty_slot.tsp
expect_error 1 "SRAM address 8192 is outside 0..8191" run --program=${data}/hazard_address_range.tsp
expect_error 1 "two issues from one queue in one cycle" run --program=${data}/hazard_queue_twice.tsp
expect_error 1 "multiplies before weights are installed on MXM_W1" run --program=${data}/hazard_no_weights.tsp
expect_error 1 "Add is a VXM instruction; slice MEM_W0 is MEM" run --program=${data}/hazard_wrong_slice.tsp
expect_error 1 "has no queue 'VXM.16'" run --program=${data}/hazard_unknown_queue.tsp
expect_error 1 "receives on port 1 before any vector has arrived there" run --program=${data}/hazard_receive_early.tsp
expect_error 1 "before a Deskew aligned it" run --program=${data}/hazard_no_deskew.tsp
expect_error 1 "parse_error.tsp: line 3 '  @1 Raed address=2 dst=E0': unknown opcode 'Raed'" run --program=${data}/parse_error.tsp
expect_error 1 "truncated.pb: not a valid binary tsp.isa.Program" run --program=${data}/truncated.pb
expect_error 1 "corrupted.pb: not a valid binary tsp.isa.Program" run --program=${data}/corrupted.pb
# Flags.
expect_error 2 "--rows does not apply to fit; it applies to: matvec" fit --model=tiny_dense --rows=5
expect_error 2 "--users does not apply to compare; it applies to: run --model, fit, plan, sweep" compare --model=tiny_dense --users=4
expect_error 2 "--weights=int4: 'int4' is not one of" matvec --weights=int4
expect_error 2 "--weights=int4: 'int4' is not one of: int8, fp16" fit --model=tiny_dense --weights=int4
expect_error 2 "unknown flag --frobnicate" run --frobnicate
expect_error 2 "unknown flag --contex; did you mean 'context'?" fit --model=tiny_dense --contex=64
expect_error 2 "unknown subcommand 'plan9'; did you mean 'plan'?" plan9
expect_error 2 "--position=64 is beyond the KV cache of 64 tokens" trace --model=tiny_dense --chips=8 --context=64 --position=64 --out=${TEST_TMPDIR:-/tmp}/t.json
# Requests beyond the host-memory limit are refused up front, with an estimate.
expect_error 1 "a 320000 x 320000 matvec would need about 762.9 GiB of host memory, over the limit of 16.0 GiB" matvec --rows=320000 --columns=320000
expect_error 1 "running ${data}/huge_repeat.tsp would need about 89.4 GiB of host memory, over the limit of 16.0 GiB" run --program=${data}/huge_repeat.tsp --trace=${TEST_TMPDIR:-/tmp}/huge_trace.txt
if [[ -e "${TEST_TMPDIR:-/tmp}/huge_trace.txt" ]]; then echo "FAIL: a trace file was written"; failures=$((failures + 1)); fi
# An unwritable output path: an error, and no file appears.
out_dir="${TEST_TMPDIR:-/tmp}/no_such_dir_$$"
expect_error 1 "cannot write ${out_dir}/trace.txt" run --program=tools/examples/add_vectors.tsp --trace=${out_dir}/trace.txt
if [[ -e "${out_dir}" ]]; then echo "FAIL: ${out_dir} was created"; failures=$((failures + 1)); fi

echo "${failures} failures"
[[ ${failures} == 0 ]]
