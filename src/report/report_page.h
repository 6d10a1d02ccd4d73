// ReportPage: the HTML document around a report or live page: <head> with
// the inlined CSS, the page body, the chart data as
// <script type="application/json" id="ys-data"> and the inlined uPlot +
// web/src/report.js that draw it. The result needs no network to view.
//
// Contracts:
//   - `body_html` is trusted markup: its author escaped every log-derived
//     string with EscapeHtml (html_escape.h). `title` is plain text and is
//     escaped here. `data` is embedded with JsonForScript, so no string in it
//     can end the script element.
//   - Inlined JS/CSS are guarded the same way: a "</script" or "</style" in
//     them (there is none in uPlot today) would be defused, not break the page.
//   - Without chart assets (ReportAssets::HaveCharts() false) the page still
//     renders its text and shows MissingMessage() in a banner.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "report/chart_set.h"

namespace yoloscope {

struct ReportPageContent {
  std::string title;            // Plain text: the <title> and nothing else.
  std::string mode = "report";  // "report" (static) or "live" (polls live_url).
  std::string live_url;         // Live mode: the JSON endpoint polled every second.
  int live_interval_ms = 1000;  // Live mode: polling period.
  std::string body_html;        // Trusted markup (see the header comment).
  nlohmann::json charts;        // ChartSet::ToJson output.
};

class ReportPage {
 public:
  // The whole document.
  static std::string Render(const ReportPageContent& content);

  // Appends a chart card (figure with anchor id "chart-<id>") to `html`; the
  // renderer fills its plot area. Every text is escaped.
  static void AppendChartCard(const Chart& chart, std::string* html);

  // The banner shown when the binary has no chart assets ("" when it has).
  static std::string MissingAssetsBanner();
};

}  // namespace yoloscope
