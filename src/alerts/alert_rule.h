// AlertRule: one threshold rule of a rule file (docs/alerts.md), the plain
// value the AlertEngine evaluates, plus the names of its enums and the
// duration syntax of rule files ("30s", "1m", "1m30s", "500ms").
//
// A rule reads: <aggregation> of <metric> over the last <window>, compared
// with <threshold>, true for at least <for>, fires; it resolves when the value
// no longer passes <resolve_threshold> (hysteresis) for <resolve_for>.
//
// Units: metric values in the metric's unit (ms, %, count; see MetricInfo),
// windows in whole seconds, `for` durations in microseconds.
//
// Plain value types; not synchronized.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_template.h"
#include "common/status.h"

namespace yoloscope {

// What a rule measures. Each metric takes one sample per record that
// carries it (see docs/alerts.md for the record kinds each one reads).
enum class AlertMetric {
  kInferenceMs,     // request.inference_ms (the batch's forward, per request)
  kTotalMs,         // request.total_ms (arrival to response)
  kQueueMs,         // request.queue_ms
  kDecodeMs,        // request.decode_ms
  kPreprocessMs,    // request.preprocess_ms
  kH2dMs,           // request.h2d_ms
  kD2hMs,           // request.d2h_ms
  kPostprocessMs,   // request.postprocess_ms
  kQueueLen,        // request.queue_len (requests waiting at arrival)
  kBatchSize,       // batch.batch_size
  kMemUsedPct,      // 100 * mem_used_mb / mem_total_mb (any record kind)
  kMemUsedMb,       // mem_used_mb (any record kind)
  kGpuUtil,         // gpu_util, percent (any record kind)
  kTempC,           // gpu.temp_c
  kPowerW,          // gpu.power_w
  kErrorRate,       // 1 per failed request, 0 per ok one (mean = failed fraction)
  kRequestRate,     // 1 per request (rate = requests/s, count = requests)
  kAllocRetries,    // allocator retries per batch
  kOomCount,        // 1 per batch (or unbatched request) that hit OOM, else 0
  kDroppedRecords,  // request-log records dropped by the writer
};
inline constexpr size_t kNumAlertMetrics = 20;

enum class Aggregation {
  kMean,
  kQuantile,  // AlertRule::quantile in (0, 1]: p50, p90, p99, p99.9 ...
  kMax,
  kMin,
  kSum,
  kCount,
  kRate,  // sum of the values per second of window
  kLast,  // the latest sample (by event time)
};

enum class Comparator { kGreater, kGreaterEqual, kLess, kLessEqual };

// Static facts about a metric.
struct MetricInfo {
  AlertMetric metric;
  std::string_view name;  // as written in rule files
  std::string_view unit;  // "ms", "%", "MB", "count", ...
};

// Every metric, in enum order.
std::span<const MetricInfo> AllMetrics();
const MetricInfo& GetMetricInfo(AlertMetric metric);
std::optional<AlertMetric> ParseMetricName(std::string_view name);

// "mean", "p99", "p99.9", "max", "min", "sum", "count", "rate", "last".
// Sets *quantile for kQuantile (0.99 for "p99").
std::optional<Aggregation> ParseAggregationName(std::string_view name, double* quantile);
std::string AggregationName(Aggregation aggregation, double quantile);

std::optional<Comparator> ParseComparator(std::string_view text);
std::string_view ComparatorText(Comparator comparator);  // ">", ">=", "<", "<="
// `value` <op> `threshold`; false when value is NaN.
bool Compare(double value, Comparator comparator, double threshold);
// True for > and >= (an alert on high values).
inline bool IsUpper(Comparator c) {
  return c == Comparator::kGreater || c == Comparator::kGreaterEqual;
}

// Durations: a sequence of <number><unit> with units ms, s, m, h, d
// ("1m30s", "250ms", "0s", "2h"); a bare number is seconds. Returns
// microseconds; InvalidArgument with the reason otherwise.
StatusOr<int64_t> ParseDurationUs(std::string_view text);
// 90'000'000 -> "1m30s", 500'000 -> "500ms", 0 -> "0s".
std::string FormatDurationUs(int64_t us);

// Record fields an alert can be split by (`group_by`): one alert per
// distinct value combination.
enum class GroupField { kModel, kDevice, kGpuId, kBackend };
std::optional<GroupField> ParseGroupField(std::string_view name);
std::string_view GroupFieldName(GroupField field);

struct AlertRule {
  std::string name;  // alertname: [A-Za-z_][A-Za-z0-9_]*, unique in a RuleSet
  AlertMetric metric = AlertMetric::kInferenceMs;
  Aggregation aggregation = Aggregation::kMean;
  double quantile = 0.0;  // kQuantile only
  int64_t window_s = 60;  // 1 .. 3600
  Comparator comparator = Comparator::kGreater;
  double threshold = 0.0;
  // Hysteresis: once firing, the alert stays firing while the value still
  // passes this threshold (with the same comparator). Always on the
  // "easier" side of `threshold` (<= for > and >=, >= for < and <=). The
  // RuleSet fills it from the file's relative `hysteresis` when absent
  // (NaN: RuleSet::FromRules fills it too).
  double resolve_threshold = std::numeric_limits<double>::quiet_NaN();
  int64_t for_us = 0;          // condition must hold this long before firing
  int64_t resolve_for_us = 0;  // and be clear this long before resolving
  std::string severity = "warning";
  std::vector<GroupField> group_by;
  std::map<std::string, std::string> labels;
  std::map<std::string, AlertTemplate> annotations;  // summary, description, ...
  int line = 0;  // 1-based line in the rule file (0 = built in code)

  // "mean(inference_ms[1m]) > 100"
  std::string ExpressionText() const;
};

}  // namespace yoloscope
