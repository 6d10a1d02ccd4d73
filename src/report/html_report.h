// HtmlReport: `yoloscope analyze --html report.html`. Turns an analysis
// document (`yoloscope.analysis.v1`, the output of `analyze --format json`,
// docs/diagnosis.md; plus the `alerts` array when alerting ran) into ONE
// self-contained HTML file: summary cards, the findings with their evidence
// and recommendation (each time range a link that scrolls to the chart that
// shows it and zooms every time chart to that range), the alert timeline,
// the charts (AnalysisCharts), per-stage numbers, the checks that could not
// run and the input summary. Everything is inline (uPlot, the renderer, the
// data); the page makes no network request (a CSP forbids it). See
// docs/report.md.
//
// Consumes the JSON document only, never the analyzer's C++ types, so any
// analyzer version (or a hand-written fixture) renders; missing keys give
// empty sections / charts that say so.
//
// Size: every chart is downsampled to <= max_points_per_chart values
// (min/max per pixel bucket, ChartSet); when the page would still exceed
// max_bytes the point budget is halved until it fits (findings are never
// dropped).
//
// Errors: InvalidArgument when `analysis` is not an analysis document;
// FailedPrecondition when the binary has no chart assets and
// allow_missing_assets is false (the message says how to fix it); Internal
// / Unavailable for I/O failures of Write / WriteFile. Never throws.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "common/status.h"

namespace yoloscope {

struct HtmlReportOptions {
  std::string title;                     // "" = "yoloscope report: <first input file>".
  size_t max_points_per_chart = 50'000;  // rows x series per chart.
  size_t pixel_buckets = 2'000;          // time-chart downsampling resolution.
  size_t max_bytes = 10u * 1024 * 1024;  // soft cap on the whole page.
  bool allow_missing_assets = false;     // Write a chartless page instead of failing.
  std::string generated_at;              // Shown in the footer when set (RFC 3339).
};

class HtmlReport {
 public:
  // The page as a string.
  static StatusOr<std::string> Render(const nlohmann::json& analysis,
                                      const HtmlReportOptions& options);
  // Render + write to `out`.
  static Status Write(const nlohmann::json& analysis, const HtmlReportOptions& options,
                      std::ostream& out);
  // Render + write to `path` (via a temporary file renamed into place).
  static Status WriteFile(const nlohmann::json& analysis, const HtmlReportOptions& options,
                          const std::string& path);
};

}  // namespace yoloscope
