#include "tools/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

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

std::string RenderSvg(const Plot& plot) {
  const int panels = static_cast<int>(std::max<size_t>(1, plot.panels.size()));
  const int height = kTop + panels * plot.panel_height + (panels - 1) * kGap + kBottom;
  const int plot_width = plot.width - kLeft - kRight;
  Extent x_extent;
  for (const PlotPanel& panel : plot.panels) x_extent.Add(panel.series, &PlotPoint::x);
  const Axis x_axis = MakeAxis(x_extent.low(), x_extent.high(), plot.log_x, !plot.log_x);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"DejaVu Sans, Arial, sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      plot.width, height, plot.width, height);
  absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"28\" font-size=\"20\" font-weight=\"bold\">%s</text>\n",
                                        kLeft, Escape(plot.title)));
  if (!plot.subtitle.empty()) {
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"50\" font-size=\"13\" fill=\"#444\">%s</text>\n", kLeft,
                                          Escape(plot.subtitle)));
  }
  for (int k = 0; k < static_cast<int>(plot.panels.size()); ++k) {
    const PlotPanel& panel = plot.panels[k];
    const int top = kTop + k * (plot.panel_height + kGap);
    const int bottom = top + plot.panel_height;
    Extent y_extent;
    y_extent.Add(panel.series, &PlotPoint::y);
    const Axis y_axis = MakeAxis(y_extent.low(), y_extent.high(), panel.log_y, !panel.log_y);
    auto px = [&](double x) { return kLeft + x_axis.Fraction(x) * plot_width; };
    auto py = [&](double y) { return bottom - y_axis.Fraction(y) * plot.panel_height; };
    absl::StrAppend(&svg, "<g class=\"panel\">\n");
    absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" "
                                          "stroke=\"#888\"/>\n",
                                          kLeft, top, plot_width, plot.panel_height));
    for (double t : y_axis.ticks) {
      const double y = py(t);
      absl::StrAppend(&svg, absl::StrFormat("<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n"
                                            "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%s</text>\n",
                                            kLeft, y, kLeft + plot_width, y, kLeft - 6, y + 4, Number(t)));
    }
    for (double t : x_axis.ticks) {
      const double x = px(t);
      absl::StrAppend(&svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e0e0e0\"/>\n"
                                            "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%s</text>\n",
                                            x, top, x, bottom, x, bottom + 16, Number(t)));
    }
    absl::StrAppend(&svg, absl::StrFormat("<text transform=\"translate(%d,%d) rotate(-90)\" font-size=\"14\" "
                                          "text-anchor=\"middle\">%s</text>\n",
                                          22, (top + bottom) / 2, Escape(panel.y_label)));
    if (k + 1 == static_cast<int>(plot.panels.size())) {
      absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"%d\" font-size=\"14\" text-anchor=\"middle\">%s</text>\n",
                                            kLeft + plot_width / 2, bottom + 42, Escape(plot.x_label)));
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
        absl::StrAppend(&svg, absl::StrFormat(
                                  "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" stroke=\"%s\" "
                                  "stroke-width=\"1.5\"><title>%s: %s, %s</title></circle>\n",
                                  px(p.x), py(p.y), p.highlighted ? 6 : 4, p.highlighted ? series.color : "white",
                                  series.color, Escape(series.name), Number(p.x), Number(p.y)));
        if (!p.label.empty()) {
          absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#222\">%s</text>\n",
                                                px(p.x) + 8, py(p.y) - 8, Escape(p.label)));
        }
      }
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  // Legend: series of the first panel, then what a filled point means.
  const int legend_x = kLeft + plot_width + 20;
  int legend_y = kTop + 10;
  std::vector<std::string> named;
  for (const PlotPanel& panel : plot.panels) {
    for (const PlotSeries& series : panel.series) {
      if (series.points.empty() || std::find(named.begin(), named.end(), series.name) != named.end()) continue;
      named.push_back(series.name);
      absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"%s\"/>"
                                            "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n",
                                            legend_x + 6, legend_y, series.color, legend_x + 18, legend_y + 4,
                                            Escape(series.name)));
      legend_y += 22;
    }
  }
  if (!plot.highlight_meaning.empty()) {
    legend_y += 8;
    absl::StrAppend(&svg, absl::StrFormat("<circle cx=\"%d\" cy=\"%d\" r=\"6\" fill=\"#555\"/>"
                                          "<text x=\"%d\" y=\"%d\" font-size=\"12\">%s</text>\n"
                                          "<circle cx=\"%d\" cy=\"%d\" r=\"4\" fill=\"white\" stroke=\"#555\" "
                                          "stroke-width=\"1.5\"/><text x=\"%d\" y=\"%d\" font-size=\"12\">other</text>\n",
                                          legend_x + 6, legend_y, legend_x + 18, legend_y + 4,
                                          Escape(plot.highlight_meaning), legend_x + 6, legend_y + 22, legend_x + 18,
                                          legend_y + 26));
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
