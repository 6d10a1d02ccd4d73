// Analyzer: turns a (merged) LogAggregator into an AnalysisReport -- summary,
// per-stage latency ("where the time goes"), equal-work baselines, the time
// series on automatic windows with change points, the findings of every rule
// whose fields are in the log, and the checks it could not run.
//
// The rules, their thresholds and the false positives each guards against are
// documented in docs/diagnosis.md. Analyze() never fails: a log with nothing
// usable yields an empty report whose skipped_checks say why.
//
// Thread-safety: Analyze() is const and may run concurrently on different
// aggregators (or on one that is not being written to).
#pragma once

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analysis_report.h"

namespace yoloscope {

struct AnalyzerConfig {
  // Window length of the time series in seconds; 0 = automatic: the span
  // divided by `target_windows`, rounded up to a "nice" length (1 s, 2 s,
  // 5 s, 10 s, 15 s, 30 s, 1 min, ...) and to a multiple of the aggregator's
  // bucket resolution.
  double window_s = 0;
  int target_windows = 120;
  // Upper bound on windows (a too-small --window is widened to fit).
  int max_windows = 2000;
  // Example request ids per finding.
  int max_request_ids = 5;
  // Equal-work baselines listed in the report (most frequent first).
  int max_baselines = 200;
};

class Analyzer {
 public:
  explicit Analyzer(AnalyzerConfig config = {});

  // `input` is copied into the report as is (the caller fills it from the
  // readers' statistics).
  AnalysisReport Analyze(const LogAggregator& aggregator, const InputSummary& input = {}) const;

 private:
  AnalyzerConfig config_;
};

}  // namespace yoloscope
