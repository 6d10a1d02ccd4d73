// deploy/prometheus/rules/yoloscope-alerts.yml states the default rules
// (configs/alerts/default.yaml) in PromQL: same names, severities, `for`,
// thresholds (ms -> s, % -> ratio) and hysteresis thresholds. promtool
// checks the PromQL itself (prometheus_rules_test.sh).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "alerts/rule_set.h"

namespace yoloscope {
namespace {

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

double ToPrometheusUnit(const AlertRule& r, double v) {
  const std::string_view unit = GetMetricInfo(r.metric).unit;
  if (unit == "ms") return v / 1000.0;
  if (unit == "%") return v / 100.0;
  return v;
}

TEST(PrometheusRulesTest, AlertRulesMatchTheDefaultRules) {
  const YAML::Node file = YAML::LoadFile(std::string(YOLOSCOPE_SOURCE_DIR) +
                                         "/deploy/prometheus/rules/yoloscope-alerts.yml");
  std::map<std::string, YAML::Node> alerts;
  const YAML::Node groups = file["groups"];
  for (size_t g = 0; g < groups.size(); ++g) {
    const YAML::Node rules = groups[g]["rules"];
    for (size_t i = 0; i < rules.size(); ++i) {
      const YAML::Node rule = rules[i];
      if (rule["alert"]) alerts[rule["alert"].as<std::string>()] = rule;
    }
  }
  auto defaults = RuleSet::LoadDefaults();
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(alerts.size(), defaults->rules().size());
  for (const AlertRule& r : defaults->rules()) {
    SCOPED_TRACE(r.name);
    ASSERT_TRUE(alerts.count(r.name));
    const YAML::Node& a = alerts[r.name];
    EXPECT_EQ(a["labels"]["severity"].as<std::string>(), r.severity);
    const int64_t for_us = a["for"] ? *ParseDurationUs(a["for"].as<std::string>()) : 0;
    EXPECT_EQ(for_us, r.for_us);
    const std::string expr = a["expr"].as<std::string>();
    EXPECT_THAT(expr, ::testing::HasSubstr("> " + Number(ToPrometheusUnit(r, r.threshold))));
    if (r.resolve_threshold != r.threshold) {
      EXPECT_THAT(expr,
                  ::testing::HasSubstr("> " + Number(ToPrometheusUnit(r, r.resolve_threshold))));
      EXPECT_THAT(expr, ::testing::HasSubstr("ALERTS{alertname=\"" + r.name +
                                             "\", alertstate=\"firing\"}"));
    }
  }
}

}  // namespace
}  // namespace yoloscope
