#include "alerts/alert_rule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "alerts/alert_template.h"

namespace yoloscope {
namespace {

TEST(AlertRuleTest, DurationsParseAndFormat) {
  EXPECT_EQ(*ParseDurationUs("30s"), 30'000'000);
  EXPECT_EQ(*ParseDurationUs("1m"), 60'000'000);
  EXPECT_EQ(*ParseDurationUs("1m30s"), 90'000'000);
  EXPECT_EQ(*ParseDurationUs("250ms"), 250'000);
  EXPECT_EQ(*ParseDurationUs("2h"), 7'200'000'000);
  EXPECT_EQ(*ParseDurationUs("1.5s"), 1'500'000);
  EXPECT_EQ(*ParseDurationUs("0s"), 0);
  EXPECT_EQ(*ParseDurationUs("15"), 15'000'000);  // bare number: seconds
  for (const char* bad : {"", "s", "10x", "1m30", "-5s", "1 m", "1e3s"}) {
    EXPECT_FALSE(ParseDurationUs(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatDurationUs(90'000'000), "1m30s");
  EXPECT_EQ(FormatDurationUs(3'600'000'000), "1h");
  EXPECT_EQ(FormatDurationUs(500'000), "500ms");
  EXPECT_EQ(FormatDurationUs(0), "0s");
  EXPECT_EQ(FormatDurationUs(1'500'000), "1.5s");
}

TEST(AlertRuleTest, MetricTableMatchesEnum) {
  ASSERT_EQ(AllMetrics().size(), kNumAlertMetrics);
  for (size_t i = 0; i < kNumAlertMetrics; ++i) {
    const auto m = static_cast<AlertMetric>(i);
    EXPECT_EQ(GetMetricInfo(m).metric, m);
    EXPECT_EQ(ParseMetricName(GetMetricInfo(m).name), m);
  }
  EXPECT_FALSE(ParseMetricName("inference").has_value());
}

TEST(AlertRuleTest, AggregationNames) {
  double q = 0;
  EXPECT_EQ(ParseAggregationName("p99", &q), Aggregation::kQuantile);
  EXPECT_DOUBLE_EQ(q, 0.99);
  EXPECT_EQ(ParseAggregationName("p99.9", &q), Aggregation::kQuantile);
  EXPECT_DOUBLE_EQ(q, 0.999);
  EXPECT_EQ(ParseAggregationName("p50", &q), Aggregation::kQuantile);
  EXPECT_DOUBLE_EQ(q, 0.5);
  EXPECT_EQ(AggregationName(Aggregation::kQuantile, 0.99), "p99");
  EXPECT_EQ(AggregationName(Aggregation::kQuantile, 0.999), "p99.9");
  for (const char* name : {"mean", "max", "min", "sum", "count", "rate", "last"}) {
    auto a = ParseAggregationName(name, &q);
    ASSERT_TRUE(a.has_value()) << name;
    EXPECT_EQ(AggregationName(*a, q), name);
  }
  for (const char* bad : {"p0", "p101", "p999", "px", "median", ""}) {
    EXPECT_FALSE(ParseAggregationName(bad, &q).has_value()) << bad;
  }
}

TEST(AlertRuleTest, Comparators) {
  EXPECT_TRUE(Compare(2, *ParseComparator(">"), 1));
  EXPECT_FALSE(Compare(1, *ParseComparator(">"), 1));
  EXPECT_TRUE(Compare(1, *ParseComparator(">="), 1));
  EXPECT_TRUE(Compare(0, *ParseComparator("<"), 1));
  EXPECT_TRUE(Compare(1, *ParseComparator("<="), 1));
  EXPECT_FALSE(Compare(std::nan(""), Comparator::kLess, 1));  // no data never holds
  EXPECT_FALSE(ParseComparator("==").has_value());
}

TEST(AlertRuleTest, ExpressionText) {
  AlertRule r;
  r.metric = AlertMetric::kTotalMs;
  r.aggregation = Aggregation::kQuantile;
  r.quantile = 0.99;
  r.window_s = 300;
  r.threshold = 300;
  EXPECT_EQ(r.ExpressionText(), "p99(total_ms[5m]) > 300");
}

TEST(AlertTemplateTest, RendersPlaceholders) {
  auto t = AlertTemplate::Parse(
      "{{$value}} ms > {{ $threshold }} on {{ $labels.model }}{{ $labels.missing }}!");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::map<std::string, std::string> labels = {{"model", "yolov8n"}};
  AlertTemplateData d;
  d.value = 123.45678;
  d.threshold = 100;
  d.labels = &labels;
  EXPECT_EQ(t->Render(d), "123.457 ms > 100 on yolov8n!");
  d.value = std::nan("");
  EXPECT_EQ(t->Render(d), "NaN ms > 100 on yolov8n!");
}

TEST(AlertTemplateTest, FormatsAndHumanize) {
  AlertTemplateData d;
  d.value = 1234567;
  EXPECT_EQ(AlertTemplate::Parse("{{ $value | humanize }}")->Render(d), "1.235M");
  d.value = 0.00123;
  EXPECT_EQ(AlertTemplate::Parse("{{ $value | humanize }}")->Render(d), "1.23m");
  d.value = 91.26;
  EXPECT_EQ(AlertTemplate::Parse("{{ $value | printf \"%.1f\" }}%")->Render(d), "91.3%");
  EXPECT_EQ(AlertTemplate::Parse("{{ $value | printf \"%5.0f%%\" }}")->Render(d), "   91%");
  EXPECT_EQ(AlertTemplate::Parse("no placeholders")->Render(d), "no placeholders");
}

TEST(AlertTemplateTest, RejectsBadPlaceholders) {
  auto unknown = AlertTemplate::Parse("x {{ $vaule }}");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("column 3"), std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("$vaule"), std::string::npos);
  EXPECT_FALSE(AlertTemplate::Parse("{{ $value").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $labels.9x }}").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $value | printf \"%s\" }}").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $value | printf \"%f %f\" }}").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $value | printf \"%n\" }}").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $value | upper }}").ok());
  EXPECT_FALSE(AlertTemplate::Parse("{{ $labels.model | humanize }}").ok());
}

}  // namespace
}  // namespace yoloscope
