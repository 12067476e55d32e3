#include "pipeline/trace_html.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace tsp::pipeline {
namespace {

constexpr char kLevels[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";  // 62 levels.
constexpr isa::SliceKind kKinds[] = {isa::SLICE_MXM, isa::SLICE_VXM, isa::SLICE_MEM, isa::SLICE_SXM,
                                     isa::SLICE_C2C};

// The page's script and style; the data object comes before it.
constexpr char kPage[] = R"HTML(
<style>
body{font-family:DejaVu Sans,Arial,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:18px 0 6px}
table.summary td{padding:2px 12px 2px 0;font-size:13px} .note{color:#555;font-size:12px}
canvas{border:1px solid #bbb;display:block} #tip{position:fixed;pointer-events:none;background:#ffffe8;
border:1px solid #999;padding:3px 6px;font-size:12px;display:none;max-width:600px;white-space:pre}
#critical li{font-size:12px} select{font-size:13px}
.legend{font-size:12px;margin:4px 0 0} .legend span.key{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #999}
</style>
<h1 id="title"></h1>
<table class="summary" id="summary"></table>
<h2>System: chips x time <select id="unit"></select> <span class="note">share of the unit's queues busy per
time bin, darkest = <span id="heatmax"></span>; click a chip's row for its chip view; red ticks: the chip that
ends each stage (the critical path)</span></h2>
<canvas id="heatmap" data-time-unit="us"></canvas>
<div class="legend" id="heatlegend"></div>
<h2>Pipeline wavefront: users' tokens through the stages</h2>
<canvas id="wavefront" data-time-unit="us"></canvas>
<div class="legend" id="wavelegend"></div>
<h2>Chip view: <span id="chipname"></span> <span class="note">wheel: zoom, drag: pan, hover: instruction</span></h2>
<canvas id="chipview" data-time-unit="us"></canvas>
<div class="legend" id="chiplegend"></div>
<h2>Critical path</h2>
<ol id="critical"></ol>
<div id="tip"></div>
<script>
"use strict";
window.onerror = function(message) { document.body.dataset.errors = String(message); };
(function() {
const D = DATA, W = 1100;
const $ = id => document.getElementById(id);
const us = c => (c / D.clock * 1e6);
// Every view's time axis in microseconds, as many decimals as its span needs.
const usText = (c, span) => us(c).toFixed(Math.max(0, Math.min(4, Math.ceil(-Math.log10(us(span) / 4 + 1e-12)) + 1))) +
                            " us";
// A legend: [colour, text] pairs.
const legend = (id, keys) => keys.forEach(([c, text]) => { const k = document.createElement("span");
  k.className = "key"; const i = document.createElement("i"); i.style.background = c; k.appendChild(i);
  k.appendChild(document.createTextNode(text)); $(id).appendChild(k); });
$("title").textContent = D.title;
const rows = [["cycles", D.cycles.toLocaleString() + " (" + us(D.cycles).toFixed(1) + " us at " +
               (D.clock / 1e6).toFixed(0) + " MHz)"],
              ["tokens/s per user (chips only, no host transfer)", D.tokensPerS.toFixed(1)], ["chips (with forwarders)", D.chips.length],
              ["stages", D.stages.length]];
D.kinds.forEach((k, i) => rows.push([k + " busy", (100 * D.util[i]).toFixed(2) + "% of its queue-cycles"]));
rows.forEach(r => { const tr = $("summary").insertRow(); tr.insertCell().textContent = r[0];
                    tr.insertCell().textContent = r[1]; });
D.kinds.forEach((k, i) => { const o = document.createElement("option"); o.value = i; o.textContent = k;
                            $("unit").appendChild(o); });
const level = ch => { const v = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".indexOf(ch);
                      return v < 0 ? 0 : v / 61; };
const color = f => { const l = Math.round(255 - 215 * Math.sqrt(f)); return "rgb(" + l + "," + l + "," +
                     Math.round(255 - 120 * Math.sqrt(f)) + ")"; };
const rowH = Math.max(1, Math.min(12, Math.floor(640 / D.chips.length)));
const heat = $("heatmap"), left = 70;
heat.width = W; heat.height = D.chips.length * rowH + 24;
const binW = (W - left - 10) / D.bins;
const critical = new Set(D.stages.map(s => s.critical));
function drawHeat() {
  const g = heat.getContext("2d"), k = +$("unit").value;
  g.fillStyle = "#fff"; g.fillRect(0, 0, heat.width, heat.height);
  D.chips.forEach((chip, r) => {
    const line = D.heat[k][r];
    for (let b = 0; b < D.bins; b++) {
      const f = level(line[b]);
      if (f > 0) { g.fillStyle = color(f); g.fillRect(left + b * binW, r * rowH, Math.ceil(binW), rowH); }
    }
    if (critical.has(chip)) { g.fillStyle = "#d62728"; g.fillRect(W - 9, r * rowH, 8, Math.max(1, rowH)); }
  });
  g.fillStyle = "#222"; g.font = "11px sans-serif";
  const step = Math.max(1, Math.ceil(D.chips.length / 16));
  for (let r = 0; r < D.chips.length; r += step) g.fillText("chip " + D.chips[r], 2, r * rowH + Math.max(9, rowH));
  for (let t = 0; t <= 4; t++) g.fillText(usText(D.cycles * t / 4, D.cycles), left + t * (W - left - 60) / 4,
                                          D.chips.length * rowH + 16);
}
legend("heatlegend", [[color(0.02), "idle"], [color(0.25), "a quarter of the darkest"], [color(0.5), "half"],
                      [color(1), "the darkest bin"], ["#d62728", "the chip that ends a stage (critical path)"]]);
$("unit").onchange = drawHeat;
const showMax = () => { $("heatmax").textContent = (100 * D.heatMax[+$("unit").value]).toFixed(1) + "% busy"; };
$("unit").addEventListener("change", showMax); showMax();
drawHeat();
heat.onclick = e => { const r = Math.floor(e.offsetY / rowH); if (r >= 0 && r < D.chips.length) showChip(D.chips[r]); };
// Wavefront: a row per stage, users' token spans in colours.
const wave = $("wavefront"), stageH = Math.max(3, Math.min(14, Math.floor(320 / D.stages.length)));
wave.width = W; wave.height = D.stages.length * stageH + 24;
(function() {
  const g = wave.getContext("2d"), scale = (W - left - 10) / D.cycles;
  const end = Math.max(D.cycles, ...D.tokens.map(t => t[3]));
  const sx = (W - left - 10) / end;
  const palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];
  D.tokens.forEach(t => { g.fillStyle = palette[t[0] % palette.length];
                          g.fillRect(left + t[2] * sx, t[1] * stageH, Math.max(1, (t[3] - t[2]) * sx), stageH - 1); });
  g.fillStyle = "#222"; g.font = "11px sans-serif";
  const step = Math.max(1, Math.ceil(D.stages.length / 12));
  for (let s = 0; s < D.stages.length; s += step) g.fillText("stage " + s, 2, s * stageH + Math.max(9, stageH));
  for (let t = 0; t <= 4; t++) g.fillText(usText(end * t / 4, end), left + t * (W - left - 60) / 4,
                                          D.stages.length * stageH + 16);
  void scale;
  const users = [...new Set(D.tokens.map(t => t[0]))].sort((a, b) => a - b);
  legend("wavelegend", users.map(u => [palette[u % palette.length],
                                       "user " + u + (u === 0 ? " (traced)" : " (pipelined behind it)")]));
})();
// Critical path.
D.stages.forEach((s, i) => { const li = document.createElement("li");
  li.textContent = "stage " + i + ": cycles " + s.start.toLocaleString() + " to " + s.end.toLocaleString() +
                   ", ended by chip " + s.critical;
  $("critical").appendChild(li); });
// Chip view.
const view = $("chipview"), tip = $("tip");
let chipTracks = [], chipSlices = [], x0 = 0, x1 = D.cycles, current = -1;
function showChip(chip) {
  current = chip;
  const d = D.detail[chip];
  if (d) {
    chipTracks = d.tracks; chipSlices = d.slices.map(s => [s[0], s[1], s[2], d.texts[s[3]]]);
    $("chipname").textContent = "chip " + chip + " (every queue, instruction by instruction)";
  } else {
    const r = D.chips.indexOf(chip), bc = D.cycles / D.bins;
    chipTracks = D.kinds; chipSlices = [];
    D.kinds.forEach((k, i) => { const line = D.heat[i][r];
      for (let b = 0; b < D.bins; b++) { const f = level(line[b]);
        if (f > 0) chipSlices.push([i, b * bc, (b + 1) * bc, k + " " + (100 * f).toFixed(0) + "% busy"]); } });
    $("chipname").textContent = "chip " + chip + " (units per time bin; trace it with --trace_chips for instructions)";
  }
  const ends = D.stages.map((s, i) => s.critical === chip ? i : -1).filter(i => i >= 0);
  if (ends.length) $("chipname").textContent += "; on the critical path: it ends stage " + ends.join(", ");
  x0 = 0; x1 = D.cycles; drawChip();
}
const trackH = 12, chipLeft = 110;
function drawChip() {
  view.width = W; view.height = chipTracks.length * trackH + 24;
  const g = view.getContext("2d"), sx = (W - chipLeft - 10) / (x1 - x0);
  g.fillStyle = "#fff"; g.fillRect(0, 0, view.width, view.height);
  g.fillStyle = "#f4f4f4";
  for (let t = 0; t < chipTracks.length; t += 2) g.fillRect(chipLeft, t * trackH, W, trackH);
  chipSlices.forEach(s => { if (s[2] < x0 || s[1] > x1) return;
    g.fillStyle = "#4c72b0";
    g.fillRect(chipLeft + (s[1] - x0) * sx, s[0] * trackH + 1, Math.max(1, (s[2] - s[1]) * sx), trackH - 2); });
  g.fillStyle = "#222"; g.font = "10px sans-serif";
  chipTracks.forEach((t, i) => g.fillText(t, 2, i * trackH + 10));
  for (let t = 0; t <= 4; t++) { const c = x0 + (x1 - x0) * t / 4;
    g.fillText(usText(c, x1 - x0), chipLeft + t * (W - chipLeft - 70) / 4, chipTracks.length * trackH + 16); }
}
legend("chiplegend", [["#4c72b0", "an instruction or Repeat block (instruction detail), or the unit busy in that bin " +
                                  "(hover: its text and cycle)"]]);
view.onwheel = e => { e.preventDefault(); const sx = (W - chipLeft - 10) / (x1 - x0);
  const c = x0 + (e.offsetX - chipLeft) / sx, f = e.deltaY < 0 ? 0.8 : 1.25;
  x0 = Math.max(0, c - (c - x0) * f); x1 = Math.min(D.cycles, c + (x1 - c) * f); if (x1 - x0 < 4) x1 = x0 + 4; drawChip(); };
let drag = null;
view.onmousedown = e => { drag = [e.offsetX, x0, x1]; };
window.onmouseup = () => { drag = null; };
view.onmousemove = e => {
  const sx = (W - chipLeft - 10) / (x1 - x0);
  if (drag) { const d = (e.offsetX - drag[0]) / sx; x0 = Math.max(0, drag[1] - d); x1 = x0 + (drag[2] - drag[1]);
              drawChip(); return; }
  const c = x0 + (e.offsetX - chipLeft) / sx, t = Math.floor(e.offsetY / trackH);
  const hit = chipSlices.find(s => s[0] === t && s[1] <= c + 1 / sx && s[2] >= c - 1 / sx);
  if (hit) { tip.style.display = "block"; tip.style.left = (e.clientX + 12) + "px"; tip.style.top = (e.clientY + 12) + "px";
             tip.textContent = chipTracks[t] + " @" + Math.round(hit[1]) + "\n" + hit[3]; }
  else tip.style.display = "none";
};
view.onmouseleave = () => { tip.style.display = "none"; };
showChip(D.detailChips.length ? D.detailChips[0] : D.chips[0]);
document.body.dataset.rendered = "yes";
})();
</script>
)HTML";

}  // namespace

std::string TraceHtml(const isa::ChipModel& chip, const TraceHtmlInput& in) {
  const int bins = std::max(10, in.bins);
  const double bin_cycles = std::max<double>(1.0, static_cast<double>(in.cycles) / bins);
  std::vector<int> queues(std::size(kKinds), 0);
  for (const isa::QueueInfo& q : chip.queues()) {
    for (size_t k = 0; k < std::size(kKinds); ++k) queues[k] += chip.slices()[q.slice].kind == kKinds[k];
  }
  // Chips in order; per kind and chip, busy queue-cycles per bin.
  std::map<int, int> row;
  for (const TraceWriter::Placed& p : in.units->placed()) row.emplace(p.chip, 0);
  int r = 0;
  std::vector<int> chips;
  for (auto& [id, index] : row) {
    index = r++;
    chips.push_back(id);
  }
  std::vector<std::vector<std::vector<double>>> busy(
      std::size(kKinds), std::vector<std::vector<double>>(chips.size(), std::vector<double>(bins, 0.0)));
  std::vector<double> total(std::size(kKinds), 0.0);
  std::map<int, int64_t> chip_end;
  for (const TraceWriter::Placed& p : in.units->placed()) {
    for (const TraceWriter::Slice& s : p.summary->slices) {
      const int64_t start = s.start + p.offset, end = s.end + p.offset;
      chip_end[p.chip] = std::max(chip_end[p.chip], end);
      const auto kind = std::find(std::begin(kKinds), std::end(kKinds), static_cast<isa::SliceKind>(s.track));
      if (kind == std::end(kKinds) || end <= start) continue;
      const size_t k = kind - std::begin(kKinds);
      total[k] += static_cast<double>(s.busy);
      const double density = static_cast<double>(s.busy) / static_cast<double>(end - start);
      for (int b = static_cast<int>(start / bin_cycles); b < bins && b * bin_cycles < end; ++b) {
        const double overlap = std::min<double>(end, (b + 1) * bin_cycles) - std::max<double>(start, b * bin_cycles);
        if (overlap > 0) busy[k][row[p.chip]][b] += density * overlap;
      }
    }
  }
  std::string data = absl::StrFormat("{\"title\":%s,\"clock\":%d,\"cycles\":%d,\"tokensPerS\":%.6g,\"bins\":%d,",
                                     JsonQuoted(in.title), chip.clock_hz(), in.cycles, in.tokens_per_s_per_user, bins);
  absl::StrAppend(&data, "\"chips\":[", absl::StrJoin(chips, ","), "],\"kinds\":[");
  for (size_t k = 0; k < std::size(kKinds); ++k) absl::StrAppend(&data, k ? "," : "", JsonQuoted(TraceUnitName(kKinds[k])));
  absl::StrAppend(&data, "],\"util\":[");
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    const double capacity = static_cast<double>(in.cycles) * std::max(1, queues[k]) * std::max<size_t>(1, chips.size());
    absl::StrAppend(&data, k ? "," : "", absl::StrFormat("%.6g", total[k] / capacity));
  }
  // Each unit's shares scaled to its busiest bin (so that a sparse unit's
  // pattern shows); the page gives that bin's share.
  std::vector<double> most(std::size(kKinds), 0.0);
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    for (const auto& line : busy[k]) {
      for (double v : line) most[k] = std::max(most[k], v / (bin_cycles * std::max(1, queues[k])));
    }
  }
  absl::StrAppend(&data, "],\"heatMax\":[");
  for (size_t k = 0; k < std::size(kKinds); ++k) absl::StrAppend(&data, k ? "," : "", absl::StrFormat("%.6g", most[k]));
  absl::StrAppend(&data, "],\"heat\":[");
  for (size_t k = 0; k < std::size(kKinds); ++k) {
    absl::StrAppend(&data, k ? "," : "", "[");
    for (size_t c = 0; c < chips.size(); ++c) {
      std::string line(bins, '0');
      for (int b = 0; b < bins; ++b) {
        const double share = busy[k][c][b] / (bin_cycles * std::max(1, queues[k]));
        const double relative = most[k] > 0 ? share / most[k] : 0;
        line[b] = kLevels[std::clamp(static_cast<int>(std::ceil(relative * 61)), 0, 61)];
      }
      absl::StrAppend(&data, c ? "," : "", "\"", line, "\"");
    }
    absl::StrAppend(&data, "]");
  }
  absl::StrAppend(&data, "],\"stages\":[");
  int64_t start = 0;
  for (size_t s = 0; s < in.stage_chips.size(); ++s) {
    int critical = in.stage_chips[s].empty() ? -1 : in.stage_chips[s][0];
    for (int c : in.stage_chips[s]) {
      if (chip_end[c] > chip_end[critical]) critical = c;
    }
    int64_t first = start, end = start;
    for (const TokenSpan& t : in.tokens) {
      if (t.user == 0 && t.stage == static_cast<int>(s)) first = t.first_cycle, end = t.end_cycle;
    }
    start = end;
    absl::StrAppend(&data, s ? "," : "", absl::StrFormat("{\"start\":%d,\"end\":%d,\"critical\":%d}", first, end, critical));
  }
  absl::StrAppend(&data, "],\"tokens\":[");
  for (size_t i = 0; i < in.tokens.size(); ++i) {
    const TokenSpan& t = in.tokens[i];
    absl::StrAppend(&data, i ? "," : "", absl::StrFormat("[%d,%d,%d,%d]", t.user, t.stage, t.first_cycle, t.end_cycle));
  }
  absl::StrAppend(&data, "],\"detail\":{");
  std::vector<int> detail_chips;
  if (in.detail != nullptr) {
    std::map<int, std::vector<const TraceWriter::Placed*>> by_chip;
    for (const TraceWriter::Placed& p : in.detail->placed()) by_chip[p.chip].push_back(&p);
    bool first_chip = true;
    for (const auto& [id, placements] : by_chip) {
      detail_chips.push_back(id);
      std::map<int, int> track_index;
      std::vector<std::string> track_names;
      std::map<std::string, int> text_index;
      std::vector<std::string> texts;
      std::string slices;
      for (const TraceWriter::Placed* p : placements) {
        for (const TraceWriter::Slice& s : p->summary->slices) track_index.emplace(s.track, 0);
      }
      for (auto& [track, index] : track_index) {  // Queues in the chip's order.
        index = static_cast<int>(track_names.size());
        track_names.push_back(in.detail->TrackName(track));
      }
      for (const TraceWriter::Placed* p : placements) {
        for (const TraceWriter::Slice& s : p->summary->slices) {
          auto t = track_index.find(s.track);
          const std::string label = s.count > 1 ? absl::StrCat(s.text, "  (x", s.count, ")") : s.text;
          auto [x, fresh] = text_index.emplace(label, static_cast<int>(texts.size()));
          if (fresh) texts.push_back(label);
          absl::StrAppend(&slices, slices.empty() ? "" : ",",
                          absl::StrFormat("[%d,%d,%d,%d]", t->second, s.start + p->offset, s.end + p->offset, x->second));
        }
      }
      std::vector<std::string> quoted_tracks, quoted_texts;
      for (const std::string& n : track_names) quoted_tracks.push_back(JsonQuoted(n));
      for (const std::string& n : texts) quoted_texts.push_back(JsonQuoted(n));
      absl::StrAppend(&data, first_chip ? "" : ",", "\"", id, "\":{\"tracks\":[", absl::StrJoin(quoted_tracks, ","),
                      "],\"texts\":[", absl::StrJoin(quoted_texts, ","), "],\"slices\":[", slices, "]}");
      first_chip = false;
    }
  }
  absl::StrAppend(&data, "},\"detailChips\":[", absl::StrJoin(detail_chips, ","), "]}");
  return absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>",
                      absl::StrReplaceAll(in.title, {{"<", "&lt;"}, {"&", "&amp;"}}),
                      "</title></head><body>\n<script>const DATA = ", data, ";</script>", kPage, "</body></html>\n");
}

}  // namespace tsp::pipeline
