#!/usr/bin/env bash
# Runs one libFuzzer target over its checked-in corpus for a while:
#   bash tools/fuzz.sh spec|assembler|program|emulator [SECONDS, default 600]
# New inputs that reach new code are merged (minimized) into
# tests/fuzz/corpus/TARGET, which the corpus replay test runs in CI; a crash
# is written to tests/fuzz/corpus/TARGET/crash-* (keep it: it is then a
# regression test) and the script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: tools/fuzz.sh spec|assembler|program|emulator [seconds]}"
seconds="${2:-600}"
corpus="tests/fuzz/corpus/${target}"
[[ -d "${corpus}" ]] || { echo "no corpus for '${target}'" >&2; exit 2; }
# clang and its fuzzer runtime, from Debian (not needed by the normal build).
for package in clang libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "install ok installed"; then
    SUDO=""; [[ "$(id -u)" == 0 ]] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -q --no-install-recommends "${package}"
  fi
done
bazel build --config=fuzz "//tests/fuzz:${target}_fuzzer"
fuzzer="$(bazel info --config=fuzz bazel-bin)/tests/fuzz/${target}_fuzzer"
work="$(mktemp -d)"
cp "${corpus}"/* "${work}/"
status=0
"${fuzzer}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
  -artifact_prefix="${corpus}/" "${work}" || status=$?
# Keep what covers new ground, minimized.
"${fuzzer}" -merge=1 "${corpus}" "${work}" > /dev/null 2>&1 || true
rm -rf "${work}"
exit "${status}"
