// FindingFixes: links the diagnosis to the what-if model. An
// `underbatching`, `batch_window_too_long` or `queue_saturation` finding
// gets its natural fix predicted from the same log (docs/what-if.md,
// "Findings with a predicted fix"):
//   underbatching          max_batch=B,max_queue_delay_us=W and max_batch=B
//                          (B, W: the finding's suggested_max_batch /
//                          suggested_max_wait_ms; the window alone when B is
//                          not above the logged max batch);
//   batch_window_too_long  max_queue_delay_us=W (suggested_max_wait_ms);
//   queue_saturation       instances=N+1, devices=D+1 (an instance on another
//                          device) and max_batch=2x the logged one.
// Each candidate is a --what-if spec applied to the logged setting (the
// one `analyze --what-if` uses), so `analyze LOG --what-if SPEC` shows the
// same numbers. The best candidate is attached (fewest rejections, then the
// lowest p99), with a one-line summary: "max_batch=8: p99 1.2 s -> 140 ms
// (predicted; ...)". When the log cannot support a prediction the finding
// gets `cannot_predict` only (shown in JSON, not in text).
//
// WhatIfAnalyzeExtension plugs this into `analyze` (AnalyzeOptions::
// extension, ys_analyzer cannot call ys_whatif): it reads the log into the
// what-if engine only when a linkable finding exists, and, for
// `analyze --what-if ... --html`, adds the what-if comparison ("what_if",
// schema yoloscope.whatif.v1) to the HTML report's document.
//
// Thread-safety: one call at a time per object; the static functions are pure.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/analysis_report.h"
#include "analyzer/analyze_command.h"
#include "whatif/what_if_command.h"
#include "whatif/what_if_engine.h"
#include "whatif/what_if_report.h"

namespace yoloscope {

class FindingFixes {
 public:
  // underbatching, batch_window_too_long, queue_saturation.
  static bool Linkable(std::string_view kind);

  // The --what-if specs tried for `finding` (empty for other kinds).
  static std::vector<std::string> Candidates(const Finding& finding, const WhatIfSetting& logged);

  // Predicts the candidates of every linkable finding of `report` and sets
  // its predicted_fix. `logged` is the logged setting's prediction.
  static void Attach(const WhatIfEngine& engine, const Prediction& logged, AnalysisReport* report);

  // Sets predicted_fix.cannot_predict = `why` on every linkable finding.
  static void AttachCannotPredict(const std::string& why, AnalysisReport* report);
};

class WhatIfAnalyzeExtension : public AnalyzeExtension {
 public:
  // Predicted fixes only; the log is read (again) when a finding needs it.
  // `options`: paths, input format, --setting, --model, --skip-s, seed.
  explicit WhatIfAnalyzeExtension(WhatIfOptions options);
  // `analyze --what-if ... --html`: the engine and the comparison already
  // computed (`report.engine` must be `engine`).
  WhatIfAnalyzeExtension(WhatIfOptions options, std::shared_ptr<const WhatIfEngine> engine,
                         WhatIfReportInput report);

  void Annotate(AnalysisReport* report) override;
  void ExtendHtml(nlohmann::json* doc) override;

 private:
  WhatIfOptions options_;
  std::shared_ptr<const WhatIfEngine> engine_;
  std::optional<WhatIfReportInput> input_;  // the logged prediction (+ rows with --what-if)
  bool has_rows_ = false;
};

}  // namespace yoloscope
