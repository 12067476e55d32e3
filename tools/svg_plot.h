#ifndef TSP_TOOLS_SVG_PLOT_H_
#define TSP_TOOLS_SVG_PLOT_H_

// A small, dependency-free SVG chart: one or more panels stacked over a
// shared x axis, each with labelled axes (units in the labels), tick marks
// at 1-2-5 steps, series of points (optionally joined), highlighted points
// drawn filled and larger, and a legend of every colour. Titles wrap to the
// width; a point's label goes beside it where it meets no other text, mark
// or the frame's edge (highlighted points first), or is left to the point's
// tooltip. Self-contained: no scripts, fonts or links.

#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace tsp::tools {

struct PlotPoint {
  double x = 0;
  double y = 0;
  bool highlighted = false;  // E.g. on the Pareto front.
  std::string label;         // Drawn beside the point when not empty.
};

struct PlotSeries {
  std::string name;
  std::string color;  // Any SVG colour, e.g. "#1f77b4".
  bool joined = false;  // Draw a line through the highlighted points, in x order.
  std::vector<PlotPoint> points;
};

struct PlotPanel {
  std::string y_label;
  bool log_y = false;
  std::vector<PlotSeries> series;
};

struct Plot {
  std::string title;
  std::string subtitle;
  std::string x_label;
  bool log_x = false;
  // The x axis spans at least this range (NaN: the points' own), e.g. the
  // chip counts a plan was asked for.
  double x_low = std::numeric_limits<double>::quiet_NaN();
  double x_high = std::numeric_limits<double>::quiet_NaN();
  std::string highlight_meaning;  // Legend text for filled points, e.g. "Pareto front".
  std::vector<PlotPanel> panels;
  int width = 960;
  int panel_height = 360;
};

std::string RenderSvg(const Plot& plot);

// Writes a rendered plot to `path`; the error names the file.
absl::Status WriteSvgFile(const std::string& path, const std::string& svg);

}  // namespace tsp::tools

#endif  // TSP_TOOLS_SVG_PLOT_H_
