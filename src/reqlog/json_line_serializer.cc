#include "reqlog/json_line_serializer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "common/time_format.h"
#include "common/utf8.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace ls = logschema;

constexpr int kMsDecimals = 3;
constexpr int kGaugeDecimals = 1;

// Longest text of a number on the fast path of WriteNumber: sign, 19 integer
// digits, point, 6 decimals.
constexpr size_t kMaxFastNumberChars = 32;
// Enough for any number AppendJsonNumber writes through snprintf ("%.6f" of
// the largest double: 309 integer digits).
constexpr size_t kMaxNumberChars = 330;

constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};  // by decimals

// Writes `text` quoted and escaped at `p`, which has room for
// 2 + 6 * text.size() bytes; returns the end.
char* WriteJsonString(std::string_view text, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '"';
  size_t run_start = 0;  // start of the pending run of bytes copied verbatim.
  size_t i = 0;
  auto flush_run = [&] {
    std::memcpy(p, text.data() + run_start, i - run_start);
    p += i - run_start;
  };
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
    flush_run();
    const char* esc = nullptr;
    switch (c) {
      case '"':
        esc = "\\\"";
        break;
      case '\\':
        esc = "\\\\";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\b':
        esc = "\\b";
        break;
      case '\f':
        esc = "\\f";
        break;
      default:
        break;
    }
    if (esc != nullptr) {
      *p++ = esc[0];
      *p++ = esc[1];
    } else if (c < 0x20) {
      const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      std::memcpy(p, u, sizeof(u));
      p += sizeof(u);
    } else {
      std::memcpy(p, "\\ufffd", 6);  // an invalid UTF-8 byte.
      p += 6;
    }
    ++i;
    run_start = i;
  }
  flush_run();
  *p++ = '"';
  return p;
}

char* WriteInt(int64_t value, char* p) { return std::to_chars(p, p + 24, value).ptr; }

// True when WriteNumber's fast path applies (|value| * 10^decimals < 9e18);
// `decimals` already clamped to 0..6.
bool FastNumber(double value, int decimals) {
  return std::fabs(value * static_cast<double>(kPow10[decimals])) < 9.0e18;
}

// The fast path of AppendJsonNumber: `value` finite, FastNumber() true.
// At most kMaxFastNumberChars bytes. A template so that every division is by
// a constant.
template <int kDecimals>
char* WriteFastNumberT(double value, char* p) {
  constexpr int64_t kScale = kPow10[kDecimals];
  int64_t q = std::llround(value * static_cast<double>(kScale));
  if (q < 0) {
    *p++ = '-';
    q = -q;
  }
  p = WriteInt(q / kScale, p);
  if constexpr (kDecimals > 0) {
    int64_t frac = q % kScale;
    if (frac == 0) return p;
    int digits = kDecimals;
    while (frac % 10 == 0) {  // trim trailing zeros.
      frac /= 10;
      --digits;
    }
    *p++ = '.';
    for (int i = digits - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    p += digits;
  }
  return p;
}

char* WriteFastNumber(double value, int decimals, char* p) {
  switch (decimals) {
    case 0:
      return WriteFastNumberT<0>(value, p);
    case 1:
      return WriteFastNumberT<1>(value, p);
    case 2:
      return WriteFastNumberT<2>(value, p);
    case 3:
      return WriteFastNumberT<3>(value, p);
    case 4:
      return WriteFastNumberT<4>(value, p);
    case 5:
      return WriteFastNumberT<5>(value, p);
    default:
      return WriteFastNumberT<6>(value, p);
  }
}

// Writes `value` as AppendJsonNumber does, at `p` with room for
// kMaxNumberChars; returns the end.
char* WriteNumber(double value, int decimals, char* p) {
  if (!std::isfinite(value)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  decimals = decimals < 0 ? 0 : (decimals > 6 ? 6 : decimals);
  if (FastNumber(value, decimals)) return WriteFastNumber(value, decimals, p);
  // Beyond int64: rare, use printf.
  const int n = std::snprintf(p, kMaxNumberChars, "%.*f", decimals, value);
  return p + (n > 0 ? n : 0);
}

// The serving thread's cache of the formatted second of the last timestamp:
// "YYYY-MM-DDTHH:MM:SS", re-formatted (by AppendRfc3339Micros, so the text is
// the same by construction) once per second per thread.
struct SecondPrefixCache {
  int64_t second = -1;
  char text[19];
};

// Years 1970..9999: the range where AppendRfc3339Micros writes exactly 27
// characters; outside it, it is called directly.
constexpr int64_t kMaxCachedUs = 253402300800LL * 1000000;  // 10000-01-01

// Writes the RFC 3339 timestamp (27 characters) at `p`; returns the end.
char* WriteTimestamp(int64_t unix_us, char* p) {
  if (unix_us < 0 || unix_us >= kMaxCachedUs) {
    std::string text;
    AppendRfc3339Micros(unix_us, &text);
    std::memcpy(p, text.data(), text.size());
    return p + text.size();
  }
  thread_local SecondPrefixCache cache;
  const int64_t second = unix_us / 1000000;
  int64_t micros = unix_us % 1000000;
  if (second != cache.second) {
    std::string text;
    text.reserve(32);
    AppendRfc3339Micros(second * 1000000, &text);
    std::memcpy(cache.text, text.data(), sizeof(cache.text));
    cache.second = second;
  }
  std::memcpy(p, cache.text, sizeof(cache.text));
  p += sizeof(cache.text);
  *p++ = '.';
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  p += 6;
  *p++ = 'Z';
  return p;
}

constexpr size_t kMaxTimestampChars = 40;

// Writes one object's members straight into `out`'s characters: `out` is
// grown ahead of each member (Reserve) and trimmed to what was written at
// Finish, so a line costs no more than one resize when `out` has room.
// Keys are schema constants (plain ASCII, never escaped).
class ObjectWriter {
 public:
  ObjectWriter(std::string_view event, int64_t ts_us, std::string* out) : out_(out) {
    const size_t start = out_->size();
    out_->resize(start + kInitialBytes);
    p_ = out_->data() + start;
    end_ = out_->data() + out_->size();
    Raw("{\"event\":\"");
    Raw(event);
    Raw("\",\"schema\":\"");
    Raw(ls::kSchemaVersion);
    Raw("\",\"ts\":\"");
    p_ = WriteTimestamp(ts_us, p_);
    *p_++ = '"';
  }

  void Finish() {
    Reserve(2);
    *p_++ = '}';
    *p_++ = '\n';
    out_->resize(static_cast<size_t>(p_ - out_->data()));
  }

  void String(std::string_view key, std::string_view value) {
    Key(key, 2 + 6 * value.size());
    p_ = WriteJsonString(value, p_);
  }
  void NonEmptyString(std::string_view key, std::string_view value) {
    if (!value.empty()) String(key, value);
  }
  void Int(std::string_view key, const std::optional<int64_t>& value) {
    if (!value) return;
    Key(key, 24);
    p_ = WriteInt(*value, p_);
  }
  void IntOrNull(std::string_view key, const std::optional<int64_t>& value) {
    Key(key, 24);
    if (value) {
      p_ = WriteInt(*value, p_);
    } else {
      Raw("null");
    }
  }
  void Number(std::string_view key, const std::optional<double>& value, int decimals) {
    if (!value || !std::isfinite(*value)) return;
    if (FastNumber(*value, decimals)) {
      Key(key, kMaxFastNumberChars);
      p_ = WriteFastNumber(*value, decimals, p_);
    } else {
      Key(key, kMaxNumberChars);
      p_ = WriteNumber(*value, decimals, p_);
    }
  }
  void Ms(std::string_view key, const std::optional<double>& value) {
    Number(key, value, kMsDecimals);
  }
  void Gauge(std::string_view key, const std::optional<double>& value) {
    Number(key, value, kGaugeDecimals);
  }
  void Bool(std::string_view key, const std::optional<bool>& value) {
    if (!value) return;
    Key(key, 5);
    Raw(*value ? std::string_view("true") : std::string_view("false"));
  }
  void Dropped(int64_t dropped) {
    if (dropped > 0) Int(ls::kDroppedRecords, dropped);
  }

 private:
  // Room for the first members of a typical record without growing.
  static constexpr size_t kInitialBytes = 512 + kMaxTimestampChars;

  // Makes room for `n` more bytes.
  void Reserve(size_t n) {
    if (static_cast<size_t>(end_ - p_) >= n) return;
    const size_t used = static_cast<size_t>(p_ - out_->data());
    out_->resize(std::max(out_->size() * 2, used + n + 256));
    p_ = out_->data() + used;
    end_ = out_->data() + out_->size();
  }
  // Writes `,"key":` and makes room for `value_bytes` after it.
  void Key(std::string_view key, size_t value_bytes) {
    Reserve(key.size() + 4 + value_bytes);
    *p_++ = ',';
    *p_++ = '"';
    std::memcpy(p_, key.data(), key.size());
    p_ += key.size();
    *p_++ = '"';
    *p_++ = ':';
  }
  // Constant text within the room already reserved.
  void Raw(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
  }

  std::string* out_;
  char* p_;
  char* end_;
};

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  const size_t start = out->size();
  out->resize(start + 2 + 6 * text.size());
  char* end = WriteJsonString(text, out->data() + start);
  out->resize(static_cast<size_t>(end - out->data()));
}

void AppendJsonNumber(double value, int decimals, std::string* out) {
  char buf[kMaxNumberChars];
  char* end = WriteNumber(value, decimals, buf);
  out->append(buf, static_cast<size_t>(end - buf));
}
void AppendJsonLine(const RequestLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventRequest, r.ts_us, out);
  w.NonEmptyString(ls::kRequestId, r.request_id);
  w.NonEmptyString(ls::kProtocol, r.protocol);
  w.NonEmptyString(ls::kClientId, r.client_id);
  w.NonEmptyString(ls::kStream, r.stream);
  w.Int(ls::kFrameIndex, r.frame_index);
  w.Ms(ls::kPtsMs, r.pts_ms);
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
  w.Ms(ls::kBusyMs, r.busy_ms);
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

void AppendJsonLine(const StreamLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventStream, r.ts_us, out);
  w.NonEmptyString(ls::kStream, r.stream);
  w.NonEmptyString(ls::kUri, r.uri);
  w.NonEmptyString(ls::kState, r.state);
  w.NonEmptyString(ls::kCodec, r.codec);
  w.NonEmptyString(ls::kSourceKind, r.source_kind);
  w.Bool(ls::kRealtime, r.realtime);
  w.NonEmptyString(ls::kDropPolicy, r.drop_policy);
  w.Int(ls::kInputW, r.input_w);
  w.Int(ls::kInputH, r.input_h);
  w.Number(ls::kSourceFps, r.source_fps, 3);
  w.Number(ls::kTargetFps, r.target_fps, 3);
  w.Number(ls::kFps, r.fps, 3);
  w.Int(ls::kFramesRead, r.frames_read);
  w.Int(ls::kFramesProcessed, r.frames_processed);
  w.Int(ls::kFramesFailed, r.frames_failed);
  w.Int(ls::kFramesDropped, r.frames_dropped);
  w.Int(ls::kFramesSkipped, r.frames_skipped);
  w.Int(ls::kFramesQueued, r.frames_queued);
  w.Int(ls::kFramesInFlight, r.frames_in_flight);
  w.Int(ls::kReconnects, r.reconnects);
  w.NonEmptyString(ls::kError, r.error);
  w.Dropped(r.dropped_records);
  w.Finish();
}

void AppendJsonLine(const ConfigLogRecord& r, std::string* out) {
  ObjectWriter w(ls::kEventConfig, r.ts_us, out);
  w.NonEmptyString(ls::kModel, r.model);
  w.NonEmptyString(ls::kBackend, r.backend);
  w.Int(ls::kInstances, r.instances);
  w.Int(ls::kMaxBatchSize, r.max_batch_size);
  w.Int(ls::kMaxQueueDelayUs, r.max_queue_delay_us);
  w.Int(ls::kMaxQueueSize, r.max_queue_size);
  w.Int(ls::kPreprocessWorkers, r.preprocess_workers);
  w.Int(ls::kPostprocessWorkers, r.postprocess_workers);
  w.NonEmptyString(ls::kBatchPolicy, r.batch_policy);
  w.Dropped(r.dropped_records);
  w.Finish();
}

}  // namespace yoloscope
