// The request-log serializer (src/reqlog/json_line_serializer.cc) against a
// verbatim copy of its first implementation (snprintf timestamps,
// std::string::append per piece), kept here as the reference: the optimized
// serializer must write the same bytes for every record, including unknowns,
// escapes, invalid UTF-8, huge and non-finite numbers and odd timestamps.
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <string>

#include "common/time_format.h"
#include "reqlog/json_line_serializer.h"
#include "reqlog/log_records.h"
#include "reqlog/log_schema.h"

// ---- reference implementation (the serializer as first written) ----------
namespace yoloscope::reference {

void AppendJsonLine(const RequestLogRecord& record, std::string* out);
void AppendJsonLine(const BatchLogRecord& record, std::string* out);
void AppendJsonLine(const GpuLogRecord& record, std::string* out);
void AppendJsonString(std::string_view text, std::string* out);
void AppendJsonNumber(double value, int decimals, std::string* out);
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

}  // namespace yoloscope::reference

// ---- tests -----------------------------------------------------------------

namespace yoloscope {
namespace {

class RandomRecords {
 public:
  explicit RandomRecords(uint32_t seed) : rng_(seed) {}

  bool Coin(int percent = 50) { return Uniform(0, 99) < percent; }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  int64_t Timestamp() {
    switch (Uniform(0, 5)) {
      case 0:
        return 0;
      case 1:
        return Uniform(0, 4'000'000'000'000'000);  // up to ~2096
      case 2:
        return 1767225599999999 + Uniform(0, 3);  // a year boundary
      case 3:
        return 253402300799999999 + Uniform(-2, 2);  // around year 10000
      case 4:
        return -Uniform(1, 2'000'000'000'000'000);  // before 1970
      default:
        return 1795544475000000 + Uniform(0, 5'000'000);
    }
  }

  double Double() {
    switch (Uniform(0, 11)) {
      case 0:
        return 0.0;
      case 1:
        return -0.0;
      case 2:
        return std::numeric_limits<double>::quiet_NaN();
      case 3:
        return Coin() ? INFINITY : -INFINITY;
      case 4:
        return static_cast<double>(Uniform(-100000, 100000)) / 1000.0;  // ms values
      case 5:
        return static_cast<double>(Uniform(-2000, 2000)) * 0.0005;  // ties
      case 6:
        return std::ldexp(static_cast<double>(Uniform(1, 1 << 30)),
                          static_cast<int>(Uniform(-60, 80)));
      case 7:
        return Coin() ? 9.0e15 + static_cast<double>(Uniform(0, 1000)) : -9.1e17;
      // The reference printed numbers beyond int64 through a 64-byte buffer
      // and read past it for 63+ characters (|value| >= ~1e58): compared up
      // to 1e50 here, the larger ones against printf in HugeNumbersAreWhole.
      case 8:
        return Coin() ? 1e40 : -3.5e50;
      case 9:
        return std::numeric_limits<double>::denorm_min();
      case 10:
        return 8.999999e18 / std::pow(10.0, static_cast<double>(Uniform(0, 6)));
      default:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
  }
  std::optional<double> MaybeDouble() {
    return Coin(70) ? std::optional<double>(Double()) : std::nullopt;
  }

  int64_t Int() {
    switch (Uniform(0, 4)) {
      case 0:
        return 0;
      case 1:
        return std::numeric_limits<int64_t>::max();
      case 2:
        return std::numeric_limits<int64_t>::min();
      case 3:
        return -Uniform(1, 1'000'000);
      default:
        return Uniform(0, 1'000'000'000);
    }
  }
  std::optional<int64_t> MaybeInt() {
    return Coin(70) ? std::optional<int64_t>(Int()) : std::nullopt;
  }
  std::optional<bool> MaybeBool() { return Coin(70) ? std::optional<bool>(Coin()) : std::nullopt; }

  std::string Text() {
    static const std::string kPieces[] = {"req-",
                                          "01M87CMSHWV53Y9FTCVG3P2WV7",
                                          "yolov8n",
                                          "cuda:0",
                                          "\"",
                                          "\\",
                                          "\n",
                                          "\t",
                                          "\r",
                                          "\b",
                                          "\f",
                                          std::string(1, '\0'),
                                          "\x01",
                                          "\x1f",
                                          "\x7f",
                                          "中文",
                                          "été",
                                          "\xff",
                                          "\xfe",
                                          "\xe4\xb8",
                                          "\xed\xa0\x80",
                                          "\xf0\x9f\x98\x80",
                                          "\xf4\x90\x80\x80",
                                          "\xc0\xaf",
                                          "\xe0\x80\xaf",
                                          " ",
                                          "/",
                                          "<script>",
                                          "queue full (12 requests)"};
    std::string s;
    const int64_t n = Uniform(0, 6);
    for (int64_t i = 0; i < n; ++i) s += kPieces[Uniform(0, std::size(kPieces) - 1)];
    if (Coin(10)) s += std::string(static_cast<size_t>(Uniform(100, 3000)), 'x');
    return s;
  }

  RequestLogRecord Request() {
    RequestLogRecord r;
    r.ts_us = Timestamp();
    r.request_id = Text();
    r.model = Text();
    r.backend = Text();
    r.device = Text();
    r.gpu_id = MaybeInt();
    r.input_w = MaybeInt();
    r.input_h = MaybeInt();
    r.input_bytes = MaybeInt();
    r.batch_id = MaybeInt();
    r.batch_size = MaybeInt();
    r.queue_len = MaybeInt();
    r.queue_ms = MaybeDouble();
    r.decode_ms = MaybeDouble();
    r.preprocess_ms = MaybeDouble();
    r.h2d_ms = MaybeDouble();
    r.inference_ms = MaybeDouble();
    r.d2h_ms = MaybeDouble();
    r.postprocess_ms = MaybeDouble();
    r.total_ms = MaybeDouble();
    r.detections = MaybeInt();
    r.status = Coin() ? "ok" : Text();
    r.error = Text();
    r.gpu_util = MaybeDouble();
    r.mem_used_mb = MaybeDouble();
    r.mem_total_mb = MaybeDouble();
    r.mem_reserved_mb = MaybeDouble();
    r.mem_allocated_mb = MaybeDouble();
    r.alloc_retries = MaybeInt();
    r.oom = MaybeBool();
    r.dropped_records = Coin(20) ? Int() : 0;
    return r;
  }

  BatchLogRecord Batch() {
    BatchLogRecord r;
    r.ts_us = Timestamp();
    r.batch_id = MaybeInt();
    r.batch_size = MaybeInt();
    r.model = Text();
    r.instance = MaybeInt();
    r.gpu_id = MaybeInt();
    r.h2d_ms = MaybeDouble();
    r.inference_ms = MaybeDouble();
    r.d2h_ms = MaybeDouble();
    r.busy_ms = MaybeDouble();
    r.mem_used_mb = MaybeDouble();
    r.mem_total_mb = MaybeDouble();
    r.mem_reserved_mb = MaybeDouble();
    r.mem_allocated_mb = MaybeDouble();
    r.mem_inactive_split_mb = MaybeDouble();
    r.alloc_retries = MaybeInt();
    r.oom = MaybeBool();
    r.dropped_records = Coin(20) ? Int() : 0;
    return r;
  }

  GpuLogRecord Gpu() {
    GpuLogRecord r;
    r.ts_us = Timestamp();
    r.gpu_id = MaybeInt();
    r.gpu_util = MaybeDouble();
    r.mem_used_mb = MaybeDouble();
    r.mem_total_mb = MaybeDouble();
    r.mem_other_processes_mb = MaybeDouble();
    r.sm_clock_mhz = MaybeDouble();
    r.temp_c = MaybeDouble();
    r.power_w = MaybeDouble();
    r.pcie_tx_mbs = MaybeDouble();
    r.pcie_rx_mbs = MaybeDouble();
    if (Coin(70)) r.throttle_reasons = Coin() ? std::string() : Text();
    r.dropped_records = Coin(20) ? Int() : 0;
    return r;
  }

 private:
  std::mt19937_64 rng_;
};

template <typename Record>
void ExpectSameLine(const Record& record, const std::string& prefix) {
  std::string expected = prefix, actual = prefix;
  reference::AppendJsonLine(record, &expected);
  AppendJsonLine(record, &actual);
  ASSERT_EQ(actual, expected);
}

TEST(JsonLineSerializerEquivalenceTest, RequestRecordsMatchTheReference) {
  RandomRecords random(1);
  for (int i = 0; i < 20000; ++i) {
    ExpectSameLine(random.Request(), random.Coin(20) ? random.Text() : std::string());
  }
}

TEST(JsonLineSerializerEquivalenceTest, BatchRecordsMatchTheReference) {
  RandomRecords random(2);
  for (int i = 0; i < 20000; ++i) ExpectSameLine(random.Batch(), std::string());
}

TEST(JsonLineSerializerEquivalenceTest, GpuRecordsMatchTheReference) {
  RandomRecords random(3);
  for (int i = 0; i < 20000; ++i) ExpectSameLine(random.Gpu(), std::string("{}\n"));
}

TEST(JsonLineSerializerEquivalenceTest, EmptyAndTypicalRecordsMatchTheReference) {
  ExpectSameLine(RequestLogRecord{}, "");
  ExpectSameLine(BatchLogRecord{}, "");
  ExpectSameLine(GpuLogRecord{}, "");
  RequestLogRecord r;
  r.ts_us = 1795544475196790;
  r.request_id = "01M87CMSHWV53Y9FTCVG3P2WV7";
  r.model = "fast-sim";
  r.backend = "sim";
  r.device = "sim:0";
  r.gpu_id = 0;
  r.queue_ms = 1.09;
  r.total_ms = 3.909;
  ExpectSameLine(r, "");
  // Consecutive timestamps across second, minute, day and year boundaries
  // (the optimized writer caches the formatted second per thread).
  for (int64_t base : {int64_t{1767225599999990}, int64_t{1767311999999995}, int64_t{0}}) {
    for (int64_t k = 0; k < 20; ++k) {
      r.ts_us = base + k;
      ExpectSameLine(r, "");
    }
  }
}

TEST(JsonLineSerializerEquivalenceTest, StringsAndNumbersMatchTheReference) {
  RandomRecords random(4);
  for (int i = 0; i < 20000; ++i) {
    const std::string text = random.Text();
    std::string expected = "x", actual = "x";
    reference::AppendJsonString(text, &expected);
    AppendJsonString(text, &actual);
    ASSERT_EQ(actual, expected);
    const double v = random.Double();
    const int decimals = static_cast<int>(random.Uniform(-2, 8));
    expected.clear();
    actual.clear();
    reference::AppendJsonNumber(v, decimals, &expected);
    AppendJsonNumber(v, decimals, &actual);
    ASSERT_EQ(actual, expected) << v << " " << decimals;
  }
}

TEST(JsonLineSerializerEquivalenceTest, HugeNumbersAreWhole) {
  for (double v : {1e300, -std::numeric_limits<double>::max(), 1e60, -1e200}) {
    for (int decimals : {0, 1, 3, 6}) {
      char expected[400];
      std::snprintf(expected, sizeof(expected), "%.*f", decimals, v);
      std::string actual;
      AppendJsonNumber(v, decimals, &actual);
      EXPECT_EQ(actual, expected);
    }
  }
  RequestLogRecord r;
  r.ts_us = 1767225600000000;
  r.mem_used_mb = -std::numeric_limits<double>::max();
  std::string line;
  AppendJsonLine(r, &line);
  char number[400];
  std::snprintf(number, sizeof(number), "%.1f", -std::numeric_limits<double>::max());
  EXPECT_NE(line.find(std::string("\"mem_used_mb\":") + number + "}"), std::string::npos) << line;
}

TEST(JsonLineSerializerEquivalenceTest, ReusedBufferDoesNotReallocate) {
  RandomRecords random(5);
  std::string line;
  line.reserve(1 << 16);
  const char* data = line.data();
  for (int i = 0; i < 1000; ++i) {
    RequestLogRecord r = random.Request();
    r.error.resize(std::min<size_t>(r.error.size(), 100));
    r.request_id.resize(std::min<size_t>(r.request_id.size(), 100));
    line.clear();
    AppendJsonLine(r, &line);
    ASSERT_EQ(line.data(), data);
    ASSERT_EQ(line.back(), '\n');
  }
}

}  // namespace
}  // namespace yoloscope
