// The HTML report in real headless Chromium: the report of a recorded log
// (tests/report/fixtures/squeeze_requests.jsonl.zst, analyzed by this build's
// `yoloscope analyze --format json` when it has that command, else the
// checked-in analysis of the same log) loads offline with no console error,
// every chart draws, the finding links scroll to their chart and zoom every
// time chart to the finding's range; a screenshot is kept in the build tree
// (tests/report/artifacts/report.png).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "report/browser_check.h"
#include "report/html_report.h"
#include "report/report_assets.h"
#include "report/report_fixtures.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;
using testing::BrowserCheck;

// The real analyzer's JSON for the recorded log, or empty when this build has
// no `analyze` command.
Json AnalyzeRecordedLog() {
  const std::string out = BrowserCheck::ArtifactsDir() + "/squeeze_analysis.json";
  const std::string cmd = std::string(YOLOSCOPE_BINARY) + " analyze --format json '" +
                          testing::ReportFixture("squeeze_requests.jsonl.zst") + "' >'" + out +
                          "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) return Json();
  Json j = testing::LoadJsonFile(out);
  return j.is_object() ? j : Json();
}

void ExpectCleanPage(const Json& r) {
  ASSERT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_TRUE(r["ready"].get<bool>());
  EXPECT_TRUE(r["console_errors"].empty()) << r["console_errors"].dump(2);
  EXPECT_TRUE(r["page_errors"].empty()) << r["page_errors"].dump(2);
  EXPECT_TRUE(r["report_errors"].empty()) << r["report_errors"].dump(2);
  EXPECT_TRUE(r["failed_requests"].empty()) << r["failed_requests"].dump(2);
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = BrowserCheck::SkipReason()) GTEST_SKIP() << *why;
    if (!ReportAssets::HaveCharts()) GTEST_SKIP() << ReportAssets::MissingMessage();
  }
};

TEST_F(ReportBrowserTest, RecordedLogReportDrawsEveryChartAndLinksFindings) {
  Json analysis = AnalyzeRecordedLog();
  const bool live_analyzer = !analysis.is_null();
  RecordProperty("analysis_source", live_analyzer ? "yoloscope analyze" : "checked-in fixture");
  const Json with_alerts = testing::SqueezeAnalysisWithAlerts();
  if (!live_analyzer) {
    analysis = with_alerts;
  } else {
    analysis["alerts"] = with_alerts["alerts"];
  }
  ASSERT_TRUE(analysis.is_object());
  const std::string html = BrowserCheck::ArtifactsDir() + "/report.html";
  ASSERT_TRUE(HtmlReport::WriteFile(analysis, HtmlReportOptions{}, html).ok());
  const std::string shots = BrowserCheck::ArtifactsDir() + "/report-charts";
  std::filesystem::create_directories(shots);
  const std::string png = BrowserCheck::ArtifactsDir() + "/report.png";
  std::filesystem::remove(png);
  const Json r =
      BrowserCheck::Run("file://" + html, "report",
                        {"--screenshot", png, "--chart-shots", shots, "--click-findings", "10",
                         "--jump-shot", BrowserCheck::ArtifactsDir() + "/report-jump.png"});
  ExpectCleanPage(r);
  if (HasFatalFailure()) return;
  // Offline: the page itself is the only thing loaded.
  EXPECT_EQ(r["requests"].size(), 1u) << r["requests"].dump(2);

  // Every chart container holds a drawn chart: series, rows and coloured pixels.
  EXPECT_EQ(r["containers"].size(), 10u) << r["containers"].dump();
  EXPECT_TRUE(r["nodata"].empty()) << r["nodata"].dump();
  std::set<std::string> drawn;
  for (const auto& c : r["charts"]) {
    const std::string id = c["id"];
    EXPECT_GE(c["series"].get<int>(), 1) << id;
    EXPECT_GE(c["rows"].get<int>(), 2) << id;
    EXPECT_GT(c["colored_pixels"].get<int>(), 100) << id << " looks blank";
    drawn.insert(id);
  }
  for (const auto& id : r["containers"]) EXPECT_TRUE(drawn.count(id)) << id << " not drawn";
  EXPECT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 20'000u);

  // Finding links: the chart scrolls into view, the range is highlighted and
  // every time chart is zoomed to it.
  ASSERT_FALSE(r["jumps"].empty()) << "the squeeze log has findings with time ranges";
  for (const auto& j : r["jumps"]) {
    const std::string what = j["band"].get<std::string>() + " -> " + j["chart"].get<std::string>();
    EXPECT_TRUE(j["in_view"].get<bool>()) << what;
    EXPECT_TRUE(j["active"].get<bool>()) << what;
    EXPECT_TRUE(j["zoomed"].get<bool>()) << what;
    EXPECT_EQ(j["hash"], "#chart-" + j["chart"].get<std::string>()) << what;
    const double start = j["start"], end = j["end"], lo = j["x_min"], hi = j["x_max"];
    EXPECT_LE(lo, start + 1e-6) << what;
    EXPECT_GE(hi, end - 1e-6) << what;
    const auto& full = j["full"];
    EXPECT_LT(hi - lo, full[1].get<double>() - full[0].get<double>() + 1e-6) << what;
    EXPECT_EQ(j["charts_on_range"], j["time_charts"]) << what << ": time axes not linked";
  }
}

TEST_F(ReportBrowserTest, ChartsWithoutDataSaySoAndTheRestStillDraws) {
  // What a three-row table gives: stage totals, no time series.
  const Json analysis = {
      {"schema", "yoloscope.analysis.v1"},
      {"summary", {{"requests", 3}, {"batch_sizes", {{{"batch_size", 1}, {"requests", 3}}}}}},
      {"stages",
       {{{"stage", "preprocess"}, {"count", 3}, {"mean_ms", 30.0}, {"share", 0.6}},
        {{"stage", "inference"}, {"count", 3}, {"mean_ms", 20.0}, {"share", 0.4}},
        {{"stage", "total"}, {"count", 3}, {"mean_ms", 50.0}, {"share", 1.0}}}},
      {"findings",
       {{{"kind", "cpu_preprocess_bound"},
         {"severity", "warning"},
         {"title", "<b>not bold</b>"},
         {"time_ranges", Json::array()},
         {"evidence", {"preprocess 60% of latency"}}}}}};
  const std::string html = BrowserCheck::ArtifactsDir() + "/report_sparse.html";
  ASSERT_TRUE(HtmlReport::WriteFile(analysis, HtmlReportOptions{}, html).ok());
  const Json r =
      BrowserCheck::Run("file://" + html, "report_sparse",
                        {"--screenshot", BrowserCheck::ArtifactsDir() + "/report_sparse.png"});
  ExpectCleanPage(r);
  if (HasFatalFailure()) return;
  std::set<std::string> nodata;
  for (const auto& id : r["nodata"]) nodata.insert(id);
  for (const char* id : {"latency_percentiles", "gpu_memory", "gpu_util", "queue", "alerts"}) {
    EXPECT_TRUE(nodata.count(id)) << id;
  }
  std::set<std::string> drawn;
  for (const auto& c : r["charts"]) drawn.insert(c["id"]);
  EXPECT_TRUE(drawn.count("where_time_goes"));
  EXPECT_TRUE(drawn.count("batch_sizes"));
}

}  // namespace
}  // namespace yoloscope
