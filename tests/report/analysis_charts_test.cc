#include "report/analysis_charts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "report/report_fixtures.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

TEST(AnalysisChartsTest, RecordedLogGivesEveryChartData) {
  const Json analysis = testing::SqueezeAnalysisWithAlerts();
  ASSERT_FALSE(analysis.is_discarded());
  const ChartSet set = AnalysisCharts::Build(analysis);
  std::set<std::string> ids;
  for (const Chart& c : set.charts()) {
    ids.insert(c.id);
    EXPECT_TRUE(c.HasData()) << c.id << ": " << c.note;
    for (const ChartSeries& s : c.series) EXPECT_EQ(s.values.size(), c.x.size()) << c.id;
  }
  EXPECT_EQ(ids,
            (std::set<std::string>{kChartLatencyStages, kChartLatencyPercentiles, kChartThroughput,
                                   kChartGpuMemory, kChartGpuUtil, kChartQueue, kChartBatchSizes,
                                   kChartInferenceVsBatch, kChartWhereTimeGoes, kChartAlerts}));
  // The squeeze run OOMed: the memory chart carries OOM markers.
  const Chart* mem = set.Find(kChartGpuMemory);
  ASSERT_NE(mem, nullptr);
  bool oom_marker = false;
  for (const ChartSeries& s : mem->series) {
    if (s.label != "OOM") continue;
    for (double v : s.values) oom_marker = oom_marker || std::isfinite(v);
  }
  EXPECT_TRUE(oom_marker);
  // Bands: two alerts (every chart) and one per finding time range (its chart).
  int alerts = 0, findings = 0;
  for (const ChartBand& b : set.bands()) {
    if (b.kind == "alert") {
      ++alerts;
      EXPECT_TRUE(b.chart.empty());
    } else {
      ++findings;
      EXPECT_NE(set.Find(b.chart), nullptr) << b.chart;
      EXPECT_LE(b.start, b.end);
    }
  }
  EXPECT_EQ(alerts, 2);
  EXPECT_GE(findings, 1);
}

TEST(AnalysisChartsTest, AlertTimelineHasOneRowPerRuleAndGapsBetweenFirings) {
  Json a = {{"schema", "yoloscope.analysis.v1"},
            {"alerts",
             {{{"rule", "r1"},
               {"severity", "critical"},
               {"fired_at", 1'000'000'000'000'000},
               {"resolved_at", 1'000'000'010'000'000}},
              {{"rule", "r2"},
               {"severity", "warning"},
               {"fired_at", "2001-09-09T01:46:45Z"},
               {"resolved_at", "2001-09-09T01:46:50Z"}},
              {{"rule", "r1"},
               {"severity", "critical"},
               {"fired_at", 1'000'000'020'000'000},
               {"resolved_at", 1'000'000'030'000'000}}}}};
  const ChartSet set = AnalysisCharts::Build(a);
  const Chart* c = set.Find(kChartAlerts);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->y_labels, (std::vector<std::string>{"r1", "r2"}));
  ASSERT_EQ(c->series.size(), 2u);
  // r1 is at level 1 during [1e9, 1e9+10] and [1e9+20, 1e9+30], a gap between.
  for (size_t i = 0; i < c->x.size(); ++i) {
    const double x = c->x[i] - 1e9;
    const double v = c->series[0].values[i];
    const bool inside = (x >= 0 && x <= 10) || (x >= 20 && x <= 30);
    EXPECT_EQ(std::isfinite(v), inside) << "x=" << x;
  }
  EXPECT_EQ(c->series[0].color, "#d62728");
}

TEST(AnalysisChartsTest, MissingKeysGiveEmptyChartsWithNotes) {
  for (const Json& a : {Json::object(), Json{{"schema", "yoloscope.analysis.v1"}},
                        Json{{"time_series", {{"windows", "not an array"}}}, {"stages", 3}},
                        Json{{"time_series", {{"windows", {{{"start_us", "x"}}}}}}}}) {
    ChartSet set;
    ASSERT_NO_THROW(set = AnalysisCharts::Build(a)) << a.dump();
    for (const Chart& c : set.charts()) {
      EXPECT_FALSE(c.HasData()) << c.id;
    }
    EXPECT_NE(set.Find(kChartGpuMemory)->note, "");
    EXPECT_EQ(set.Find(kChartAlerts)->note, "Alerts were not evaluated for this analysis.");
  }
}

TEST(AnalysisChartsTest, StageMeansMakeAStackedChart) {
  Json a = {{"time_series",
             {{"windows",
               {{{"start_us", 1'000'000}, {"stage_means_ms", {{"queue", 2.0}, {"inference", 5.0}}}},
                {{"start_us", 2'000'000},
                 {"stage_means_ms", {{"queue", 3.0}, {"inference", 6.0}, {"custom", 1.0}}}}}}}}};
  const ChartSet set = AnalysisCharts::Build(a);
  const Chart* c = set.Find(kChartLatencyStages);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->stacked);
  std::vector<std::string> labels;
  for (const ChartSeries& s : c->series) labels.push_back(s.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"queue", "inference", "custom"}));
  EXPECT_TRUE(std::isnan(c->series[2].values[0]));
  EXPECT_EQ(c->x, (std::vector<double>{1.0, 2.0}));
}

TEST(AnalysisChartsTest, ChartWindowsWinOverAnalysisWindows) {
  Json a = {{"time_series",
             {{"windows", {{{"start_us", 0}, {"total_p50_ms", 1.0}}}},
              {"chart_windows",
               {{{"start_us", 0}, {"total_p50_ms", 1.0}},
                {{"start_us", 1'000'000}, {"total_p50_ms", 2.0}},
                {{"start_us", 2'000'000}, {"total_p50_ms", 3.0}}}}}}};
  const ChartSet set = AnalysisCharts::Build(a);
  EXPECT_EQ(set.Find(kChartLatencyPercentiles)->x.size(), 3u);
}

TEST(AnalysisChartsTest, FitAffineRecoversTheLine) {
  double a = 0, b = 0;
  ASSERT_TRUE(AnalysisCharts::FitAffine({1, 2, 4, 8}, {3, 5, 9, 17}, {1, 1, 1, 1}, &a, &b));
  EXPECT_NEAR(a, 1.0, 1e-9);
  EXPECT_NEAR(b, 2.0, 1e-9);
  EXPECT_FALSE(AnalysisCharts::FitAffine({4, 4}, {1, 2}, {1, 1}, &a, &b));
  EXPECT_FALSE(AnalysisCharts::FitAffine({}, {}, {}, &a, &b));
}

TEST(AnalysisChartsTest, EveryFindingKindHasAChart) {
  for (const char* kind :
       {"oom", "gpu_memory_pressure", "memory_fragmentation", "memory_leak", "queue_saturation",
        "underbatching", "batch_window_too_long", "cpu_preprocess_bound", "transfer_bound",
        "postprocess_bound", "gpu_contention", "gpu_throttling", "cold_start", "error_burst",
        "latency_outliers", "something_new"}) {
    const ChartSet set = AnalysisCharts::Build(Json::object());
    const Chart* c = set.Find(AnalysisCharts::ChartForFinding(kind));
    ASSERT_NE(c, nullptr) << kind;
    EXPECT_EQ(c->kind, "time") << kind;
  }
}

}  // namespace
}  // namespace yoloscope
