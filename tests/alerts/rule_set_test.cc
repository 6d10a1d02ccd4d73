#include "alerts/rule_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace yoloscope {
namespace {

using ::testing::HasSubstr;

constexpr const char* kGood = R"(params:
  slo_p99_ms: 300
hysteresis: 0.1
rules:
  - name: SlowInference
    metric: inference_ms
    aggregation: mean
    window: 1m
    comparator: ">"
    threshold: 100
    for: 30s
    severity: warning
    labels: {team: vision}
    annotations:
      summary: "mean {{ $value }} ms"
  - name: SloBreach
    metric: total_ms
    aggregation: p99
    window: 5m
    threshold: "${slo_p99_ms}"
    resolve_threshold: 250
    resolve_for: 10s
    group_by: [model, gpu_id]
  - name: TrafficStopped
    metric: request_rate
    aggregation: count
    window: 30s
    comparator: "<"
    threshold: 1
)";

TEST(RuleSetTest, LoadsAValidFile) {
  auto set = RuleSet::LoadYaml(kGood, "good.yaml");
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->rules().size(), 3u);
  const AlertRule& a = set->rules()[0];
  EXPECT_EQ(a.name, "SlowInference");
  EXPECT_EQ(a.metric, AlertMetric::kInferenceMs);
  EXPECT_EQ(a.aggregation, Aggregation::kMean);
  EXPECT_EQ(a.window_s, 60);
  EXPECT_EQ(a.comparator, Comparator::kGreater);
  EXPECT_EQ(a.threshold, 100);
  EXPECT_DOUBLE_EQ(a.resolve_threshold, 90);  // file hysteresis 0.1
  EXPECT_EQ(a.for_us, 30'000'000);
  EXPECT_EQ(a.labels.at("team"), "vision");
  EXPECT_EQ(a.line, 5);
  const AlertRule& b = set->rules()[1];
  EXPECT_EQ(b.threshold, 300);  // from params
  EXPECT_EQ(b.resolve_threshold, 250);
  EXPECT_EQ(b.resolve_for_us, 10'000'000);
  EXPECT_DOUBLE_EQ(b.quantile, 0.99);
  ASSERT_EQ(b.group_by.size(), 2u);
  EXPECT_EQ(b.group_by[1], GroupField::kGpuId);
  EXPECT_EQ(b.severity, "warning");  // default
  const AlertRule& c = set->rules()[2];
  EXPECT_EQ(c.comparator, Comparator::kLess);
  EXPECT_DOUBLE_EQ(c.resolve_threshold, 1.1);
  EXPECT_EQ(c.for_us, 0);
}

TEST(RuleSetTest, ParamOverrides) {
  RuleSetOptions options;
  options.params["slo_p99_ms"] = 280;
  auto set = RuleSet::LoadYaml(kGood, "good.yaml", options);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->rules()[1].threshold, 280);
  // An override that puts the threshold below the explicit resolve threshold.
  options.params["slo_p99_ms"] = 200;
  auto below = RuleSet::LoadYaml(kGood, "good.yaml", options);
  ASSERT_FALSE(below.ok());
  EXPECT_THAT(below.status().message(), HasSubstr("good.yaml:21: rules[1].resolve_threshold"));

  options.params = {{"no_such_param", 1}};
  auto bad = RuleSet::LoadYaml(kGood, "good.yaml", options);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("params.no_such_param: not defined"));
}

// Every problem of a file is reported, each as FILE:LINE: FIELD: why.
TEST(RuleSetTest, ReportsEveryErrorWithFileAndLine) {
  constexpr const char* kBad = R"(rules:
  - name: A
    metric: inference_ms
    threshold: fast
  - name: B
    metric: inference
    treshold: 5
  - name: C
    metric: total_ms
    window: 90ms
    comparator: "=>"
    threshold: 1
    annotations:
      summary: "{{ $vaule }}"
  - name: A
    metric: queue_len
    threshold: 1
    resolve_threshold: 2
  - name: D
    metric: queue_len
    aggregation: median
    threshold: "${nope}"
    group_by: [host]
    labels: {severity: high}
)";
  auto set = RuleSet::LoadYaml(kBad, "bad.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  const std::string m = set.status().message();
  EXPECT_THAT(m, HasSubstr("bad.yaml:4: rules[0].threshold: must be a number"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:6: rules[1].metric: unknown metric 'inference'"));
  EXPECT_THAT(m,
              HasSubstr("bad.yaml:7: rules[1].treshold: unknown key (did you mean 'threshold'?)"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:5: rules[1].threshold: missing"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:10: rules[2].window: must be whole seconds"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:11: rules[2].comparator: must be one of"));
  EXPECT_THAT(
      m, HasSubstr("bad.yaml:14: rules[2].annotations.summary: column 1: unknown placeholder"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:18: rules[3].resolve_threshold: must be <= the threshold"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:15: rules[3].name: duplicate rule name 'A'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:21: rules[4].aggregation: unknown aggregation 'median'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:22: rules[4].threshold: unknown param 'nope'"));
  EXPECT_THAT(m, HasSubstr("bad.yaml:23: rules[4].group_by: unknown field 'host'"));
  EXPECT_THAT(m,
              HasSubstr("bad.yaml:24: rules[4].labels.severity: set by the rule's name/severity"));
  // One message per line.
  EXPECT_GE(std::count(m.begin(), m.end(), '\n'), 12);
}

TEST(RuleSetTest, StructuralErrors) {
  auto syntax = RuleSet::LoadYaml("rules:\n  - name: [unclosed\n", "s.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_THAT(syntax.status().message(), HasSubstr("s.yaml:"));
  EXPECT_THAT(syntax.status().message(), HasSubstr("YAML syntax error"));

  auto no_rules = RuleSet::LoadYaml("params: {a: 1}\n", "n.yaml");
  ASSERT_FALSE(no_rules.ok());
  EXPECT_THAT(no_rules.status().message(), HasSubstr("n.yaml:1: rules: missing"));

  auto top = RuleSet::LoadYaml("rule:\n  - name: A\n", "t.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_THAT(top.status().message(),
              HasSubstr("t.yaml:1: rule: unknown key (did you mean 'rules'?)"));

  auto list = RuleSet::LoadYaml("rules: {name: A}\n", "l.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(list.status().message(), HasSubstr("l.yaml:1: rules: must be a list"));

  auto hyst = RuleSet::LoadYaml("hysteresis: 2\nrules: []\n", "h.yaml");
  ASSERT_FALSE(hyst.ok());
  EXPECT_THAT(hyst.status().message(),
              HasSubstr("h.yaml:1: hysteresis: must be a relative margin"));

  EXPECT_TRUE(RuleSet::LoadYaml("rules: []\n", "empty.yaml").ok());
}

TEST(RuleSetTest, MissingFileIsNotFound) {
  auto set = RuleSet::LoadFile("/nonexistent/rules.yaml");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kNotFound);
}

TEST(RuleSetTest, DefaultsMatchTheShippedFile) {
  const std::string path = std::string(YOLOSCOPE_SOURCE_DIR) + "/configs/alerts/default.yaml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), std::string(DefaultAlertRulesYaml()));

  auto set = RuleSet::LoadDefaults();
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->rules().size(), 5u);
  auto find = [&](const std::string& name) -> const AlertRule& {
    for (const AlertRule& r : set->rules()) {
      if (r.name == name) return r;
    }
    ADD_FAILURE() << name;
    return set->rules()[0];
  };
  EXPECT_EQ(find("YoloscopeHighInferenceTime").ExpressionText(), "mean(inference_ms[1m]) > 100");
  EXPECT_EQ(find("YoloscopeGpuMemoryHigh").ExpressionText(), "mean(mem_used_pct[1m]) > 90");
  EXPECT_EQ(find("YoloscopeQueueLong").ExpressionText(), "mean(queue_len[30s]) > 10");
  EXPECT_EQ(find("YoloscopeLatencySloBreach").ExpressionText(), "p99(total_ms[5m]) > 300");
  EXPECT_EQ(find("YoloscopeOutOfMemory").ExpressionText(), "sum(oom_count[5m]) > 0");
  EXPECT_EQ(find("YoloscopeLatencySloBreach").severity, "critical");
  EXPECT_DOUBLE_EQ(find("YoloscopeHighInferenceTime").resolve_threshold, 95);

  RuleSetOptions options;
  options.params["slo_p99_ms"] = 250;
  auto custom = RuleSet::LoadDefaults(options);
  ASSERT_TRUE(custom.ok());
  for (const AlertRule& r : custom->rules()) {
    if (r.name == "YoloscopeLatencySloBreach") EXPECT_EQ(r.threshold, 250);
  }
}

TEST(RuleSetTest, FromRulesValidates) {
  AlertRule r;
  r.name = "X";
  r.threshold = 10;
  r.resolve_threshold = std::nan("");
  auto set = RuleSet::FromRules({r});
  ASSERT_TRUE(set.ok());
  EXPECT_DOUBLE_EQ(set->rules()[0].resolve_threshold, 9.5);
  EXPECT_FALSE(RuleSet::FromRules({r, r}).ok());  // duplicate
  r.window_s = 0;
  EXPECT_FALSE(RuleSet::FromRules({r}).ok());
}

}  // namespace
}  // namespace yoloscope
