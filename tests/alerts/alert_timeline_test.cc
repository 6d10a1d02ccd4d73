#include "alerts/alert_timeline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "alerts/alert_timeline_report.h"
#include "alerts/test_records.h"
#include "alerts/window_aggregator.h"

namespace yoloscope {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;
using testing::OwnedRecord;

// Recorded with `yoloscope serve -b sim -m configs/sim/squeeze.yaml` under
// 4 requests/s: a co-tenant takes the card's memory at 20-50 s; at 35-40 s
// even a batch of one no longer fits and requests fail with OOM (507).
std::string SqueezeLogPath() {
  return std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/alerts/data/squeeze-sim.jsonl";
}

constexpr const char* kCustomRules = R"(rules:
  - name: GpuMemoryHigh
    metric: mem_used_pct
    aggregation: mean
    window: 10s
    threshold: 90
    for: 5s
    group_by: [gpu_id]
  - name: ManyErrors
    metric: error_rate
    aggregation: mean
    window: 5s
    threshold: 0.5
)";

RuleSet Rules(const std::string& yaml) {
  auto set = RuleSet::LoadYaml(yaml, "test.yaml");
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return std::move(set).value();
}

std::vector<TimelineAlert> RunStream(const RuleSet& rules,
                                     const std::vector<std::unique_ptr<OwnedRecord>>& records,
                                     AlertTimelineStats* stats = nullptr) {
  auto timeline = AlertTimeline::Create(rules);
  EXPECT_TRUE(timeline.ok());
  for (const auto& r : records) (*timeline)->OnRecord(r->record);
  auto alerts = (*timeline)->Finish();
  if (stats != nullptr) *stats = (*timeline)->stats();
  return alerts;
}

struct SqueezeFacts {
  int64_t first_high_mem_us = 0, last_high_mem_us = 0;  // gpu records over 90%
  int64_t first_oom_us = 0, last_oom_us = 0;            // event time of OOM records
  int64_t end_us = 0;
};

SqueezeFacts Facts(const std::vector<std::unique_ptr<OwnedRecord>>& records) {
  SqueezeFacts f;
  for (const auto& o : records) {
    const LogRecord& r = o->record;
    const int64_t t = *r.ts_us + (r.kind == RecordKind::kRequest && r.total_ms
                                      ? static_cast<int64_t>(*r.total_ms * 1000)
                                      : 0);
    f.end_us = std::max(f.end_us, t);
    if (r.kind == RecordKind::kGpu && *r.mem_used_mb / *r.mem_total_mb > 0.9) {
      if (!f.first_high_mem_us) f.first_high_mem_us = t;
      f.last_high_mem_us = t;
    }
    if (r.kind == RecordKind::kBatch && r.oom.value_or(false)) {
      if (!f.first_oom_us) f.first_oom_us = t;
      f.last_oom_us = std::max(f.last_oom_us, t);
    }
  }
  return f;
}

int64_t NextBoundary(int64_t us) { return (WindowAggregator::SecondOf(us) + 1) * kSecond; }

TEST(AlertTimelineTest, DefaultRulesOnARecordedLog) {
  auto records = testing::ReadJsonlFile(SqueezeLogPath());
  ASSERT_GT(records.size(), 500u);
  const SqueezeFacts f = Facts(records);
  ASSERT_GT(f.first_oom_us, 0);

  auto defaults = RuleSet::LoadDefaults();
  ASSERT_TRUE(defaults.ok());
  AlertTimelineStats stats;
  auto alerts = RunStream(*defaults, records, &stats);
  // Only the OOM rule: memory is high for 30 s (the rule wants a 1 m mean
  // over 90% held for 1 m), latency and queues stay low.
  ASSERT_EQ(alerts.size(), 1u);
  const TimelineAlert& a = alerts[0];
  EXPECT_EQ(a.rule, "YoloscopeOutOfMemory");
  EXPECT_EQ(a.severity, "critical");
  EXPECT_EQ(a.fired_at_us, NextBoundary(f.first_oom_us));  // for: 0s
  EXPECT_EQ(a.started_at_us, a.fired_at_us);
  EXPECT_FALSE(a.resolved_at_us.has_value());  // 5 m window: still firing when the log ends
  EXPECT_GE(a.value, 1);
  EXPECT_GE(a.peak, a.value);
  EXPECT_THAT(a.annotations.at("summary"), HasSubstr("out-of-memory failures in the last 5m"));
  EXPECT_EQ(stats.records, static_cast<int64_t>(records.size()));
  EXPECT_EQ(stats.late_samples, 0);
}

TEST(AlertTimelineTest, CustomRulesFireAndResolveOnTheRecordedLog) {
  auto records = testing::ReadJsonlFile(SqueezeLogPath());
  const SqueezeFacts f = Facts(records);
  auto alerts = RunStream(Rules(kCustomRules), records);
  ASSERT_EQ(alerts.size(), 2u);
  const TimelineAlert& mem = alerts[0];
  EXPECT_EQ(mem.rule, "GpuMemoryHigh");
  EXPECT_EQ(mem.labels.at("gpu_id"), "0");
  // Pending once the 10 s mean passes 90%, fired 5 s later, resolved when
  // the squeeze is over.
  EXPECT_GE(mem.started_at_us, NextBoundary(f.first_high_mem_us));
  EXPECT_LE(mem.started_at_us, NextBoundary(f.first_high_mem_us) + 10 * kSecond);
  EXPECT_EQ(mem.fired_at_us, mem.started_at_us + 5 * kSecond);
  EXPECT_GT(mem.value, 90);
  ASSERT_TRUE(mem.resolved_at_us.has_value());
  EXPECT_GT(*mem.resolved_at_us, f.last_high_mem_us);
  EXPECT_LE(*mem.resolved_at_us, f.last_high_mem_us + 11 * kSecond);
  EXPECT_GT(mem.peak, 98);

  const TimelineAlert& errors = alerts[1];
  EXPECT_EQ(errors.rule, "ManyErrors");
  EXPECT_GE(errors.fired_at_us, NextBoundary(f.first_oom_us));
  EXPECT_LE(errors.fired_at_us, f.last_oom_us);
  ASSERT_TRUE(errors.resolved_at_us.has_value());
  EXPECT_LE(*errors.resolved_at_us, f.last_oom_us + 6 * kSecond);
}

// Shards in any order give what one ordered stream gives.
TEST(AlertTimelineTest, ShardsMatchTheOrderedStream) {
  auto records = testing::ReadJsonlFile(SqueezeLogPath());
  const RuleSet rules = Rules(kCustomRules);
  const auto expected = RunStream(rules, records);

  auto timeline = AlertTimeline::Create(rules);
  ASSERT_TRUE(timeline.ok());
  RecordSink* shards[3] = {(*timeline)->NewShard(), (*timeline)->NewShard(),
                           (*timeline)->NewShard()};
  // Shard k gets a contiguous third, fed backwards.
  const size_t n = records.size();
  for (int k = 0; k < 3; ++k) {
    for (size_t i = n * (k + 1) / 3; i-- > n * k / 3;) shards[k]->OnRecord(records[i]->record);
  }
  const auto got = (*timeline)->Finish();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].rule, expected[i].rule);
    EXPECT_EQ(got[i].fired_at_us, expected[i].fired_at_us);
    EXPECT_EQ(got[i].resolved_at_us, expected[i].resolved_at_us);
    EXPECT_DOUBLE_EQ(got[i].value, expected[i].value);
    EXPECT_DOUBLE_EQ(got[i].peak, expected[i].peak);
  }
  EXPECT_EQ((*timeline)->stats().records, static_cast<int64_t>(n));
}

TEST(AlertTimelineTest, SmallDisorderWithinLatenessChangesNothing) {
  auto records = testing::ReadJsonlFile(SqueezeLogPath());
  const RuleSet rules = Rules(kCustomRules);
  const auto expected = RunStream(rules, records);
  // Swap neighbours: at most a few hundred ms out of order.
  for (size_t i = 0; i + 1 < records.size(); i += 2) std::swap(records[i], records[i + 1]);
  const auto got = RunStream(rules, records);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].fired_at_us, expected[i].fired_at_us);
    EXPECT_EQ(got[i].resolved_at_us, expected[i].resolved_at_us);
  }
}

TEST(AlertTimelineTest, LongGapsAreSkippedQuickly) {
  const RuleSet rules = Rules(R"(rules:
  - name: Slow
    metric: inference_ms
    window: 10s
    threshold: 100
)");
  auto timeline = AlertTimeline::Create(rules);
  ASSERT_TRUE(timeline.ok());
  const auto start = std::chrono::steady_clock::now();
  (*timeline)->OnRecord(testing::Request(kT0, 500.0));
  (*timeline)->OnRecord(testing::Request(kT0 + 30LL * 86400 * kSecond, 10.0));  // 30 days later
  (*timeline)->OnRecord(testing::Request(kT0 + 30LL * 86400 * kSecond + 2 * kSecond, 10.0));
  const auto alerts = (*timeline)->Finish();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].fired_at_us, kT0 + kSecond);
  EXPECT_EQ(alerts[0].resolved_at_us, kT0 + 11 * kSecond);
  EXPECT_LT((*timeline)->stats().evaluations, 100);
}

TEST(AlertTimelineTest, Renderers) {
  TimelineAlert a;
  a.rule = "YoloscopeHighInferenceTime";
  a.severity = "warning";
  a.expression = "mean(inference_ms[1m]) > 100";
  a.threshold = 100;
  a.started_at_us = kT0 + 30 * kSecond;
  a.fired_at_us = kT0 + 60 * kSecond;
  a.resolved_at_us = kT0 + 185 * kSecond;
  a.value = 153.25;
  a.peak = 180.4;
  a.labels = {{"alertname", a.rule}, {"severity", "warning"}, {"model", "yolov8n"}};
  a.annotations = {{"summary", "mean inference 153.25 ms | slow"}};
  TimelineAlert b = a;
  b.rule = "YoloscopeOutOfMemory";
  b.resolved_at_us.reset();

  const nlohmann::json j = AlertTimelineToJson({a, b});
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["rule"], "YoloscopeHighInferenceTime");
  EXPECT_EQ(j[0]["severity"], "warning");
  EXPECT_EQ(j[0]["fired_at"], "2026-01-01T00:01:00.000000Z");
  EXPECT_EQ(j[0]["resolved_at"], "2026-01-01T00:03:05.000000Z");
  EXPECT_EQ(j[0]["duration_s"], 125.0);
  EXPECT_EQ(j[0]["value"], 153.25);
  EXPECT_EQ(j[0]["peak"], 180.4);
  EXPECT_EQ(j[0]["labels"]["model"], "yolov8n");
  EXPECT_TRUE(j[1]["resolved_at"].is_null());
  EXPECT_TRUE(j[1]["duration_s"].is_null());

  const std::string text = RenderAlertTimelineText({a, b});
  EXPECT_THAT(text, HasSubstr("Alerts: 2 fired, 1 still firing at the end of the log"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "2026-01-01T00:01:00.000000Z  YoloscopeHighInferenceTime{model=\"yolov8n\"} [warning]"));
  EXPECT_THAT(
      text,
      HasSubstr("value 153.25, peak 180.4  resolved 2026-01-01T00:03:05.000000Z (after 2m5s)"));
  EXPECT_THAT(text, HasSubstr("still firing"));
  EXPECT_EQ(RenderAlertTimelineText({}), "Alerts: none fired\n");

  const std::string md = RenderAlertTimelineMarkdown({a, b});
  EXPECT_THAT(md, HasSubstr("## Alerts"));
  EXPECT_THAT(md, HasSubstr("| fired at | resolved at | alert |"));
  EXPECT_THAT(md, HasSubstr("`mean(inference_ms[1m]) > 100`"));
  EXPECT_THAT(md, HasSubstr("153.25 ms \\| slow"));  // cell pipes escaped
  EXPECT_THAT(RenderAlertTimelineMarkdown({}), HasSubstr("No alert fired."));
}

}  // namespace
}  // namespace yoloscope
