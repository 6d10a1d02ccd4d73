#include "alerts/alert_rule.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace yoloscope {
namespace {

constexpr std::array<MetricInfo, kNumAlertMetrics> kMetrics = {{
    {AlertMetric::kInferenceMs, "inference_ms", "ms"},
    {AlertMetric::kTotalMs, "total_ms", "ms"},
    {AlertMetric::kQueueMs, "queue_ms", "ms"},
    {AlertMetric::kDecodeMs, "decode_ms", "ms"},
    {AlertMetric::kPreprocessMs, "preprocess_ms", "ms"},
    {AlertMetric::kH2dMs, "h2d_ms", "ms"},
    {AlertMetric::kD2hMs, "d2h_ms", "ms"},
    {AlertMetric::kPostprocessMs, "postprocess_ms", "ms"},
    {AlertMetric::kQueueLen, "queue_len", "requests"},
    {AlertMetric::kBatchSize, "batch_size", "requests"},
    {AlertMetric::kMemUsedPct, "mem_used_pct", "%"},
    {AlertMetric::kMemUsedMb, "mem_used_mb", "MB"},
    {AlertMetric::kGpuUtil, "gpu_util", "%"},
    {AlertMetric::kTempC, "temp_c", "C"},
    {AlertMetric::kPowerW, "power_w", "W"},
    {AlertMetric::kErrorRate, "error_rate", "ratio"},
    {AlertMetric::kRequestRate, "request_rate", "requests"},
    {AlertMetric::kAllocRetries, "alloc_retries", "retries"},
    {AlertMetric::kOomCount, "oom_count", "ooms"},
    {AlertMetric::kDroppedRecords, "dropped_records", "records"},
}};

}  // namespace

std::span<const MetricInfo> AllMetrics() { return kMetrics; }

const MetricInfo& GetMetricInfo(AlertMetric metric) {
  return kMetrics[static_cast<size_t>(metric)];
}

std::optional<AlertMetric> ParseMetricName(std::string_view name) {
  for (const MetricInfo& m : kMetrics) {
    if (m.name == name) return m.metric;
  }
  return std::nullopt;
}

std::optional<Aggregation> ParseAggregationName(std::string_view name, double* quantile) {
  if (name == "mean" || name == "avg") return Aggregation::kMean;
  if (name == "max") return Aggregation::kMax;
  if (name == "min") return Aggregation::kMin;
  if (name == "sum") return Aggregation::kSum;
  if (name == "count") return Aggregation::kCount;
  if (name == "rate") return Aggregation::kRate;
  if (name == "last") return Aggregation::kLast;
  if (name.size() >= 2 && name[0] == 'p') {
    std::string_view digits = name.substr(1);
    // "p99" = 0.99, "p999" is ambiguous in the wild: accept "p99.9" only.
    double pct = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pct);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    if (!(pct > 0 && pct <= 100)) return std::nullopt;
    if (quantile != nullptr) *quantile = pct / 100.0;
    return Aggregation::kQuantile;
  }
  return std::nullopt;
}

std::string AggregationName(Aggregation aggregation, double quantile) {
  switch (aggregation) {
    case Aggregation::kMean:
      return "mean";
    case Aggregation::kQuantile: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "p%g", quantile * 100.0);
      return buf;
    }
    case Aggregation::kMax:
      return "max";
    case Aggregation::kMin:
      return "min";
    case Aggregation::kSum:
      return "sum";
    case Aggregation::kCount:
      return "count";
    case Aggregation::kRate:
      return "rate";
    case Aggregation::kLast:
      return "last";
  }
  return "?";
}

std::optional<Comparator> ParseComparator(std::string_view text) {
  if (text == ">") return Comparator::kGreater;
  if (text == ">=") return Comparator::kGreaterEqual;
  if (text == "<") return Comparator::kLess;
  if (text == "<=") return Comparator::kLessEqual;
  return std::nullopt;
}

std::string_view ComparatorText(Comparator comparator) {
  switch (comparator) {
    case Comparator::kGreater:
      return ">";
    case Comparator::kGreaterEqual:
      return ">=";
    case Comparator::kLess:
      return "<";
    case Comparator::kLessEqual:
      return "<=";
  }
  return "?";
}

bool Compare(double value, Comparator comparator, double threshold) {
  if (std::isnan(value)) return false;
  switch (comparator) {
    case Comparator::kGreater:
      return value > threshold;
    case Comparator::kGreaterEqual:
      return value >= threshold;
    case Comparator::kLess:
      return value < threshold;
    case Comparator::kLessEqual:
      return value <= threshold;
  }
  return false;
}

StatusOr<int64_t> ParseDurationUs(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("bad duration '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return bad("empty");
  double total_us = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (i == start) return bad("expected a number at '" + std::string(text.substr(start)) + "'");
    double number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, number);
    if (ec != std::errc() || ptr != text.data() + i) return bad("bad number");
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit.empty()) {
      if (any || i != text.size()) return bad("a unit (ms, s, m, h, d) is missing");
      scale = 1e6;
    } else if (unit == "ms") {
      scale = 1e3;
    } else if (unit == "s") {
      scale = 1e6;
    } else if (unit == "m") {
      scale = 60e6;
    } else if (unit == "h") {
      scale = 3600e6;
    } else if (unit == "d") {
      scale = 86400e6;
    } else {
      return bad("unknown unit '" + std::string(unit) + "' (use ms, s, m, h, d)");
    }
    total_us += number * scale;
    any = true;
  }
  if (total_us > 366.0 * 86400e6) return bad("longer than a year");
  return static_cast<int64_t>(std::llround(total_us));
}

std::string FormatDurationUs(int64_t us) {
  if (us == 0) return "0s";
  std::string out;
  if (us < 0) {
    out = "-";
    us = -us;
  }
  if (us % 1'000'000 != 0) {
    if (us >= 1'000'000 || us % 1000 != 0) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%gs", static_cast<double>(us) / 1e6);
      return out + buf;
    }
    return out + std::to_string(us / 1000) + "ms";
  }
  int64_t s = us / 1'000'000;
  const int64_t d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (d) out += std::to_string(d) + "d";
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (sec) out += std::to_string(sec) + "s";
  return out;
}

std::optional<GroupField> ParseGroupField(std::string_view name) {
  if (name == "model") return GroupField::kModel;
  if (name == "device") return GroupField::kDevice;
  if (name == "gpu_id") return GroupField::kGpuId;
  if (name == "backend") return GroupField::kBackend;
  return std::nullopt;
}

std::string_view GroupFieldName(GroupField field) {
  switch (field) {
    case GroupField::kModel:
      return "model";
    case GroupField::kDevice:
      return "device";
    case GroupField::kGpuId:
      return "gpu_id";
    case GroupField::kBackend:
      return "backend";
  }
  return "?";
}

std::string AlertRule::ExpressionText() const {
  std::string out = AggregationName(aggregation, quantile);
  out += "(";
  out += GetMetricInfo(metric).name;
  out += '[';
  out += FormatDurationUs(window_s * 1'000'000);
  out += "]) ";
  out += ComparatorText(comparator);
  char buf[64];
  std::snprintf(buf, sizeof(buf), " %g", threshold);
  out += buf;
  return out;
}

}  // namespace yoloscope
