#include "tools/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace tsp::tools {
namespace {

constexpr int kLeft = 90;
constexpr int kRight = 250;  // Room for the legend.
constexpr int kTop = 70;
constexpr int kGap = 60;
constexpr int kBottom = 60;

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string Number(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 1e6) return absl::StrFormat("%gM", v / 1e6);
  if (a >= 1e4) return absl::StrFormat("%gk", v / 1e3);
  return absl::StrFormat("%g", v);
}

struct Axis {
  double low = 0;
  double high = 1;
  bool log = false;
  std::vector<double> ticks;

  double Fraction(double v) const {
    if (log) return (std::log10(v) - std::log10(low)) / (std::log10(high) - std::log10(low));
    return (v - low) / (high - low);
  }
};

// Bounds with a margin and ticks at 1, 2 or 5 times a power of ten (or at
// powers of ten on a log scale).
Axis MakeAxis(double low, double high, bool log, bool from_zero) {
  Axis axis;
  axis.log = log && low > 0;
  if (!(low < high)) {
    low = low == 0 ? 0 : low * 0.9;
    high = high == 0 ? 1 : high * 1.1;
  }
  if (axis.log) {
    axis.low = std::pow(10, std::floor(std::log10(low)));
    axis.high = std::pow(10, std::ceil(std::log10(high)));
    for (double t = axis.low; t <= axis.high * 1.0001; t *= 10) axis.ticks.push_back(t);
    return axis;
  }
  if (from_zero) low = std::min(low, 0.0);
  const double raw = (high - low) / 6;
  const double power = std::pow(10, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * power) {
      step = m * power;
      break;
    }
  }
  axis.low = std::floor(low / step) * step;
  axis.high = std::ceil(high / step) * step;
  if (axis.high - high < step * 0.05) axis.high += step;  // Room above the highest point.
  for (double t = axis.low; t <= axis.high + step * 1e-6; t += step) axis.ticks.push_back(t);
  return axis;
}

// The smallest and largest of one coordinate over series of points (0 .. 1
// when there are none).
class Extent {
 public:
  void Add(const std::vector<PlotSeries>& series, double PlotPoint::*coordinate) {
    for (const PlotSeries& s : series) {
      for (const PlotPoint& p : s.points) {
        low_ = std::min(low_, p.*coordinate);
        high_ = std::max(high_, p.*coordinate);
      }
    }
  }
  double low() const { return low_ <= high_ ? low_ : 0; }
  double high() const { return low_ <= high_ ? high_ : 1; }

 private:
  double low_ = std::numeric_limits<double>::max();
  double high_ = std::numeric_limits<double>::lowest();
};

}  // namespace

namespace {

// What a piece of text or a mark covers, in pixels.
struct Box {
  double x0, y0, x1, y1;
  bool Overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  bool Inside(const Box& o) const { return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1; }
};

// A text's width at `size` pixels, as wide as DejaVu Sans (the widest of the
// fonts named) sets it: 0.64 em a character covers its digits and most
// letters (tools/svg_plot_browser_test.sh measures the real boxes).
double TextWidth(const std::string& text, double size) {
  int64_t characters = 0;
  for (unsigned char c : text) characters += (c & 0xC0) != 0x80 ? 1 : 0;  // UTF-8 lead bytes.
  return 0.64 * size * static_cast<double>(characters);
}

enum class Anchor { kStart, kMiddle, kEnd };

Box TextBox(double x, double baseline, double size, Anchor anchor, const std::string& text) {
  const double w = TextWidth(text, size);
  const double left = anchor == Anchor::kStart ? x : anchor == Anchor::kMiddle ? x - w / 2 : x - w;
  return {left, baseline - 0.95 * size, left + w, baseline + 0.3 * size};
}

// `text` in lines no wider than `width` at `size`, broken at spaces.
std::vector<std::string> Wrap(const std::string& text, double size, double width) {
  std::vector<std::string> lines;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    const std::string candidate = line.empty() ? std::string(word) : absl::StrCat(line, " ", word);
    if (!line.empty() && TextWidth(candidate, size) > width) {
      lines.push_back(line);
      line = std::string(word);
    } else {
      line = candidate;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

// The picture's text and marks so far, so that labels go where nothing is.
class Occupied {
 public:
  void Take(const Box& box) { boxes_.push_back(box); }
  bool Free(const Box& box) const {
    for (const Box& b : boxes_) {
      if (b.Overlaps(box)) return false;
    }
    return true;
  }

 private:
  std::vector<Box> boxes_;
};

const char* AnchorName(Anchor anchor) {
  switch (anchor) {
    case Anchor::kStart: return "start";
    case Anchor::kMiddle: return "middle";
    case Anchor::kEnd: return "end";
  }
  return "start";
}

// A <text> element, its box taken.
std::string Text(Occupied& occupied, double x, double baseline, double size, Anchor anchor, const std::string& text,
                 const std::string& style = "") {
  occupied.Take(TextBox(x, baseline, size, anchor, text));
  return absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" font-size=\"%g\" text-anchor=\"%s\"%s>%s</text>\n", x, baseline,
                         size, AnchorName(anchor), style.empty() ? "" : absl::StrCat(" ", style), Escape(text));
}

}  // namespace

std::string RenderSvg(const Plot& plot) {
  const int panels = static_cast<int>(std::max<size_t>(1, plot.panels.size()));
  const int plot_width = plot.width - kLeft - kRight;
  const std::vector<std::string> title = Wrap(plot.title, 20 * 1.12, plot.width - kLeft - 10);
  const std::vector<std::string> subtitle = Wrap(plot.subtitle, 13, plot.width - kLeft - 10);
  const int header = 28 + 24 * static_cast<int>(title.size() - (title.empty() ? 0 : 1)) +
                     17 * static_cast<int>(subtitle.size());
  const int top_margin = std::max(kTop, header + 20);
  const int height = top_margin + panels * plot.panel_height + (panels - 1) * kGap + kBottom;
  Extent x_extent;
  for (const PlotPanel& panel : plot.panels) x_extent.Add(panel.series, &PlotPoint::x);
  // The axis spans the points and the range the caller asked to show.
  const double x_low = std::isnan(plot.x_low) ? x_extent.low() : std::min(plot.x_low, x_extent.low());
  const double x_high = std::isnan(plot.x_high) ? x_extent.high() : std::max(plot.x_high, x_extent.high());
  const Axis x_axis = MakeAxis(x_low, x_high, plot.log_x, !plot.log_x);
  Occupied occupied;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"DejaVu Sans, Arial, sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      plot.width, height, plot.width, height);
  double baseline = 28;
  for (const std::string& line : title) {
    // Bold sets wider: its box is taken at the size of the wider letters.
    occupied.Take(TextBox(kLeft, baseline, 20 * 1.12, Anchor::kStart, line));
    absl::StrAppend(&svg, Text(occupied, kLeft, baseline, 20, Anchor::kStart, line, "font-weight=\"bold\""));
    baseline += 24;
  }
  baseline -= 2;
  for (const std::string& line : subtitle) {
    absl::StrAppend(&svg, Text(occupied, kLeft, baseline, 13, Anchor::kStart, line, "fill=\"#444\""));
    baseline += 17;
  }
  // Panels: frames, grids, ticks and axis labels first; points after; their
  // labels last, where nothing else is.
  struct PendingLabel {
    double cx, cy, r;
    Box frame;
    std::string text;
    bool highlighted;
  };
  std::vector<PendingLabel> labels;
  std::string marks;
  for (int k = 0; k < static_cast<int>(plot.panels.size()); ++k) {
    const PlotPanel& panel = plot.panels[k];
    const int top = top_margin + k * (plot.panel_height + kGap);
    const int bottom = top + plot.panel_height;
    Extent y_extent;
    y_extent.Add(panel.series, &PlotPoint::y);
    const Axis y_axis = MakeAxis(y_extent.low(), y_extent.high(), panel.log_y, !panel.log_y);
    auto px = [&](double x) { return kLeft + x_axis.Fraction(x) * plot_width; };
    auto py = [&](double y) { return bottom - y_axis.Fraction(y) * plot.panel_height; };
    const Box frame{static_cast<double>(kLeft), static_cast<double>(top), static_cast<double>(kLeft + plot_width),
                    static_cast<double>(bottom)};
    absl::StrAppend(&svg, "<g class=\"panel\">\n");
    absl::StrAppend(&svg, absl::StrFormat("<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                          "fill=\"#fafafa\" stroke=\"#888\"/>\n",
                                          kLeft, top, plot_width, plot.panel_height));
    for (double t : y_axis.ticks) {
      const double y = py(t);
      absl::StrAppend(&svg, absl::StrFormat("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                                            kLeft, y, kLeft + plot_width, y),
                      Text(occupied, kLeft - 6, y + 4, 12, Anchor::kEnd, Number(t)));
    }
    for (double t : x_axis.ticks) {
      const double x = px(t);
      absl::StrAppend(&svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>\n",
                                            x, top, x, bottom));
      // Low enough to clear the lowest y tick's label; a label that would
      // meet another (ticks too dense for their text) is left out.
      if (occupied.Free(TextBox(x, bottom + 20, 12, Anchor::kMiddle, Number(t)))) {
        absl::StrAppend(&svg, Text(occupied, x, bottom + 20, 12, Anchor::kMiddle, Number(t), "class=\"xtick\""));
      }
    }
    // The y label, turned: its box stands upright beside the ticks.
    const double y_label_width = TextWidth(panel.y_label, 14);
    occupied.Take({22 - 14, (top + bottom) / 2.0 - y_label_width / 2, 22 + 4, (top + bottom) / 2.0 + y_label_width / 2});
    absl::StrAppend(&svg, absl::StrFormat("<text transform=\"translate(%d,%d) rotate(-90)\" font-size=\"14\" "
                                          "text-anchor=\"middle\">%s</text>\n",
                                          22, (top + bottom) / 2, Escape(panel.y_label)));
    if (k + 1 == static_cast<int>(plot.panels.size())) {
      absl::StrAppend(&svg, Text(occupied, kLeft + plot_width / 2.0, bottom + 42, 14, Anchor::kMiddle, plot.x_label));
    }
    for (const PlotSeries& series : panel.series) {
      if (series.joined) {
        std::vector<PlotPoint> front;
        for (const PlotPoint& p : series.points) {
          if (p.highlighted) front.push_back(p);
        }
        std::sort(front.begin(), front.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
        if (front.size() > 1) {
          std::string points;
          for (const PlotPoint& p : front) absl::StrAppend(&points, absl::StrFormat("%.1f,%.1f ", px(p.x), py(p.y)));
          absl::StrAppend(&svg, absl::StrFormat("<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" "
                                                "stroke-width=\"2\" stroke-linejoin=\"round\"/>\n",
                                                points, series.color));
        }
      }
      for (const PlotPoint& p : series.points) {
        const int r = p.highlighted ? 6 : 4;
        occupied.Take({px(p.x) - r, py(p.y) - r, px(p.x) + r, py(p.y) + r});
        absl::StrAppend(&svg, absl::StrFormat(
                                  "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" stroke=\"%s\" "
                                  "stroke-width=\"1.5\"><title>%s: %s, %s%s</title></circle>\n",
                                  px(p.x), py(p.y), r, p.highlighted ? series.color : "white", series.color,
                                  Escape(series.name), Number(p.x), Number(p.y),
                                  p.label.empty() ? "" : absl::StrCat(" (", Escape(p.label), ")")));
        if (!p.label.empty()) labels.push_back({px(p.x), py(p.y), static_cast<double>(r), frame, p.label, p.highlighted});
      }
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  // Legend: every series' colour, then what a filled point means.
  const int legend_x = kLeft + plot_width + 20;
  int legend_y = top_margin + 10;
  std::vector<std::string> named;
  for (const PlotPanel& panel : plot.panels) {
    for (const PlotSeries& series : panel.series) {
      if (series.points.empty() || std::find(named.begin(), named.end(), series.name) != named.end()) continue;
      named.push_back(series.name);
      absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/>", legend_x + 6, legend_y,
                                            series.color),
                      Text(occupied, legend_x + 18, legend_y + 4, 13, Anchor::kStart, series.name));
      legend_y += 22;
    }
  }
  if (!plot.highlight_meaning.empty()) {
    legend_y += 8;
    absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"#555\"/>", legend_x + 6, legend_y),
                    Text(occupied, legend_x + 18, legend_y + 4, 12, Anchor::kStart, plot.highlight_meaning),
                    absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"white\" stroke=\"#555\" "
                                    "stroke-width=\"1.5\"/>",
                                    legend_x + 6, legend_y + 22),
                    Text(occupied, legend_x + 18, legend_y + 26, 12, Anchor::kStart, "other"));
  }
  // Point labels, highlighted points' first: beside the point where the
  // label meets no text, mark or frame edge; a label with no such place is
  // left to the point's tooltip.
  std::stable_sort(labels.begin(), labels.end(),
                   [](const PendingLabel& a, const PendingLabel& b) { return a.highlighted && !b.highlighted; });
  for (const PendingLabel& l : labels) {
    const double w = TextWidth(l.text, 11);
    const double gap = l.r + 3;
    const std::pair<double, double> places[] = {{gap, -gap},          {gap, gap + 8},   {-gap - w, -gap},
                                                {-gap - w, gap + 8}, {-w / 2, -gap - 2}, {-w / 2, gap + 10}};
    for (const auto& [dx, dy] : places) {
      const Box box = TextBox(l.cx + dx, l.cy + dy, 11, Anchor::kStart, l.text);
      if (!box.Inside(l.frame) || !occupied.Free(box)) continue;
      absl::StrAppend(&svg, Text(occupied, l.cx + dx, l.cy + dy, 11, Anchor::kStart, l.text,
                                 "class=\"label\" fill=\"#222\""));
      break;
    }
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

absl::Status WriteSvgFile(const std::string& path, const std::string& svg) {
  std::ofstream file(path);
  file << svg;
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace tsp::tools
