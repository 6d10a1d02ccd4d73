// The formats alerts leave the engine in: the `alert` log record, the
// Alertmanager webhook payload, the stderr line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "alerts/alert_log_line.h"
#include "alerts/alertmanager_payload.h"
#include "alerts/log_record_notifier.h"
#include "alerts/stderr_notifier.h"
#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using ::testing::HasSubstr;
using testing::kSecond;
using testing::kT0;

AlertTransition Firing() {
  AlertTransition t;
  t.state = AlertState::kFiring;
  t.rule = "YoloscopeHighInferenceTime";
  t.severity = "warning";
  t.metric = "inference_ms";
  t.aggregation = "mean";
  t.window_s = 60;
  t.comparator = ">";
  t.threshold = 100;
  t.value = 153.25;
  t.fired_value = 153.25;
  t.peak = 160.1234;
  t.at_us = kT0 + 65 * kSecond;
  t.started_at_us = kT0 + 35 * kSecond;
  t.fired_at_us = kT0 + 65 * kSecond;
  t.labels = {{"alertname", t.rule}, {"severity", "warning"}, {"model", "yolo \"v8\"\n"}};
  t.annotations = {{"summary", "mean inference 153.25 ms"}};
  return t;
}

AlertTransition Resolved() {
  AlertTransition t = Firing();
  t.state = AlertState::kResolved;
  t.value = std::nan("");
  t.at_us = kT0 + 200 * kSecond + 500'000;
  t.resolved_at_us = t.at_us;
  return t;
}

TEST(AlertLogLineTest, FiringRecord) {
  std::string line;
  AppendAlertJsonLine(Firing(), &line);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  EXPECT_EQ(
      line.rfind(
          "{\"event\":\"alert\",\"schema\":\"yoloscope.v1\",\"ts\":\"2026-01-01T00:01:05.000000Z\"",
          0),
      0u)
      << line;
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["rule"], "YoloscopeHighInferenceTime");
  EXPECT_EQ(j["state"], "firing");
  EXPECT_EQ(j["severity"], "warning");
  EXPECT_EQ(j["metric"], "inference_ms");
  EXPECT_EQ(j["aggregation"], "mean");
  EXPECT_EQ(j["window_s"], 60);
  EXPECT_EQ(j["comparator"], ">");
  EXPECT_EQ(j["threshold"], 100);
  EXPECT_EQ(j["value"], 153.25);
  EXPECT_EQ(j["peak"], 160.123);
  EXPECT_EQ(j["started_at"], "2026-01-01T00:00:35.000000Z");
  EXPECT_EQ(j["fired_at"], "2026-01-01T00:01:05.000000Z");
  EXPECT_FALSE(j.contains("resolved_at"));
  EXPECT_EQ(j["labels"]["model"], "yolo \"v8\"\n");  // escaped and read back
  EXPECT_EQ(j["annotations"]["summary"], "mean inference 153.25 ms");
}

TEST(AlertLogLineTest, ResolvedRecordOmitsAnUnknownValue) {
  std::string line;
  AppendAlertJsonLine(Resolved(), &line);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["state"], "resolved");
  EXPECT_FALSE(j.contains("value"));  // no samples: absent, never a made-up 0
  EXPECT_EQ(j["resolved_at"], "2026-01-01T00:03:20.500000Z");
  EXPECT_EQ(j["ts"], "2026-01-01T00:03:20.500000Z");
}

TEST(LogRecordNotifierTest, WritesOneLinePerTransitionAndCountsDrops) {
  std::vector<std::string> lines;
  bool accept = true;
  LogRecordNotifier n([&](std::string&& line) {
    if (!accept) return false;
    lines.push_back(std::move(line));
    return true;
  });
  n.Notify({Firing(), Resolved()});
  accept = false;
  n.Notify({Firing()});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("\"state\":\"firing\""));
  EXPECT_THAT(lines[1], HasSubstr("\"state\":\"resolved\""));
  EXPECT_EQ(n.written(), 2);
  EXPECT_EQ(n.dropped(), 1);
}

TEST(AlertmanagerPayloadTest, Version4Shape) {
  AlertmanagerPayloadOptions o;
  o.receiver = "ops";
  o.external_url = "http://box1:8080";
  const nlohmann::json j = nlohmann::json::parse(BuildAlertmanagerPayload(Firing(), o));
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["groupKey"], "{}:{alertname=\"YoloscopeHighInferenceTime\"}");
  EXPECT_EQ(j["truncatedAlerts"], 0);
  EXPECT_EQ(j["status"], "firing");
  EXPECT_EQ(j["receiver"], "ops");
  EXPECT_EQ(j["groupLabels"], nlohmann::json({{"alertname", "YoloscopeHighInferenceTime"}}));
  EXPECT_EQ(j["commonLabels"]["severity"], "warning");
  EXPECT_EQ(j["commonAnnotations"]["summary"], "mean inference 153.25 ms");
  EXPECT_EQ(j["externalURL"], "http://box1:8080");
  ASSERT_EQ(j["alerts"].size(), 1u);
  const nlohmann::json& a = j["alerts"][0];
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["labels"]["alertname"], "YoloscopeHighInferenceTime");
  EXPECT_EQ(a["startsAt"], "2026-01-01T00:01:05Z");
  EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(a["generatorURL"], "http://box1:8080");
  EXPECT_EQ(a["fingerprint"], AlertFingerprint(Firing().labels));

  const nlohmann::json r = nlohmann::json::parse(BuildAlertmanagerPayload(Resolved(), o));
  EXPECT_EQ(r["status"], "resolved");
  EXPECT_EQ(r["alerts"][0]["status"], "resolved");
  EXPECT_EQ(r["alerts"][0]["endsAt"], "2026-01-01T00:03:20.5Z");
  EXPECT_EQ(r["alerts"][0]["fingerprint"], a["fingerprint"]);  // same alert
}

TEST(AlertmanagerPayloadTest, FingerprintIsPrometheusLabelSignature) {
  // FNV-1a 64 offset basis for the empty label set.
  EXPECT_EQ(AlertFingerprint({}), "cbf29ce484222325");
  // What Alertmanager 0.25 reported (GET /api/v2/alerts) for this label set.
  EXPECT_EQ(AlertFingerprint({{"alertname", "YoloscopeQueueLong"},
                              {"instance", "box1:8080"},
                              {"severity", "warning"}}),
            "b142b39a5d588f50");
  const std::string f = AlertFingerprint({{"alertname", "A"}, {"severity", "warning"}});
  EXPECT_EQ(f.size(), 16u);
  EXPECT_NE(f, AlertFingerprint({{"alertname", "A"}, {"severity", "critical"}}));
  // The separator keeps {"ab": "c"} and {"a": "bc"} apart.
  EXPECT_NE(AlertFingerprint({{"ab", "c"}}), AlertFingerprint({{"a", "bc"}}));
}

TEST(StderrNotifierTest, OneReadableLinePerTransition) {
  EXPECT_EQ(StderrNotifier::FormatLine(Firing()),
            "yoloscope: alert FIRING YoloscopeHighInferenceTime [warning] "
            "mean(inference_ms[1m]) = 153.25 > 100 {model=\"yolo \\\"v8\\\"\\n\"}: mean inference "
            "153.25 ms");
  EXPECT_THAT(StderrNotifier::FormatLine(Resolved()),
              HasSubstr("alert RESOLVED YoloscopeHighInferenceTime [warning] "
                        "mean(inference_ms[1m]) = NaN (fired 2026-01-01T00:01:05.000000Z, peak "
                        "160.123)"));
  char buf[4096] = {};
  FILE* f = fmemopen(buf, sizeof(buf), "w");
  ASSERT_NE(f, nullptr);
  StderrNotifier n(f);
  n.Notify({Firing(), Resolved()});
  std::fclose(f);
  const std::string out(buf);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);  // the label's newline is escaped
}

}  // namespace
}  // namespace yoloscope
