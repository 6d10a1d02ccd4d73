// The reqlog serializer, and round trips through the JSONL reader.
#include "reqlog/json_line_serializer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "analyzer/readers/jsonl_parser.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

std::string Number(double v, int decimals) {
  std::string s;
  AppendJsonNumber(v, decimals, &s);
  return s;
}

std::string Quoted(std::string_view text) {
  std::string s;
  AppendJsonString(text, &s);
  return s;
}

TEST(JsonLineSerializerTest, FormatsNumbers) {
  EXPECT_EQ(Number(12.5, 3), "12.5");
  EXPECT_EQ(Number(7, 3), "7");
  EXPECT_EQ(Number(0.0004, 3), "0");
  EXPECT_EQ(Number(0.0005, 3), "0.001");
  EXPECT_EQ(Number(3.14159, 3), "3.142");
  EXPECT_EQ(Number(-2.25, 1), "-2.3");  // llround: half away from zero
  EXPECT_EQ(Number(1234567.891, 1), "1234567.9");
  EXPECT_EQ(Number(0.012, 3), "0.012");
  EXPECT_EQ(Number(1e30, 3), "1000000000000000019884624838656.000");
  EXPECT_EQ(Number(NAN, 3), "null");
  EXPECT_EQ(Number(INFINITY, 3), "null");
}

TEST(JsonLineSerializerTest, EscapesStrings) {
  EXPECT_EQ(Quoted("plain"), "\"plain\"");
  EXPECT_EQ(Quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quoted("l1\nl2\tx\r\b\f"), "\"l1\\nl2\\tx\\r\\b\\f\"");
  EXPECT_EQ(Quoted(std::string_view("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(Quoted("中文 été"), "\"中文 été\"");  // valid UTF-8 passes through
  EXPECT_EQ(Quoted("bad\xff\xfe"), "\"bad\\ufffd\\ufffd\"");
  EXPECT_EQ(Quoted("cut\xe4\xb8"), "\"cut\\ufffd\\ufffd\"");       // truncated sequence
  EXPECT_EQ(Quoted("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(JsonLineSerializerTest, WritesEnvelopeAndOmitsUnknowns) {
  RequestLogRecord r;
  r.ts_us = 1767225600123456;
  r.request_id = "req-1";
  std::string line;
  AppendJsonLine(r, &line);
  EXPECT_EQ(line,
            "{\"event\":\"request\",\"schema\":\"yoloscope.v1\",\"ts\":\"2026-01-01T00:00:00."
            "123456Z\",\"request_id\":\"req-1\",\"gpu_id\":null,\"status\":\"ok\"}\n");

  GpuLogRecord g;
  g.ts_us = 1767225600000000;
  g.gpu_id = 1;
  g.throttle_reasons = "";
  g.dropped_records = 5;
  line.clear();
  AppendJsonLine(g, &line);
  EXPECT_EQ(line,
            "{\"event\":\"gpu\",\"schema\":\"yoloscope.v1\",\"ts\":\"2026-01-01T00:00:00.000000Z\","
            "\"gpu_id\":1,\"throttle_reasons\":\"\",\"dropped_records\":5}\n");
}

TEST(JsonLineSerializerTest, AppendsWithoutReallocatingWhenCapacityAllows) {
  RequestLogRecord r;
  r.ts_us = 1767225600000000;
  r.request_id = "req-2";
  r.total_ms = 12.5;
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  for (int i = 0; i < 10; ++i) AppendJsonLine(r, &out);
  EXPECT_EQ(out.data(), data);
}

class RoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto parser = JsonlParser::Create();
    ASSERT_TRUE(parser.ok()) << parser.status().ToString();
    parser_ = std::move(parser).value();
  }

  // Parses one serialized line (which ends with '\n').
  LogRecord Parse(const std::string& line) {
    buffer_ = line;
    buffer_.resize(line.size() + JsonlParser::kPadding, ' ');
    LogRecord record;
    EXPECT_EQ(
        parser_->Parse(std::string_view(buffer_.data(), line.size() - 1), buffer_.size(), &record),
        JsonlParser::Outcome::kRecord)
        << parser_->why();
    EXPECT_FALSE(parser_->had_field_error()) << parser_->why();
    return record;
  }

  std::unique_ptr<JsonlParser> parser_;
  std::string buffer_;
};

TEST_F(RoundTripTest, Request) {
  RequestLogRecord r;
  r.ts_us = 1767225600123456;
  r.request_id = "req-\"quoted\"\n中文";
  r.model = "yolov8n";
  r.backend = "torch";
  r.device = "cuda:0";
  r.gpu_id = 0;
  r.input_w = 1280;
  r.input_h = 720;
  r.input_bytes = 160123;
  r.batch_id = 42;
  r.batch_size = 8;
  r.queue_len = 3;
  r.queue_ms = 1.25;
  r.decode_ms = 2.001;
  r.preprocess_ms = 1.6;
  r.h2d_ms = 0.512;
  r.inference_ms = 7.25;
  r.d2h_ms = 0.21;
  r.postprocess_ms = 0.9;
  r.total_ms = 13.723;
  r.detections = 4;
  r.status = "oom";
  r.error = "CUDA out of memory\tTried \\ to allocate";
  r.gpu_util = 97.5;
  r.mem_used_mb = 24000.5;
  r.mem_total_mb = 24564;
  r.mem_reserved_mb = 23000;
  r.mem_allocated_mb = 21000.3;
  r.alloc_retries = 2;
  r.oom = true;
  r.dropped_records = 11;
  std::string line;
  AppendJsonLine(r, &line);
  const LogRecord p = Parse(line);
  EXPECT_EQ(p.kind, RecordKind::kRequest);
  EXPECT_EQ(p.ts_us, r.ts_us);
  EXPECT_FALSE(p.ts_monotonic);
  EXPECT_EQ(p.request_id, r.request_id);
  EXPECT_EQ(p.model, r.model);
  EXPECT_EQ(p.backend, r.backend);
  EXPECT_EQ(p.device, r.device);
  EXPECT_EQ(p.gpu_id, r.gpu_id);
  EXPECT_EQ(p.input_w, r.input_w);
  EXPECT_EQ(p.input_h, r.input_h);
  EXPECT_EQ(p.input_bytes, r.input_bytes);
  EXPECT_EQ(p.batch_id, r.batch_id);
  EXPECT_EQ(p.batch_size, r.batch_size);
  EXPECT_EQ(p.queue_len, r.queue_len);
  EXPECT_EQ(p.queue_ms, r.queue_ms);
  EXPECT_EQ(p.decode_ms, r.decode_ms);
  EXPECT_EQ(p.preprocess_ms, r.preprocess_ms);
  EXPECT_EQ(p.h2d_ms, r.h2d_ms);
  EXPECT_EQ(p.inference_ms, r.inference_ms);
  EXPECT_EQ(p.d2h_ms, r.d2h_ms);
  EXPECT_EQ(p.postprocess_ms, r.postprocess_ms);
  EXPECT_EQ(p.total_ms, r.total_ms);
  EXPECT_EQ(p.detections, r.detections);
  EXPECT_EQ(p.status, r.status);
  EXPECT_EQ(p.error, r.error);
  EXPECT_EQ(p.gpu_util, r.gpu_util);
  EXPECT_EQ(p.mem_used_mb, r.mem_used_mb);
  EXPECT_EQ(p.mem_total_mb, r.mem_total_mb);
  EXPECT_EQ(p.mem_reserved_mb, r.mem_reserved_mb);
  EXPECT_EQ(p.mem_allocated_mb, r.mem_allocated_mb);
  EXPECT_EQ(p.alloc_retries, r.alloc_retries);
  EXPECT_EQ(p.oom, r.oom);
  EXPECT_EQ(p.dropped_records, r.dropped_records);
}

TEST_F(RoundTripTest, RequestUnknownsStayUnknown) {
  RequestLogRecord r;
  r.ts_us = 1767225600000001;
  r.request_id = "cpu-1";
  r.device = "cpu";
  r.status = "";
  std::string line;
  AppendJsonLine(r, &line);
  const LogRecord p = Parse(line);
  EXPECT_EQ(p.request_id, "cpu-1");
  EXPECT_FALSE(p.gpu_id.has_value());  // written as null
  EXPECT_FALSE(p.queue_ms.has_value());
  EXPECT_FALSE(p.total_ms.has_value());
  EXPECT_FALSE(p.oom.has_value());
  EXPECT_FALSE(p.dropped_records.has_value());
  EXPECT_TRUE(p.status.empty());
  EXPECT_TRUE(p.error.empty());
}

TEST_F(RoundTripTest, Batch) {
  BatchLogRecord b;
  b.ts_us = 1767225600500000;
  b.batch_id = 7;
  b.batch_size = 4;
  b.model = "yolov8s";
  b.instance = 1;
  b.gpu_id = 1;
  b.h2d_ms = 1.5;
  b.inference_ms = 20.125;
  b.d2h_ms = 0.5;
  b.mem_used_mb = 9000;
  b.mem_total_mb = 24564;
  b.mem_reserved_mb = 8500.5;
  b.mem_allocated_mb = 8000;
  b.mem_inactive_split_mb = 300.2;
  b.alloc_retries = 0;
  b.oom = false;
  std::string line;
  AppendJsonLine(b, &line);
  const LogRecord p = Parse(line);
  EXPECT_EQ(p.kind, RecordKind::kBatch);
  EXPECT_EQ(p.ts_us, b.ts_us);
  EXPECT_EQ(p.batch_id, b.batch_id);
  EXPECT_EQ(p.batch_size, b.batch_size);
  EXPECT_EQ(p.model, b.model);
  EXPECT_EQ(p.instance, b.instance);
  EXPECT_EQ(p.gpu_id, b.gpu_id);
  EXPECT_EQ(p.h2d_ms, b.h2d_ms);
  EXPECT_EQ(p.inference_ms, b.inference_ms);
  EXPECT_EQ(p.d2h_ms, b.d2h_ms);
  EXPECT_EQ(p.mem_used_mb, b.mem_used_mb);
  EXPECT_EQ(p.mem_total_mb, b.mem_total_mb);
  EXPECT_EQ(p.mem_reserved_mb, b.mem_reserved_mb);
  EXPECT_EQ(p.mem_allocated_mb, b.mem_allocated_mb);
  EXPECT_EQ(p.mem_inactive_split_mb, b.mem_inactive_split_mb);
  EXPECT_EQ(p.alloc_retries, b.alloc_retries);
  EXPECT_EQ(p.oom, b.oom);
}

TEST_F(RoundTripTest, Gpu) {
  GpuLogRecord g;
  g.ts_us = 1767225601000000;
  g.gpu_id = 3;
  g.gpu_util = 88.5;
  g.mem_used_mb = 20000;
  g.mem_total_mb = 24564;
  g.mem_other_processes_mb = 8192;
  g.sm_clock_mhz = 1095;
  g.temp_c = 89.5;
  g.power_w = 299.9;
  g.pcie_tx_mbs = 512.3;
  g.pcie_rx_mbs = 128;
  g.throttle_reasons = "hw_thermal_slowdown,sw_thermal_slowdown";
  std::string line;
  AppendJsonLine(g, &line);
  const LogRecord p = Parse(line);
  EXPECT_EQ(p.kind, RecordKind::kGpu);
  EXPECT_EQ(p.ts_us, g.ts_us);
  EXPECT_EQ(p.gpu_id, g.gpu_id);
  EXPECT_EQ(p.gpu_util, g.gpu_util);
  EXPECT_EQ(p.mem_used_mb, g.mem_used_mb);
  EXPECT_EQ(p.mem_total_mb, g.mem_total_mb);
  EXPECT_EQ(p.mem_other_processes_mb, g.mem_other_processes_mb);
  EXPECT_EQ(p.sm_clock_mhz, g.sm_clock_mhz);
  EXPECT_EQ(p.temp_c, g.temp_c);
  EXPECT_EQ(p.power_w, g.power_w);
  EXPECT_EQ(p.pcie_tx_mbs, g.pcie_tx_mbs);
  EXPECT_EQ(p.pcie_rx_mbs, g.pcie_rx_mbs);
  EXPECT_EQ(p.throttle_reasons, *g.throttle_reasons);
}

TEST_F(RoundTripTest, RoundsToTheWrittenPrecision) {
  RequestLogRecord r;
  r.ts_us = 1767225600000000;
  r.request_id = "x";
  r.total_ms = 1.23456;  // ms: 3 decimals
  r.gpu_util = 45.67;    // gauges: 1 decimal
  std::string line;
  AppendJsonLine(r, &line);
  const LogRecord p = Parse(line);
  EXPECT_EQ(p.total_ms, 1.235);
  EXPECT_EQ(p.gpu_util, 45.7);
}

}  // namespace
}  // namespace yoloscope
