#include "tools/svg_plot.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tsp::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

Plot TwoPanels() {
  Plot plot;
  plot.title = "a <title> & more";
  plot.x_label = "chips";
  plot.highlight_meaning = "Pareto front";
  PlotSeries a{"int8", "#1f77b4", true, {{640, 273.3, true, "8x80"}, {1280, 200.5, false, ""}}};
  PlotSeries b{"fp16", "#d62728", false, {{1280, 150, true, ""}}};
  plot.panels = {{"per-user tokens/s", false, {a, b}}, {"aggregate tokens/s", false, {a}}};
  return plot;
}

TEST(SvgPlotTest, EveryPointDrawnHighlightedOnesFilled) {
  const std::string svg = RenderSvg(TwoPanels());
  EXPECT_EQ(Count(svg, "class=\"point\""), 5);  // 3 in the first panel, 2 in the second.
  // int8's highlighted point, once a panel, and its legend entry.
  EXPECT_EQ(Count(svg, "r=\"6\" fill=\"#1f77b4\""), 3);
  // Its other point, hollow, once a panel, and the legend's "other".
  EXPECT_EQ(Count(svg, "r=\"4\" fill=\"white\""), 3);
  EXPECT_EQ(Count(svg, "<polyline"), 0);  // One highlighted point a series: nothing to join.
  EXPECT_THAT(svg, HasSubstr(">8x80</text>"));
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2);
}

TEST(SvgPlotTest, TextIsEscapedAndAxesLabelled) {
  const std::string svg = RenderSvg(TwoPanels());
  EXPECT_THAT(svg, HasSubstr("a &lt;title&gt; &amp; more"));
  EXPECT_THAT(svg, Not(HasSubstr("<title> &")));
  EXPECT_THAT(svg, HasSubstr(">per-user tokens/s</text>"));
  EXPECT_THAT(svg, HasSubstr(">aggregate tokens/s</text>"));
  EXPECT_THAT(svg, HasSubstr(">chips</text>"));
  EXPECT_THAT(svg, HasSubstr(">Pareto front</text>"));
  // No scripts, no links: the picture stands alone.
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("href")));
}

// Linear ticks from zero at 1, 2 or 5 times a power of ten, about six to an
// axis: 0 .. 1,280 chips is a sixth of 213, so steps of 500 up to 1,500; 0
// .. 273.3 tokens/s steps of 50 up to 300. Log ticks at powers of ten.
TEST(SvgPlotTest, TicksFallOnRoundNumbers) {
  const std::string svg = RenderSvg(TwoPanels());
  for (const char* tick : {">0</text>", ">500</text>", ">1000</text>", ">1500</text>", ">50</text>", ">300</text>"}) {
    EXPECT_THAT(svg, HasSubstr(tick));
  }
  EXPECT_THAT(svg, Not(HasSubstr(">1400</text>")));
  EXPECT_THAT(svg, Not(HasSubstr(">350</text>")));
  Plot log = TwoPanels();
  log.log_x = true;
  log.panels[0].log_y = true;
  const std::string log_svg = RenderSvg(log);
  EXPECT_THAT(log_svg, HasSubstr(">100</text>"));
  EXPECT_THAT(log_svg, HasSubstr(">10k</text>"));
  EXPECT_THAT(log_svg, Not(HasSubstr(">500</text>")));
}

TEST(SvgPlotTest, HighlightedPointsAreJoinedInXOrder) {
  Plot plot = TwoPanels();
  plot.panels[0].series[0].points.push_back({320, 300, true, ""});
  const std::string svg = RenderSvg(plot);
  EXPECT_EQ(Count(svg, "<polyline"), 1);  // Only the first panel's copy of the series got the point.
  // In x order: 320 chips (x = 90 + 320 / 1,500 x 620 = 222.3) before 640 (354.5).
  const size_t line = svg.find("<polyline points=\"");
  ASSERT_NE(line, std::string::npos);
  const std::string points = svg.substr(line + 18, svg.find('"', line + 18) - line - 18);
  EXPECT_EQ(points.rfind("222.3,", 0), 0u) << points;
  EXPECT_THAT(points, HasSubstr(" 354.5,"));
}

}  // namespace
}  // namespace tsp::tools
