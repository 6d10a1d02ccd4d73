#include "alerts/alert_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "alerts/metric_samples.h"
#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using testing::Gpu;
using testing::kSecond;
using testing::kT0;
using testing::Request;

std::unique_ptr<AlertEngine> MakeEngine(const std::string& yaml, AlertEngineConfig config = {}) {
  auto rules = RuleSet::LoadYaml(yaml, "test.yaml");
  EXPECT_TRUE(rules.ok()) << rules.status().ToString();
  auto engine = AlertEngine::Create(std::move(rules).value(), config);
  EXPECT_TRUE(engine.ok());
  return std::move(engine).value();
}

// One request per second with the given inference time, in second s.
void FeedInference(AlertEngine* e, int64_t s, double inference_ms) {
  e->Observe(Request(kT0 + s * kSecond + 100'000, inference_ms));
}

constexpr const char* kSlowRule = R"yaml(rules:
  - name: Slow
    metric: inference_ms
    aggregation: max
    window: 1s
    comparator: ">"
    threshold: 100
    for: 5s
    severity: page
    labels: {team: vision}
    annotations:
      summary: "inference {{ $value }} ms on {{ $labels.instance }} ({{ $labels.team }})"
)yaml";

// Evaluates at second s, after feeding second s-1; returns the transitions.
std::vector<AlertTransition> Step(AlertEngine* e, int64_t s, double inference_ms) {
  FeedInference(e, s - 1, inference_ms);
  return e->Evaluate(kT0 + s * kSecond);
}

TEST(AlertEngineTest, PendingDoesNotFireBeforeFor) {
  AlertEngineConfig config;
  config.external_labels = {{"instance", "box1"}, {"team", "ignored"}};
  auto e = MakeEngine(kSlowRule, config);
  EXPECT_TRUE(Step(e.get(), 1, 50).empty());
  auto t = Step(e.get(), 2, 150);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kPending);
  EXPECT_EQ(t[0].started_at_us, kT0 + 2 * kSecond);
  EXPECT_FALSE(t[0].fired_at_us.has_value());
  for (int s = 3; s <= 6; ++s) EXPECT_TRUE(Step(e.get(), s, 150).empty()) << s;  // 4 s pending
  auto fired = Step(e.get(), 7, 150);                                            // held 5 s: fires
  ASSERT_EQ(fired.size(), 1u);
  const AlertTransition& f = fired[0];
  EXPECT_EQ(f.state, AlertState::kFiring);
  EXPECT_EQ(f.rule, "Slow");
  EXPECT_EQ(f.severity, "page");
  EXPECT_EQ(f.fired_at_us, kT0 + 7 * kSecond);
  EXPECT_EQ(f.started_at_us, kT0 + 2 * kSecond);
  EXPECT_DOUBLE_EQ(f.value, 150);
  EXPECT_DOUBLE_EQ(f.fired_value, 150);
  EXPECT_EQ(f.labels.at("alertname"), "Slow");
  EXPECT_EQ(f.labels.at("severity"), "page");
  EXPECT_EQ(f.labels.at("instance"), "box1");
  EXPECT_EQ(f.labels.at("team"), "vision");  // rule labels win over external ones
  EXPECT_EQ(f.annotations.at("summary"), "inference 150 ms on box1 (vision)");
  EXPECT_EQ(f.metric, "inference_ms");
  EXPECT_EQ(f.aggregation, "max");
  EXPECT_EQ(f.comparator, ">");
  ASSERT_EQ(e->ActiveAlerts().size(), 1u);
  EXPECT_EQ(e->ActiveAlerts()[0].state, AlertState::kFiring);
}

TEST(AlertEngineTest, PendingEndsWithoutFiringWhenTheConditionBreaks) {
  auto e = MakeEngine(kSlowRule);
  ASSERT_EQ(Step(e.get(), 1, 150)[0].state, AlertState::kPending);
  EXPECT_TRUE(Step(e.get(), 2, 150).empty());
  auto t = Step(e.get(), 3, 80);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kInactive);
  // The `for` clock restarts from the next breach.
  ASSERT_EQ(Step(e.get(), 4, 150)[0].state, AlertState::kPending);
  for (int s = 5; s <= 8; ++s) EXPECT_TRUE(Step(e.get(), s, 150).empty());
  EXPECT_EQ(Step(e.get(), 9, 150)[0].state, AlertState::kFiring);
  EXPECT_TRUE(e->ActiveAlerts().size() == 1);
}

constexpr const char* kHoverRule = R"(rules:
  - name: Hover
    metric: inference_ms
    aggregation: max
    window: 1s
    threshold: 100
)";

// A value hovering around the threshold fires once and does not flap.
TEST(AlertEngineTest, HysteresisStopsFlapping) {
  auto e = MakeEngine(kHoverRule);  // default hysteresis: resolves at <= 95
  int fired = 0, resolved = 0;
  for (int s = 1; s <= 40; ++s) {
    const double v = (s % 2) ? 101 : 97;  // 101, 97, 101, 97, ...
    for (const auto& t : Step(e.get(), s, v)) {
      fired += t.state == AlertState::kFiring;
      resolved += t.state == AlertState::kResolved;
    }
  }
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(resolved, 0);
  // Clearly below: resolves.
  auto t = Step(e.get(), 41, 95);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kResolved);
  EXPECT_EQ(t[0].resolved_at_us, kT0 + 41 * kSecond);
  EXPECT_EQ(t[0].fired_at_us, kT0 + 1 * kSecond);
  EXPECT_DOUBLE_EQ(t[0].fired_value, 101);
  EXPECT_DOUBLE_EQ(t[0].peak, 101);
  EXPECT_DOUBLE_EQ(t[0].value, 95);
  EXPECT_TRUE(e->ActiveAlerts().empty());
}

TEST(AlertEngineTest, WithoutHysteresisTheSameSignalFlaps) {
  auto e = MakeEngine(std::string("hysteresis: 0\n") + kHoverRule);
  int fired = 0, resolved = 0;
  for (int s = 1; s <= 40; ++s) {
    for (const auto& t : Step(e.get(), s, (s % 2) ? 101 : 97)) {
      fired += t.state == AlertState::kFiring;
      resolved += t.state == AlertState::kResolved;
    }
  }
  EXPECT_EQ(fired, 20);
  EXPECT_EQ(resolved, 20);
}

TEST(AlertEngineTest, ResolveForAndExplicitResolveThreshold) {
  auto e = MakeEngine(R"(rules:
  - name: R
    metric: inference_ms
    aggregation: max
    window: 1s
    threshold: 100
    resolve_threshold: 50
    resolve_for: 3s
)");
  ASSERT_EQ(Step(e.get(), 1, 200)[0].state, AlertState::kFiring);
  EXPECT_TRUE(Step(e.get(), 2, 60).empty());  // above 50: still firing
  EXPECT_TRUE(Step(e.get(), 3, 40).empty());  // clear since 3
  EXPECT_TRUE(Step(e.get(), 4, 40).empty());
  EXPECT_TRUE(Step(e.get(), 5, 70).empty());  // not clear: the resolve clock restarts
  EXPECT_TRUE(Step(e.get(), 6, 40).empty());  // clear since 6
  EXPECT_TRUE(Step(e.get(), 7, 40).empty());
  EXPECT_TRUE(Step(e.get(), 8, 40).empty());
  auto t = Step(e.get(), 9, 40);  // clear for 3 s
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kResolved);
  EXPECT_DOUBLE_EQ(t[0].peak, 200);
}

TEST(AlertEngineTest, NoDataResolvesAndCountRulesFireOnSilence) {
  auto e = MakeEngine(R"(rules:
  - name: Slow
    metric: inference_ms
    window: 2s
    threshold: 100
  - name: Silent
    metric: request_rate
    aggregation: count
    window: 3s
    comparator: "<"
    threshold: 1
    for: 2s
)");
  FeedInference(e.get(), 0, 300);
  auto t = e->Evaluate(kT0 + 1 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].rule, "Slow");
  EXPECT_EQ(t[0].state, AlertState::kFiring);
  // Traffic stops: the mean becomes undefined (resolves), the count reaches 0.
  t = e->Evaluate(kT0 + 3 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kResolved);
  EXPECT_TRUE(std::isnan(t[0].value));
  t = e->Evaluate(kT0 + 4 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].rule, "Silent");
  EXPECT_EQ(t[0].state, AlertState::kPending);
  EXPECT_DOUBLE_EQ(t[0].value, 0);
  t = e->Evaluate(kT0 + 6 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kFiring);
  EXPECT_FALSE(e->Quiescent(kT0 + 7 * kSecond));
}

TEST(AlertEngineTest, WindowsForgetOldValues) {
  auto e = MakeEngine(R"(rules:
  - name: MeanSlow
    metric: inference_ms
    aggregation: mean
    window: 10s
    threshold: 100
)");
  // 10 s at 150 ms: fires. Then 50 ms: the mean falls as 150s leave the window.
  for (int s = 0; s < 10; ++s) FeedInference(e.get(), s, 150);
  ASSERT_EQ(e->Evaluate(kT0 + 10 * kSecond).size(), 1u);
  int resolved_at = -1;
  for (int s = 10; s < 30 && resolved_at < 0; ++s) {
    FeedInference(e.get(), s, 50);
    for (const auto& t : e->Evaluate(kT0 + (s + 1) * kSecond)) {
      if (t.state == AlertState::kResolved) resolved_at = s + 1;
    }
  }
  // mean <= 95 once at most 4 of the 10 seconds are at 150: (4*150 + 6*50)/10 = 90;
  // 5 of 10 gives exactly 100 (> 95).
  EXPECT_EQ(resolved_at, 16);
}

TEST(AlertEngineTest, GroupByMakesOneAlertPerGroup) {
  auto e = MakeEngine(R"(rules:
  - name: GpuMem
    metric: mem_used_pct
    aggregation: last
    window: 5s
    threshold: 90
    group_by: [gpu_id]
    annotations: {summary: "GPU {{ $labels.gpu_id }} at {{ $value | printf \"%.0f\" }}%"}
)");
  e->Observe(Gpu(kT0, 0, 95, 100));
  e->Observe(Gpu(kT0, 1, 50, 100));
  auto t = e->Evaluate(kT0 + kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].labels.at("gpu_id"), "0");
  EXPECT_EQ(t[0].annotations.at("summary"), "GPU 0 at 95%");
  e->Observe(Gpu(kT0 + kSecond, 1, 99, 100));
  t = e->Evaluate(kT0 + 2 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].labels.at("gpu_id"), "1");
  EXPECT_EQ(e->ActiveAlerts().size(), 2u);
}

TEST(AlertEngineTest, SeriesLimitDropsSamplesOfNewGroups) {
  AlertEngineConfig config;
  config.max_series_per_rule = 2;
  auto e = MakeEngine(R"(rules:
  - name: GpuMem
    metric: mem_used_pct
    threshold: 90
    group_by: [gpu_id]
)",
                      config);
  for (int g = 0; g < 4; ++g) e->Observe(Gpu(kT0, g, 99, 100));
  EXPECT_EQ(e->Evaluate(kT0 + kSecond).size(), 2u);
  EXPECT_EQ(e->stats().series_overflow, 2);
  // Idle, resolved groups are forgotten, making room again.
  e->Evaluate(kT0 + 100 * kSecond);
  e->Observe(Gpu(kT0 + 100 * kSecond, 3, 99, 100));
  auto t = e->Evaluate(kT0 + 101 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].labels.at("gpu_id"), "3");
}

TEST(AlertEngineTest, RequestsCountWhenTheyComplete) {
  auto e = MakeEngine(R"(rules:
  - name: SlowTotal
    metric: total_ms
    aggregation: max
    window: 1s
    threshold: 1000
)");
  // Arrived at 0.5 s, took 3 s: counts in second 3.
  e->Observe(Request(kT0 + 500'000, std::nullopt, 3000));
  EXPECT_TRUE(e->Evaluate(kT0 + 1 * kSecond).empty());
  EXPECT_TRUE(e->Evaluate(kT0 + 3 * kSecond).empty());
  auto t = e->Evaluate(kT0 + 4 * kSecond);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].state, AlertState::kFiring);
}

// Issue 16: latency rules see served requests only; refused and failed
// requests still count in the request and error rates.
TEST(AlertEngineTest, LatencyMetricsComeFromServedRequestsOnly) {
  MetricSamples s;
  LogRecord refused = Request(kT0, 0.1, 0.2);
  refused.status = "queue_full";
  ASSERT_TRUE(ExtractMetricSamples(refused, &s));
  EXPECT_FALSE(s.Has(AlertMetric::kTotalMs));
  EXPECT_FALSE(s.Has(AlertMetric::kInferenceMs));
  EXPECT_EQ(s.Get(AlertMetric::kErrorRate), 1);
  EXPECT_EQ(s.Get(AlertMetric::kRequestRate), 1);

  LogRecord served = Request(kT0, 30.0, 1200.0);
  served.status = "Success";  // a foreign log's word for ok.
  ASSERT_TRUE(ExtractMetricSamples(served, &s));
  EXPECT_EQ(s.Get(AlertMetric::kTotalMs), 1200.0);
  EXPECT_EQ(s.Get(AlertMetric::kErrorRate), 0);
}

// A mask of wanted metrics leaves the others NaN and changes none of the
// wanted ones, whatever the record.
TEST(AlertEngineTest, MetricExtractionOfWantedMetricsOnly) {
  std::vector<LogRecord> records;
  LogRecord r = Request(kT0, 5.0, 20.0);
  r.queue_ms = 3;
  r.queue_len = 2;
  r.batch_size = 4;
  r.alloc_retries = 1;
  r.mem_used_mb = 900;
  r.mem_total_mb = 1000;
  r.gpu_util = 50;
  records.push_back(r);
  r.status = "CUDA out of memory";
  records.push_back(r);
  r.status = "ok";
  r.oom = false;
  r.batch_id = 3;
  records.push_back(r);
  r.status = "";
  r.error = "oom";
  r.oom.reset();
  records.push_back(r);
  LogRecord batch;
  batch.kind = RecordKind::kBatch;
  batch.ts_us = kT0;
  batch.batch_size = 8;
  batch.status = "oom";
  records.push_back(batch);
  LogRecord gpu;
  gpu.kind = RecordKind::kGpu;
  gpu.ts_us = kT0;
  gpu.temp_c = 80;
  gpu.power_w = 250;
  gpu.mem_used_mb = 10;
  gpu.mem_total_mb = 100;
  records.push_back(gpu);
  for (const LogRecord& record : records) {
    MetricSamples all;
    ASSERT_TRUE(ExtractMetricSamples(record, &all));
    for (size_t m = 0; m < kNumAlertMetrics; ++m) {
      const auto metric = static_cast<AlertMetric>(m);
      MetricSamples one;
      ASSERT_TRUE(ExtractMetricSamples(record, &one, MetricBit(metric)));
      EXPECT_EQ(one.event_us, all.event_us);
      EXPECT_EQ(one.from_telemetry, all.from_telemetry);
      for (size_t k = 0; k < kNumAlertMetrics; ++k) {
        const double want = k == m ? all.values[k] : std::nan("");
        if (std::isnan(want)) {
          EXPECT_TRUE(std::isnan(one.values[k])) << "metric " << m << " value " << k;
        } else {
          EXPECT_EQ(one.values[k], want) << "metric " << m << " value " << k;
        }
      }
    }
  }
}

TEST(AlertEngineTest, MetricExtraction) {
  MetricSamples s;
  LogRecord batch;
  batch.kind = RecordKind::kBatch;
  batch.ts_us = kT0;
  batch.batch_id = 7;
  batch.batch_size = 4;
  batch.oom = true;
  batch.alloc_retries = 2;
  batch.mem_used_mb = 900;
  batch.mem_total_mb = 1000;
  ASSERT_TRUE(ExtractMetricSamples(batch, &s));
  EXPECT_EQ(s.Get(AlertMetric::kOomCount), 1);
  EXPECT_EQ(s.Get(AlertMetric::kAllocRetries), 2);
  EXPECT_EQ(s.Get(AlertMetric::kBatchSize), 4);
  EXPECT_DOUBLE_EQ(s.Get(AlertMetric::kMemUsedPct), 90);
  EXPECT_FALSE(s.Has(AlertMetric::kRequestRate));

  // A request of that batch: its OOM was counted on the batch record.
  LogRecord req = Request(kT0, 5.0, 20.0);
  req.batch_id = 7;
  req.batch_size = 4;
  req.oom = true;
  req.status = "oom";
  req.queue_len = 3;
  ASSERT_TRUE(ExtractMetricSamples(req, &s));
  EXPECT_FALSE(s.Has(AlertMetric::kOomCount));
  EXPECT_FALSE(s.Has(AlertMetric::kBatchSize));
  EXPECT_EQ(s.Get(AlertMetric::kErrorRate), 1);
  EXPECT_EQ(s.Get(AlertMetric::kRequestRate), 1);
  EXPECT_EQ(s.Get(AlertMetric::kQueueLen), 3);
  EXPECT_EQ(s.event_us, kT0 + 20'000);
  // Without allocator information the request reports the OOM itself.
  req.oom.reset();
  ASSERT_TRUE(ExtractMetricSamples(req, &s));
  EXPECT_EQ(s.Get(AlertMetric::kOomCount), 1);
  // A request without a batch (a foreign log) carries its batch facts.
  req.batch_id.reset();
  req.status = "ok";
  ASSERT_TRUE(ExtractMetricSamples(req, &s));
  EXPECT_EQ(s.Get(AlertMetric::kOomCount), 0);
  EXPECT_EQ(s.Get(AlertMetric::kBatchSize), 4);
  EXPECT_EQ(s.Get(AlertMetric::kErrorRate), 0);

  LogRecord alert;
  alert.kind = RecordKind::kAlert;
  alert.ts_us = kT0;
  EXPECT_FALSE(ExtractMetricSamples(alert, &s));
  LogRecord no_ts = Request(0);
  no_ts.ts_us.reset();
  EXPECT_FALSE(ExtractMetricSamples(no_ts, &s));

  EXPECT_TRUE(IsAlertOomText("CUDA out of memory"));
  EXPECT_TRUE(IsAlertOomText("oom"));
  EXPECT_TRUE(IsAlertOomText("cuda_OOM"));
  EXPECT_FALSE(IsAlertOomText("room"));
}

TEST(AlertEngineTest, ObserveAndEvaluateFromManyThreads) {
  auto e = MakeEngine(R"(rules:
  - name: Count
    metric: request_rate
    aggregation: count
    window: 60s
    threshold: 1000000
  - name: P99
    metric: inference_ms
    aggregation: p99
    window: 60s
    threshold: 1000000
)");
  std::atomic<bool> stop{false};
  std::thread evaluator([&] {
    int64_t s = 1;
    while (!stop.load()) e->Evaluate(kT0 + (s++ % 50) * kSecond);
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 5000; ++i) FeedInference(e.get(), (i + w) % 50, i % 300);
    });
  }
  for (auto& t : workers) t.join();
  stop = true;
  evaluator.join();
  EXPECT_EQ(e->stats().records, 20000);
  EXPECT_EQ(e->stats().samples, 40000);
}

}  // namespace
}  // namespace yoloscope
