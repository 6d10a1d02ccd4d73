// MetricSamples: what one LogRecord contributes to each AlertMetric, and
// when. Stateless, so records may be read in any order or by several
// threads (each with its own MetricSamples).
//
// Device state (mem_used_pct, mem_used_mb, gpu_util) is in gpu telemetry
// records and copied onto request and batch records. The gpu records are
// the time-uniform view (what Prometheus scrapes as gauges), so once a log
// has shown gpu records with device state, the copies on other records are
// ignored; a log without telemetry uses the copies (from_telemetry tells
// which kind a sample came from; the AlertEngine applies the rule).
//
// Event time: a request counts when it completed (ts = arrival, plus
// total_ms when known), like the server's latency histograms; batch and gpu
// records count at their ts. Counters (oom_count, alloc_retries,
// batch_size) are taken from batch records, and from request records only
// when they name no batch, so nothing is counted twice (docs/alerts.md).
//
// Thread-safety: pure function.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "alerts/alert_rule.h"
#include "reqlog/log_record.h"

namespace yoloscope {

struct MetricSamples {
  int64_t event_us = 0;
  bool from_telemetry = false;  // a gpu record
  // NaN where the record does not carry the metric.
  std::array<double, kNumAlertMetrics> values;

  double Get(AlertMetric m) const { return values[static_cast<size_t>(m)]; }
  bool Has(AlertMetric m) const { return !std::isnan(Get(m)); }
};

// mem_used_pct, mem_used_mb, gpu_util.
inline bool IsDeviceStateMetric(AlertMetric m) {
  return m == AlertMetric::kMemUsedPct || m == AlertMetric::kMemUsedMb ||
         m == AlertMetric::kGpuUtil;
}

// The bit of metric `m` in a `wanted` mask.
constexpr uint32_t MetricBit(AlertMetric m) { return uint32_t{1} << static_cast<unsigned>(m); }
static_assert(kNumAlertMetrics <= 32);
inline constexpr uint32_t kAllAlertMetrics = (uint32_t{1} << kNumAlertMetrics) - 1;

// Fills `out`; false when the record feeds no metric (no timestamp, or an
// alert / other record). Metrics outside `wanted` stay NaN and cost nothing
// (the others are the same whatever the mask).
bool ExtractMetricSamples(const LogRecord& record, MetricSamples* out,
                          uint32_t wanted = kAllAlertMetrics);

// The event time of a record (see above); empty without a timestamp.
std::optional<int64_t> EventTimeUs(const LogRecord& record);

// True when an error code or message names an out-of-memory failure.
bool IsAlertOomText(std::string_view text);

}  // namespace yoloscope
