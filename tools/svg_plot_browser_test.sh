#!/usr/bin/env bash
# The plan and compare plots as a browser draws them: headless Chromium
# (Debian's chromium, installed by tools/setup.sh) lays out each SVG, and a
# script measures every text's box: none may overlap another or leave the
# picture; every colour a point is drawn in must have its legend entry; the
# plan's x axis must reach the largest chip count asked for.
set -u
tsp="tools/tsp"
fail() { echo "FAIL: $*"; exit 1; }
command -v chromium > /dev/null || fail "chromium is not installed (bash tools/setup.sh installs it)"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export HOME="${tmp}"
"${tsp}" plan --model=tiny_dense --chips=8:96:8 --context=64 --prompt_tokens=4 --no_emulate \
    --plot="${tmp}/plan.svg" > /dev/null 2>&1 || fail "tsp plan exited $?"
"${tsp}" plan --model=tiny_wide --chips=8,64,256 --context=128 --prompt_tokens=4 --no_emulate \
    --plot="${tmp}/plan_wide.svg" > /dev/null 2>&1 || fail "tsp plan (tiny_wide) exited $?"
"${tsp}" compare --model=tiny_dense --chips=8,16 --input_tokens=32 --output_tokens=8 \
    --plot="${tmp}/compare.svg" > /dev/null 2>&1 || fail "tsp compare exited $?"
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage)
check() {  # check NAME SVG MIN_X_TICK
  local name="$1" svg="$2" min_tick="$3" page="${tmp}/$1.html"
  {
    echo '<!DOCTYPE html><html><body style="margin:0">'
    cat "${svg}"
    cat <<'SCRIPT'
<script>
const problems = [];
const svg = document.querySelector("svg"), frame = svg.getBoundingClientRect();
const texts = [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()])
                                               .filter(([, r]) => r.width > 0);
const slack = 0.5;
for (const [text, r] of texts) {
  if (r.left < frame.left - slack || r.right > frame.right + slack || r.top < frame.top - slack ||
      r.bottom > frame.bottom + slack) problems.push("outside the picture: '" + text + "'");
}
for (let i = 0; i < texts.length; i++) {
  for (let j = i + 1; j < texts.length; j++) {
    const [a, ra] = texts[i], [b, rb] = texts[j];
    const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
    const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
    if (w > slack && h > slack) problems.push("'" + a + "' overlaps '" + b + "'");
  }
}
// Every colour of a point has a legend circle (not a point) of that fill.
const legend = new Set([...svg.querySelectorAll("circle:not(.point)")].map(c => c.getAttribute("fill")));
for (const c of svg.querySelectorAll("circle.point")) {
  if (!legend.has(c.getAttribute("stroke"))) problems.push("no legend for " + c.getAttribute("stroke"));
}
const ticks = [...svg.querySelectorAll("text.xtick")].map(t => parseFloat(t.textContent.replace("k", "e3")
                                                                                      .replace("M", "e6")));
document.body.dataset.maxTick = Math.max(...ticks);
document.body.dataset.texts = texts.length;
document.body.dataset.labels = svg.querySelectorAll("text.label").length;
document.body.dataset.problems = problems.length ? problems.slice(0, 5).join("; ") : "none";
</script></body></html>
SCRIPT
  } > "${page}"
  timeout 120 chromium "${flags[@]}" --user-data-dir="${tmp}/profile_${name}" --dump-dom "file://${page}" \
      > "${tmp}/${name}.dom" 2> "${tmp}/${name}.log" || fail "chromium exited $? on ${name}"
  local problems texts labels max_tick
  problems="$(grep -o 'data-problems="[^"]*"' "${tmp}/${name}.dom")"
  texts="$(grep -o 'data-texts="[0-9]*"' "${tmp}/${name}.dom" | grep -o '[0-9]*')"
  labels="$(grep -o 'data-labels="[0-9]*"' "${tmp}/${name}.dom" | grep -o '[0-9]*')"
  max_tick="$(grep -o 'data-max-tick="[0-9.e+]*"' "${tmp}/${name}.dom" | grep -o '[0-9][0-9.e+]*')"
  [[ "${problems}" == 'data-problems="none"' ]] || fail "${name}: ${problems}"
  [[ -n "${texts}" && "${texts}" -gt 10 ]] || fail "${name}: only ${texts:-no} texts measured"
  [[ -n "${labels}" && "${labels}" -ge 1 ]] || fail "${name}: no point is labelled"
  awk -v t="${max_tick}" -v m="${min_tick}" 'BEGIN { exit !(t >= m) }' ||
      fail "${name}: the axis reaches ${max_tick}, not ${min_tick}"
  echo "ok: ${name}: ${texts} texts (${labels} point labels), none overlapping or outside, axis to ${max_tick}"
}
check plan "${tmp}/plan.svg" 96
check plan_wide "${tmp}/plan_wide.svg" 256
check compare "${tmp}/compare.svg" 0
echo PASS
