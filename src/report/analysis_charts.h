// AnalysisCharts: the charts of the HTML report, built from a
// `yoloscope.analysis.v1` document (`analyze --format json`,
// docs/diagnosis.md), read through JsonFields so that any missing key only
// empties the chart that needs it (its note says what the log lacks).
//
// Sources (all optional):
//   time_series.windows[]        (or time_series.chart_windows[], a finer series
//                                with the same fields, when present)
//                                latency percentiles, throughput / errors,
//                                GPU memory (used, total, reserved, allocated,
//                                other processes; OOM and allocation-retry
//                                markers), GPU utilisation and SM clock, queue
//                                length / wait, mean batch size; and, when
//                                present, `stage_means_ms` {stage: ms} for the
//                                stacked per-stage latency chart;
//   summary.batch_sizes[]        batch size distribution;
//   baselines[]                  inference time vs batch size (+ affine fit);
//   inference_samples            {"batch_size": [...], "inference_ms": [...]}
//                                when present: raw points for that scatter;
//   stages[]                     where the time goes;
//   alerts[]                     {rule, severity, fired_at, resolved_at, value}:
//                                the alert timeline and bands on every time chart;
//   findings[].time_ranges[]     one band per range, on the finding's chart;
//   what_if                      (`analyze --what-if ... --html`, schema
//                                yoloscope.whatif.v1) p50/p90/p99 and
//                                throughput / rejections per setting, as bars
//                                (kChartWhatIfLatency, kChartWhatIfThroughput,
//                                kChartWhatIfDistribution).
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "report/chart_set.h"

namespace yoloscope {

class AnalysisCharts {
 public:
  // Never throws; an unusable document gives charts without data.
  static ChartSet Build(const nlohmann::json& analysis);

  // The id of the chart that shows a finding of `kind` over time.
  static const char* ChartForFinding(std::string_view kind);

  // Affine least-squares fit y = a + b x weighted by `w` (NaNs skipped).
  // False when fewer than two distinct x carry weight.
  static bool FitAffine(const std::vector<double>& x, const std::vector<double>& y,
                        const std::vector<double>& w, double* a, double* b);
};

}  // namespace yoloscope
