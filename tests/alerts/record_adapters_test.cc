// ToLogRecord gives the engine what a reader of the written line would get.
#include "alerts/record_adapters.h"

#include <gtest/gtest.h>

#include "alerts/metric_samples.h"
#include "alerts/test_records.h"
#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

using testing::kT0;

void ExpectSameSamples(const LogRecord& a, const LogRecord& b) {
  MetricSamples sa, sb;
  ASSERT_TRUE(ExtractMetricSamples(a, &sa));
  ASSERT_TRUE(ExtractMetricSamples(b, &sb));
  EXPECT_EQ(sa.event_us, sb.event_us);
  EXPECT_EQ(sa.from_telemetry, sb.from_telemetry);
  for (size_t i = 0; i < kNumAlertMetrics; ++i) {
    const auto m = static_cast<AlertMetric>(i);
    EXPECT_EQ(sa.Has(m), sb.Has(m)) << GetMetricInfo(m).name;
    if (sa.Has(m) && sb.Has(m)) {
      EXPECT_NEAR(sa.Get(m), sb.Get(m), 1e-3) << GetMetricInfo(m).name;
    }
  }
}

TEST(RecordAdaptersTest, RequestMatchesItsLogLine) {
  RequestLogRecord r;
  r.ts_us = kT0 + 1234;
  r.request_id = "req-1";
  r.model = "yolov8n";
  r.backend = "sim";
  r.device = "cuda:0";
  r.gpu_id = 0;
  r.batch_id = 7;
  r.batch_size = 4;
  r.queue_len = 12;
  r.queue_ms = 3.5;
  r.inference_ms = 101.25;
  r.total_ms = 250.5;
  r.status = "oom";
  r.error = "CUDA out of memory";
  r.mem_used_mb = 950;
  r.mem_total_mb = 1000;
  r.gpu_util = 88;
  r.alloc_retries = 1;
  r.dropped_records = 3;
  const LogRecord direct = ToLogRecord(r);
  EXPECT_EQ(direct.kind, RecordKind::kRequest);
  EXPECT_EQ(direct.model, "yolov8n");
  EXPECT_EQ(direct.status, "oom");
  EXPECT_EQ(direct.dropped_records, 3);
  std::string line;
  AppendJsonLine(r, &line);
  const auto parsed = testing::ParseJsonLine(line);
  ExpectSameSamples(direct, parsed->record);
}

TEST(RecordAdaptersTest, BatchAndGpuMatchTheirLogLines) {
  BatchLogRecord b;
  b.ts_us = kT0;
  b.batch_id = 3;
  b.batch_size = 8;
  b.model = "m";
  b.inference_ms = 40;
  b.mem_used_mb = 500;
  b.mem_total_mb = 1000;
  b.alloc_retries = 2;
  b.oom = true;
  std::string line;
  AppendJsonLine(b, &line);
  ExpectSameSamples(ToLogRecord(b), testing::ParseJsonLine(line)->record);
  EXPECT_EQ(ToLogRecord(b).kind, RecordKind::kBatch);

  GpuLogRecord g;
  g.ts_us = kT0;
  g.gpu_id = 1;
  g.gpu_util = 97.5;
  g.mem_used_mb = 79000;
  g.mem_total_mb = 81559;
  g.temp_c = 81;
  g.power_w = 650;
  g.throttle_reasons = "hw_thermal_slowdown";
  line.clear();
  AppendJsonLine(g, &line);
  ExpectSameSamples(ToLogRecord(g), testing::ParseJsonLine(line)->record);
  EXPECT_EQ(ToLogRecord(g).throttle_reasons, "hw_thermal_slowdown");
  EXPECT_FALSE(ToLogRecord(g).dropped_records.has_value());
}

}  // namespace
}  // namespace yoloscope
