#include "alerts/metric_samples.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace yoloscope {
namespace {

bool ContainsCi(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < needle.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(haystack[i + j])) == needle[j];
    }
    if (match) return true;
  }
  return false;
}

// "oom" as a whole token ("oom", "cuda_oom", "OOM: ..."), not inside "room".
bool ContainsOomToken(std::string_view s) {
  for (size_t i = 0; i + 3 <= s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != 'o' ||
        std::tolower(static_cast<unsigned char>(s[i + 1])) != 'o' ||
        std::tolower(static_cast<unsigned char>(s[i + 2])) != 'm') {
      continue;
    }
    const bool left = i == 0 || !std::isalpha(static_cast<unsigned char>(s[i - 1]));
    const bool right = i + 3 == s.size() || !std::isalpha(static_cast<unsigned char>(s[i + 3]));
    if (left && right) return true;
  }
  return false;
}

bool EqualsCi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// The statuses the analyzer reads as success (foreign logs say "success",
// "Succeeded", 成功, ...), so that both count the same requests as served.
bool IsOkStatus(std::string_view s) {
  if (s == "ok") return true;  // the common case, before the case-insensitive scans
  return EqualsCi(s, "ok") || s == "200" || EqualsCi(s, "success") || EqualsCi(s, "succeeded") ||
         EqualsCi(s, "successful") || s == "\xE6\x88\x90\xE5\x8A\x9F" /* 成功 */ ||
         s == "\xE6\xAD\xA3\xE5\xB8\xB8" /* 正常 */;
}

}  // namespace

bool IsAlertOomText(std::string_view text) {
  if (text.size() < 3) return false;  // "ok", "": most records
  return ContainsOomToken(text) || ContainsCi(text, "out of memory") ||
         ContainsCi(text, "out_of_memory") || ContainsCi(text, "outofmemory");
}

std::optional<int64_t> EventTimeUs(const LogRecord& r) {
  if (!r.ts_us) return std::nullopt;
  int64_t t = *r.ts_us;
  if (r.kind == RecordKind::kRequest && r.total_ms && std::isfinite(*r.total_ms) &&
      *r.total_ms > 0 && *r.total_ms < 1e9) {
    t += static_cast<int64_t>(*r.total_ms * 1000.0);
  }
  return t;
}

bool ExtractMetricSamples(const LogRecord& r, MetricSamples* out, uint32_t wanted) {
  if (!r.ts_us) return false;
  if (r.kind != RecordKind::kRequest && r.kind != RecordKind::kBatch &&
      r.kind != RecordKind::kGpu) {
    return false;
  }
  out->values.fill(std::numeric_limits<double>::quiet_NaN());
  auto want = [wanted](AlertMetric m) { return ((wanted >> static_cast<unsigned>(m)) & 1u) != 0; };
  auto set = [out, &want](AlertMetric m, double v) {
    if (want(m) && std::isfinite(v)) out->values[static_cast<size_t>(m)] = v;
  };
  auto set_opt = [&set](AlertMetric m, const auto& opt) {
    if (opt) set(m, static_cast<double>(*opt));
  };
  out->event_us = *EventTimeUs(r);
  out->from_telemetry = r.kind == RecordKind::kGpu;

  // Device state: any record kind that carries it.
  if (r.mem_used_mb && r.mem_total_mb && *r.mem_total_mb > 0) {
    set(AlertMetric::kMemUsedPct, 100.0 * *r.mem_used_mb / *r.mem_total_mb);
  }
  set_opt(AlertMetric::kMemUsedMb, r.mem_used_mb);
  set_opt(AlertMetric::kGpuUtil, r.gpu_util);
  set(AlertMetric::kDroppedRecords, static_cast<double>(r.dropped_records.value_or(0)));

  // The text scans only where a wanted metric depends on them.
  const bool oom_text =
      want(AlertMetric::kOomCount) && ((!r.status.empty() && IsAlertOomText(r.status)) ||
                                       (!r.error.empty() && IsAlertOomText(r.error)));
  const bool is_oom = r.oom.value_or(false) || oom_text;
  const bool oom_known = r.oom.has_value() || !r.status.empty() || !r.error.empty();

  switch (r.kind) {
    case RecordKind::kRequest: {
      // Latency rules see served requests only: a refusal in 0.2 ms is not
      // a fast request (it pulled the overload p99 down), and a failure
      // measures the time to fail. Refused and failed requests count in
      // the request and error rates.
      constexpr uint32_t kLatencies =
          MetricBit(AlertMetric::kInferenceMs) | MetricBit(AlertMetric::kTotalMs) |
          MetricBit(AlertMetric::kQueueMs) | MetricBit(AlertMetric::kDecodeMs) |
          MetricBit(AlertMetric::kPreprocessMs) | MetricBit(AlertMetric::kH2dMs) |
          MetricBit(AlertMetric::kD2hMs) | MetricBit(AlertMetric::kPostprocessMs);
      const bool failed = (wanted & kLatencies) == 0 ||
                          (!r.status.empty() ? !IsOkStatus(r.status) : !r.error.empty());
      if (!failed) {
        set_opt(AlertMetric::kInferenceMs, r.inference_ms);
        set_opt(AlertMetric::kTotalMs, r.total_ms);
        set_opt(AlertMetric::kQueueMs, r.queue_ms);
        set_opt(AlertMetric::kDecodeMs, r.decode_ms);
        set_opt(AlertMetric::kPreprocessMs, r.preprocess_ms);
        set_opt(AlertMetric::kH2dMs, r.h2d_ms);
        set_opt(AlertMetric::kD2hMs, r.d2h_ms);
        set_opt(AlertMetric::kPostprocessMs, r.postprocess_ms);
      }
      set_opt(AlertMetric::kQueueLen, r.queue_len);
      set(AlertMetric::kRequestRate, 1.0);
      if (!r.status.empty() && want(AlertMetric::kErrorRate)) {
        set(AlertMetric::kErrorRate, IsOkStatus(r.status) ? 0.0 : 1.0);
      }
      if (!r.batch_id) {
        // Not tied to a batch record: count its batch-level facts here.
        set_opt(AlertMetric::kBatchSize, r.batch_size);
        set_opt(AlertMetric::kAllocRetries, r.alloc_retries);
        if (oom_known) set(AlertMetric::kOomCount, is_oom ? 1.0 : 0.0);
      } else if (is_oom && !r.oom.has_value()) {
        // Failed on OOM without allocator information: its batch record
        // cannot have reported the OOM, so the request does.
        set(AlertMetric::kOomCount, 1.0);
      }
      break;
    }
    case RecordKind::kBatch:
      set_opt(AlertMetric::kBatchSize, r.batch_size);
      set_opt(AlertMetric::kAllocRetries, r.alloc_retries);
      if (oom_known) set(AlertMetric::kOomCount, is_oom ? 1.0 : 0.0);
      break;
    case RecordKind::kGpu:
      set_opt(AlertMetric::kTempC, r.temp_c);
      set_opt(AlertMetric::kPowerW, r.power_w);
      break;
    default:
      break;
  }
  return true;
}

}  // namespace yoloscope
