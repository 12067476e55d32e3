#!/usr/bin/env bash
# Every bad input gives a non-zero exit and one line on stderr naming the
# input, the field or instruction and why: no crash, no stack trace, no hang,
# no partial output file.
set -u
tsp="tools/tsp"
data="tests/bad_inputs"
failures=0

expect_error() {
  local expected="$1"
  shift
  local err status
  err="$(timeout 60 "${tsp}" "$@" 2>&1 >/dev/null)"
  status=$?
  local lines
  lines="$(printf '%s\n' "${err}" | grep -c .)"
  if [[ ${status} == 0 || ${status} -ge 124 ]]; then
    echo "FAIL (exit ${status}): tsp $*"; failures=$((failures + 1))
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
expect_error "chip_malformed.textproto:3:" check --chip=${data}/chip_malformed.textproto
expect_error "superlanes: value -20 is below the minimum 1" check --chip=${data}/chip_negative_superlanes.textproto
expect_error "lanes_per_superlane: value 0 is below the minimum 1" check --chip=${data}/chip_zero_lanes.textproto
expect_error "floorplan: has no VXM slice" check --chip=${data}/chip_without_vxm.textproto
expect_error "no/such/chip.textproto" check --chip=no/such/chip.textproto
# Models.
expect_error "no model 'no_such_model'; built-in models:" run --model=no_such_model
expect_error "number format 'int4' is not one of: int8, fp16" run --model=tiny_dense --weights=int4
expect_error "--chips, --context, --users, --prompt_tokens and --threads must not be negative" run --model=tiny_dense --chips=-8
expect_error "5000 chips asked of a 576-chip system" run --model=tiny_dense --chips=5000
expect_error "--mode=fast is not one of: timing, functional" run --model=tiny_dense --mode=fast
expect_error "4 pipeline stages for 2 layers of tiny_dense: every stage needs at least one layer" run --model=tiny_dense --chips=16 --tp=4 --stages=4
expect_error "has no field 'slice_byte' (fields: slice_bytes" plan --model=tiny_dense --chips=8 --set=chip.mem.slice_byte=1
expect_error "12 is not a whole number of 8-chip nodes" plan --model=tiny_dense --chips=12
expect_error "does not fit 16 chips" plan --model=llama2_70b --chips=8,16 --weights=int8
expect_error "sweep: --field=chip.<path> or system.<path> and --values=a,b,... are required" sweep --model=tiny_dense
expect_error "--format=xml is not one of: table, csv, json" plan --model=tiny_dense --format=xml
expect_error "tiny_dense: 4 heads, 2 KV heads and FFN size 640 do not split 3 ways" run --model=tiny_dense --tp=3 --stages=1
expect_error "does not fit 432 chips: 8-way x 54 stages: a stage of 2 layers needs 284876800 bytes of streamed-matrix SRAM per chip, 77783040 more than its 207093760; the fewest chips that fit: 448 (16-way x 28 stages)" run --model=llama2_70b --context=4096 --chips=432
expect_error "a prompt of 300 tokens must be at least 1 and shorter than the context of 256" run --model=tiny_dense --prompt_tokens=300
expect_error "model_heads_not_dividing.textproto: model 'bad_heads': heads: 6 heads do not divide hidden_size 320" run --model=${data}/model_heads_not_dividing.textproto
expect_error "model_heads_not_dividing.textproto: model 'bad_heads': heads: 6 heads do not divide hidden_size 320" fit --model=${data}/model_heads_not_dividing.textproto
expect_error "model_kv_heads_not_dividing.textproto: model 'bad_kv': kv_heads: 3 KV heads do not divide 4 heads" fit --model=${data}/model_kv_heads_not_dividing.textproto
expect_error "model_vocab_zero.textproto: model 'no_vocab': vocab_size: 0 is not a positive size" fit --model=${data}/model_vocab_zero.textproto
expect_error "model_malformed.textproto:2:" fit --model=${data}/model_malformed.textproto
expect_error "no model 'llama9_1t'; built-in models:" fit --model=llama9_1t
expect_error "stage 0 (layers 0..79) needs" fit --model=llama2_70b --tp=8 --stages=1
expect_error "no partition of at most 64 chips" fit --model=llama2_70b --max_chips=64
# Programs with hazards, each at its instruction and cycle.
expect_error "queue MEM_E0, cycle 12, \`@12 Read address=6 dst=E9\`: reads bank 0 in the cycle a write lands" run --program=${data}/hazard_bank_conflict.tsp
expect_error "two values in one stream-register slot" run --program=${data}/hazard_stream_collision.tsp
expect_error "stream E0 holds no value at position 48 (VXM) in cycle 4" run --program=${data}/hazard_empty_slot.tsp
expect_error "SRAM address 8192 is outside 0..8191" run --program=${data}/hazard_address_range.tsp
expect_error "two issues from one queue in one cycle" run --program=${data}/hazard_queue_twice.tsp
expect_error "multiplies before weights are installed on MXM_W1" run --program=${data}/hazard_no_weights.tsp
expect_error "Add is a VXM instruction; slice MEM_W0 is MEM" run --program=${data}/hazard_wrong_slice.tsp
expect_error "has no queue 'VXM.16'" run --program=${data}/hazard_unknown_queue.tsp
expect_error "receives on port 1 before any vector has arrived there" run --program=${data}/hazard_receive_early.tsp
expect_error "before a Deskew aligned it" run --program=${data}/hazard_no_deskew.tsp
expect_error "parse_error.tsp: line 3 '  @1 Raed address=2 dst=E0': unknown opcode 'Raed'" run --program=${data}/parse_error.tsp
expect_error "truncated.pb: not a valid binary tsp.isa.Program" run --program=${data}/truncated.pb
expect_error "corrupted.pb: not a valid binary tsp.isa.Program" run --program=${data}/corrupted.pb
# Flags.
expect_error "--tp and --stages go together" fit --model=tiny_dense --tp=2
expect_error "--weights=int4 is not one of" matvec --weights=int4
expect_error "number format 'int4' is not one of: int8, fp16" fit --model=tiny_dense --weights=int4
expect_error "Unknown command line flag 'frobnicate'" run --frobnicate
expect_error "unknown command 'plan9'" plan9
# Requests beyond the host-memory limit are refused up front, with an estimate.
expect_error "a 320000 x 320000 matvec would need about 762.9 GiB of host memory, over the limit of 16.0 GiB" matvec --rows=320000 --columns=320000
expect_error "running ${data}/huge_repeat.tsp would need about 89.4 GiB of host memory, over the limit of 16.0 GiB" run --program=${data}/huge_repeat.tsp --trace=${TEST_TMPDIR:-/tmp}/huge_trace.txt
if [[ -e "${TEST_TMPDIR:-/tmp}/huge_trace.txt" ]]; then echo "FAIL: a trace file was written"; failures=$((failures + 1)); fi
# An unwritable output path: an error, and no file appears.
out_dir="${TEST_TMPDIR:-/tmp}/no_such_dir_$$"
expect_error "cannot write ${out_dir}/trace.txt" run --program=tools/examples/add_vectors.tsp --trace=${out_dir}/trace.txt
if [[ -e "${out_dir}" ]]; then echo "FAIL: ${out_dir} was created"; failures=$((failures + 1)); fi

echo "${failures} failures"
[[ ${failures} == 0 ]]
