// ReportWriter: renders an AnalysisReport as
//   - JSON (schema "yoloscope.analysis.v1", documented in docs/diagnosis.md;
//     keys keep a stable order, unknown values are null),
//   - a terminal report for people (ANSI colour when asked),
//   - Markdown (tables; for tickets and pull requests).
// Pure functions of the report; no I/O.
#pragma once

#include <string>

#include "analyzer/analysis_report.h"

namespace yoloscope {

struct TextReportOptions {
  bool color = false;  // ANSI colour escapes.
  // Time-series rows shown as sparklines (the full series is in --format json).
  bool show_time_series = true;
};

class ReportWriter {
 public:
  static constexpr const char* kJsonSchema = "yoloscope.analysis.v1";

  // `indent` < 0: one line (used by --follow); else pretty-printed.
  static std::string Json(const AnalysisReport& report, int indent = 2);
  static std::string Text(const AnalysisReport& report, const TextReportOptions& options = {});
  static std::string Markdown(const AnalysisReport& report);
};

}  // namespace yoloscope
