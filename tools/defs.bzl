"""Bazel macros for users' test suites: pin performance, schedules and results.

load("//tools:defs.bzl", "tsp_performance_test", "tsp_golden_schedule_test",
     "tsp_assembly_test", "tsp_program")

See README.md ("Your own checks in bazel test") for examples.
"""

_SYSTEM = "//pipeline:specs/groq_576.textproto"

def _flag(name, value):
    return ["--%s=%s" % (name, value)] if value else []

def tsp_performance_test(
        name,
        model,
        system = _SYSTEM,
        chips = 0,
        context = 0,
        prompt_tokens = 2048,
        weights = "int8",
        min_tokens_per_s_per_user = 0,
        max_ttft_s = 0,
        max_chips = 0,
        min_concurrent_users = 0,
        size = "large",
        tags = [],
        **kwargs):
    """Compiles and emulates `model` on `system`; fails unless predicted == emulated and every bound holds.

    The failure names each bound that does not hold with the measured value beside it.
    """
    args = ["--model=" + model, "--system=$(rootpath %s)" % system, "--weights=" + weights]
    args += _flag("chips", chips) + _flag("context", context) + _flag("prompt_tokens", prompt_tokens)
    args += _flag("min_tokens_per_s_per_user", min_tokens_per_s_per_user) + _flag("max_ttft_s", max_ttft_s)
    args += _flag("max_chips", max_chips) + _flag("min_concurrent_users", min_concurrent_users)
    native.sh_test(
        name = name,
        srcs = ["//tools:exec_test.sh"],
        args = ["$(rootpath //tools:perf_check)"] + args,
        data = ["//tools:perf_check", system],
        size = size,
        tags = tags + ["tsp_performance"],
        **kwargs
    )

def tsp_golden_schedule_test(
        name,
        golden,
        kernel = "",
        model = "",
        chips = 1,
        context = 64,
        position = 0,
        weights = "int8",
        size = "small",
        tags = [],
        **kwargs):
    """Compiles a kernel or a model's decode step and compares its text form with `golden`.

    On a change it prints a unified diff and the command that regenerates the golden:
    bazel run //<package>:<name>.update
    """
    args = _flag("kernel", kernel) + _flag("model", model)
    if model:
        args += ["--chips=%d" % chips, "--context=%d" % context, "--position=%d" % position, "--weights=" + weights]
    label = "//%s:%s" % (native.package_name(), name)
    native.sh_test(
        name = name,
        srcs = ["//tools:golden_test.sh"],
        args = ["$(rootpath //tools:schedule_text)", "$(rootpath %s)" % golden, label + ".update"] + args,
        data = ["//tools:schedule_text", golden],
        size = size,
        tags = tags + ["tsp_golden"],
        **kwargs
    )
    native.sh_binary(
        name = name + ".update",
        srcs = ["//tools:golden_update.sh"],
        args = ["$(rootpath //tools:schedule_text)", "%s/%s" % (native.package_name(), golden)] + args,
        data = ["//tools:schedule_text"],
        tags = ["manual"],
    )

def tsp_assembly_test(name, program, inputs = {}, expected = {}, chip = "", size = "small", tags = [], **kwargs):
    """Runs a hand-written `.tsp` program with input data files and compares SRAM with expected files.

    inputs and expected map "SLICE:ADDRESS" to files of hex bytes (whole 320-byte vectors for inputs).
    """
    args = ["--program=$(rootpath %s)" % program]
    data = ["//tools:asm_check", program]
    if chip:
        args.append("--chip=$(rootpath %s)" % chip)
        data.append(chip)
    # The checker's list flags take comma-separated items.
    if inputs:
        args.append("--input=" + ",".join(["%s=$(rootpath %s)" % (where, f) for where, f in inputs.items()]))
        data += inputs.values()
    if expected:
        args.append("--expect=" + ",".join(["%s=$(rootpath %s)" % (where, f) for where, f in expected.items()]))
        data += expected.values()
    native.sh_test(
        name = name,
        srcs = ["//tools:exec_test.sh"],
        args = ["$(rootpath //tools:asm_check)"] + args,
        data = data,
        size = size,
        tags = tags + ["tsp_assembly"],
        **kwargs
    )

def tsp_program(name, kernel = "", model = "", chips = 1, context = 64, position = 0, weights = "int8",
                system = _SYSTEM, **kwargs):
    """Compiles a kernel or a model's decode step into `<name>.pb` (a binary tsp.isa.SystemProgram)
    and `<name>.tsp` (its text form), as build outputs for other rules and tools."""
    args = "--kernel=%s" % kernel if kernel else "--model=%s --chips=%d --context=%d --position=%d --weights=%s --system=$(location %s)" % (
        model, chips, context, position, weights, system)
    native.genrule(
        name = name,
        srcs = [] if kernel else [system],
        outs = [name + ".pb", name + ".tsp"],
        cmd = "$(location //tools:schedule_text) %s --out=$(location %s.pb) > $(location %s.tsp)" % (args, name, name),
        tools = ["//tools:schedule_text"],
        **kwargs
    )
