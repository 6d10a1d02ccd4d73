#include "reqlog/json_line_serializer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "common/time_format.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace ls = logschema;

constexpr int kMsDecimals = 3;
constexpr int kGaugeDecimals = 1;

void AppendInt(int64_t value, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, static_cast<size_t>(end - buf));
}

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
// bytes there are not valid UTF-8 (overlongs, surrogates and > U+10FFFF
// rejected, as simdjson does).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b0 == 0xE0 && b1 < 0xA0) return 0;   // overlong
    if (b0 == 0xED && b1 >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b0 == 0xF0 && b1 < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && b1 >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

// Writes the comma-separated members of one object. Keys are schema constants
// (plain ASCII, never escaped).
class ObjectWriter {
 public:
  ObjectWriter(std::string_view event, int64_t ts_us, std::string* out) : out_(out) {
    out_->append("{\"event\":\"");
    out_->append(event);
    out_->append("\",\"schema\":\"");
    out_->append(ls::kSchemaVersion);
    out_->append("\",\"ts\":\"");
    AppendRfc3339Micros(ts_us, out_);
    out_->push_back('"');
  }

  void Finish() { out_->append("}\n"); }

  void String(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(value, out_);
  }
  void NonEmptyString(std::string_view key, std::string_view value) {
    if (!value.empty()) String(key, value);
  }
  void Int(std::string_view key, const std::optional<int64_t>& value) {
    if (!value) return;
    Key(key);
    AppendInt(*value, out_);
  }
  void IntOrNull(std::string_view key, const std::optional<int64_t>& value) {
    Key(key);
    if (value) {
      AppendInt(*value, out_);
    } else {
      out_->append("null");
    }
  }
  void Number(std::string_view key, const std::optional<double>& value, int decimals) {
    if (!value || !std::isfinite(*value)) return;
    Key(key);
    AppendJsonNumber(*value, decimals, out_);
  }
  void Ms(std::string_view key, const std::optional<double>& value) {
    Number(key, value, kMsDecimals);
  }
  void Gauge(std::string_view key, const std::optional<double>& value) {
    Number(key, value, kGaugeDecimals);
  }
  void Bool(std::string_view key, const std::optional<bool>& value) {
    if (!value) return;
    Key(key);
    out_->append(*value ? "true" : "false");
  }
  void Dropped(int64_t dropped) {
    if (dropped > 0) Int(ls::kDroppedRecords, dropped);
  }

 private:
  void Key(std::string_view key) {
    out_->append(",\"");
    out_->append(key);
    out_->append("\":");
  }

  std::string* out_;
};

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;  // start of the pending run of bytes copied verbatim.
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(text, i);
      if (n > 0) {
        i += n;
        continue;
      }
    }
    out->append(text.data() + run_start, i - run_start);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out->append(esc, sizeof(esc));
        } else {
          out->append("\\ufffd");  // an invalid UTF-8 byte.
        }
    }
    ++i;
    run_start = i;
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

void AppendJsonNumber(double value, int decimals, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  decimals = decimals < 0 ? 0 : (decimals > 6 ? 6 : decimals);
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  const double scaled = value * static_cast<double>(scale);
  if (std::fabs(scaled) >= 9.0e18) {  // beyond int64: rare, use printf.
    char buf[64];
    const int n = std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    out->append(buf, static_cast<size_t>(n));
    return;
  }
  int64_t q = std::llround(scaled);
  if (q < 0) {
    out->push_back('-');
    q = -q;
  }
  AppendInt(q / scale, out);
  int64_t frac = q % scale;
  if (frac == 0) return;
  int digits = decimals;
  while (frac % 10 == 0) {  // trim trailing zeros.
    frac /= 10;
    --digits;
  }
  char buf[8];
  for (int i = digits - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out->push_back('.');
  out->append(buf, static_cast<size_t>(digits));
}

void AppendJsonLine(const RequestLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventRequest, r.ts_us, out);
  w.NonEmptyString(ls::kRequestId, r.request_id);
  w.NonEmptyString(ls::kModel, r.model);
  w.NonEmptyString(ls::kBackend, r.backend);
  w.NonEmptyString(ls::kDevice, r.device);
  w.IntOrNull(ls::kGpuId, r.gpu_id);
  w.Int(ls::kInputW, r.input_w);
  w.Int(ls::kInputH, r.input_h);
  w.Int(ls::kInputBytes, r.input_bytes);
  w.Int(ls::kBatchId, r.batch_id);
  w.Int(ls::kBatchSize, r.batch_size);
  w.Int(ls::kQueueLen, r.queue_len);
  w.Ms(ls::kQueueMs, r.queue_ms);
  w.Ms(ls::kDecodeMs, r.decode_ms);
  w.Ms(ls::kPreprocessMs, r.preprocess_ms);
  w.Ms(ls::kH2dMs, r.h2d_ms);
  w.Ms(ls::kInferenceMs, r.inference_ms);
  w.Ms(ls::kD2hMs, r.d2h_ms);
  w.Ms(ls::kPostprocessMs, r.postprocess_ms);
  w.Ms(ls::kTotalMs, r.total_ms);
  w.Int(ls::kDetections, r.detections);
  w.NonEmptyString(ls::kStatus, r.status);
  w.NonEmptyString(ls::kError, r.error);
  w.Gauge(ls::kGpuUtil, r.gpu_util);
  w.Gauge(ls::kMemUsedMb, r.mem_used_mb);
  w.Gauge(ls::kMemTotalMb, r.mem_total_mb);
  w.Gauge(ls::kMemReservedMb, r.mem_reserved_mb);
  w.Gauge(ls::kMemAllocatedMb, r.mem_allocated_mb);
  w.Int(ls::kAllocRetries, r.alloc_retries);
  w.Bool(ls::kOom, r.oom);
  w.Dropped(r.dropped_records);
  w.Finish();
}

void AppendJsonLine(const BatchLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventBatch, r.ts_us, out);
  w.Int(ls::kBatchId, r.batch_id);
  w.Int(ls::kBatchSize, r.batch_size);
  w.NonEmptyString(ls::kModel, r.model);
  w.Int(ls::kInstance, r.instance);
  w.IntOrNull(ls::kGpuId, r.gpu_id);
  w.Ms(ls::kH2dMs, r.h2d_ms);
  w.Ms(ls::kInferenceMs, r.inference_ms);
  w.Ms(ls::kD2hMs, r.d2h_ms);
  w.Gauge(ls::kMemUsedMb, r.mem_used_mb);
  w.Gauge(ls::kMemTotalMb, r.mem_total_mb);
  w.Gauge(ls::kMemReservedMb, r.mem_reserved_mb);
  w.Gauge(ls::kMemAllocatedMb, r.mem_allocated_mb);
  w.Gauge(ls::kMemInactiveSplitMb, r.mem_inactive_split_mb);
  w.Int(ls::kAllocRetries, r.alloc_retries);
  w.Bool(ls::kOom, r.oom);
  w.Dropped(r.dropped_records);
  w.Finish();
}

void AppendJsonLine(const GpuLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventGpu, r.ts_us, out);
  w.IntOrNull(ls::kGpuId, r.gpu_id);
  w.Gauge(ls::kGpuUtil, r.gpu_util);
  w.Gauge(ls::kMemUsedMb, r.mem_used_mb);
  w.Gauge(ls::kMemTotalMb, r.mem_total_mb);
  w.Gauge(ls::kMemOtherProcessesMb, r.mem_other_processes_mb);
  w.Gauge(ls::kSmClockMhz, r.sm_clock_mhz);
  w.Gauge(ls::kTempC, r.temp_c);
  w.Gauge(ls::kPowerW, r.power_w);
  w.Gauge(ls::kPcieTxMbs, r.pcie_tx_mbs);
  w.Gauge(ls::kPcieRxMbs, r.pcie_rx_mbs);
  if (r.throttle_reasons) w.String(ls::kThrottleReasons, *r.throttle_reasons);
  w.Dropped(r.dropped_records);
  w.Finish();
}

}  // namespace yoloscope
