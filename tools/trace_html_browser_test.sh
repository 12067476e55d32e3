#!/usr/bin/env bash
# The trace page in a real browser: tsp trace writes the HTML of a tiny
# model's step; headless Chromium (Debian's chromium, installed by
# tools/setup.sh) loads it from the file alone (no network), the page must
# render every view and report no script error, and a screenshot is kept
# (test.outputs/trace.png in the test's undeclared outputs).
set -u
tsp="tools/tsp"
fail() { echo "FAIL: $*"; exit 1; }
command -v chromium > /dev/null || fail "chromium is not installed (bash tools/setup.sh installs it)"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
page="${tmp}/trace.html"
"${tsp}" trace --model=tiny_dense --chips=8 --context=64 --out="${page}" || fail "tsp trace exited $?"
grep -q "<script src=\|<link \|https\?://" "${page}" && fail "the page refers to something outside itself"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage)
export HOME="${tmp}"
timeout 120 chromium "${flags[@]}" --user-data-dir="${tmp}/profile1" --enable-logging=stderr --v=0 \
    --dump-dom "file://${page}" > "${tmp}/dom.html" 2> "${tmp}/chromium.log" || fail "chromium exited $?"
grep -q 'data-rendered="yes"' "${tmp}/dom.html" || fail "the page did not finish rendering"
grep -q 'data-errors=' "${tmp}/dom.html" && fail "script error: $(grep -o 'data-errors="[^"]*"' "${tmp}/dom.html")"
grep -qi "uncaught" "${tmp}/chromium.log" && fail "console error: $(grep -i uncaught "${tmp}/chromium.log" | head -3)"
for id in summary heatmap wavefront chipview critical; do
  grep -q "id=\"${id}\"" "${tmp}/dom.html" || fail "no #${id} in the page"
done
grep -q "<li>stage 1: cycles" "${tmp}/dom.html" || fail "the critical path lists no stages"
grep -q "MXM busy" "${tmp}/dom.html" || fail "the summary has no utilization"
# A legend for every colour: the wavefront's users (tiny_dense on 8 chips: 2
# stages, 2 users), the heatmap's scale and critical ticks, the chip view's.
users="$(grep -o '<div class="legend" id="wavelegend">.*</div>' "${tmp}/dom.html" | grep -o 'user [0-9]*' | sort -u | wc -l)"
[[ "${users}" == 2 ]] || fail "the wavefront's legend names ${users} users, not 2"
grep -q "the chip that ends a stage (critical path)" "${tmp}/dom.html" || fail "the heatmap's red ticks have no legend"
grep -q 'id="chiplegend"><span class="key">' "${tmp}/dom.html" || fail "the chip view has no legend"
# One time unit across the views.
units="$(grep -o 'data-time-unit="[a-z]*"' "${tmp}/dom.html" | sort -u)"
[[ "${units}" == 'data-time-unit="us"' ]] || fail "the views' time units differ: ${units}"
grep -q ' cyc"' "${page}" && fail "a view still labels time in cycles"
shots="${TEST_UNDECLARED_OUTPUTS_DIR:-${tmp}}"
timeout 120 chromium "${flags[@]}" --user-data-dir="${tmp}/profile2" --window-size=1200,1400 \
    --screenshot="${shots}/trace.png" "file://${page}" > /dev/null 2>&1 || fail "screenshot: chromium exited $?"
size=$(stat -c %s "${shots}/trace.png")
((size > 20000)) || fail "the screenshot is only ${size} bytes"
echo PASS
