// AnalysisContext: the working state shared by Analyzer's passes (windows,
// baselines, the report being built). Internal to src/analyzer: analyzer.cc
// builds it, the rules (rules/<kind>.cc, run by RuleRegistry) read it and add
// findings. State that one rule leaves for others (cold_windows,
// explained_ids) is listed in the registry's `reads` column.
//
// Ownership: borrows the aggregator, config and report for one Analyze()
// call. Thread-safety: none (one context per analysis).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/aggregate/time_bucket_store.h"
#include "analyzer/analysis_report.h"
#include "analyzer/analyzer.h"
#include "analyzer/report/report_format.h"

namespace yoloscope {

struct AnalysisContext {
  AnalysisContext(const LogAggregator& a, const AnalyzerConfig& c, AnalysisReport* r)
      : agg(a), config(c), report(r) {}

  const LogAggregator& agg;
  const AnalyzerConfig& config;
  AnalysisReport* report;

  // Which equal-work keys and metric the baselines use: request records when
  // they carry inference_ms or total_ms, else batch records.
  bool use_batch_records = false;
  bool use_inference = true;         // else total_ms.
  std::map<WorkKey, double> steady;  // baseline per key (ms).

  // Time windows (empty when the log has no timestamps), over the analysis
  // range [range_start_us, range_end_us) of fine buckets.
  int64_t range_start_us = 0, range_end_us = 0;
  int64_t window_us = 0;
  std::vector<TimeBucket> windows;
  std::vector<int64_t> window_start_us;
  std::vector<std::optional<double>> inflation;      // per window.
  std::vector<double> inflation_num, inflation_den;  // sums behind it.
  double median_rate_rps = 0;                        // over windows with requests.
  double median_batch_size = 0;                      // over windows with batch sizes.

  // Request ids that a rule already explains (cold-start samples), so that
  // latency_outliers does not report them again.
  std::vector<std::string> explained_ids;
  // Windows of a cold-start episode (set by cold_start, read by the rules
  // that must not blame those windows on something else).
  std::vector<bool> cold_windows;

  // Timestamps without an epoch are shown as offsets from the first one.
  bool ts_monotonic = false;
  int64_t time_origin_us = 0;
  std::string Time(int64_t ts_us) const;

  bool Has(LogField f) const { return agg.field_count(f) > 0; }
  double WindowSeconds() const { return static_cast<double>(window_us) / 1e6; }
  TimeRange WindowRange(size_t i) const {
    return TimeRange{window_start_us[i], window_start_us[i] + window_us};
  }

  // Records a skipped check and returns false when a group of alternatives
  // (e.g. {kDecodeMs, kPreprocessMs}) has no field in the log.
  bool Require(std::string_view check, const std::vector<std::vector<LogField>>& groups);
  void SkipForSamples(std::string_view check, std::string reason);

  // Inflation (actual over baseline) summed over the windows where
  // `pick(i)` is true; nullopt when they hold no equal-work samples.
  struct Inflation {
    double ratio = 0;
    int64_t samples = 0;
    int64_t requests = 0;
    size_t windows = 0;
  };
  std::optional<Inflation> InflationWhere(const std::function<bool(size_t)>& pick) const;

  // Consecutive picked windows merged into ranges.
  std::vector<TimeRange> RangesWhere(const std::function<bool(size_t)>& pick) const;
  // Slowest request ids of the picked windows (slowest first).
  std::vector<std::string> SlowestIdsWhere(const std::function<bool(size_t)>& pick) const;
  // Example ids from a set (best first), capped at config.max_request_ids.
  std::vector<std::string> Ids(const ExampleSet& set) const;

  // Time range of a timestamp's window (for point events).
  std::optional<size_t> WindowOf(int64_t ts_us) const;

  // Request and error counts on windows of about span / `target` (at least
  // the bucket resolution): finer than `windows`, for short bursts.
  struct FineWindow {
    int64_t start_us = 0, end_us = 0;
    int64_t requests = 0, errors = 0;
  };
  std::vector<FineWindow> FineWindows(int target) const;
};

}  // namespace yoloscope
