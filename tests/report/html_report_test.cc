#include "report/html_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "report/report_assets.h"
#include "report/report_fixtures.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

HtmlReportOptions Options() {
  HtmlReportOptions o;
  o.allow_missing_assets = true;  // these tests check the text, with or without charts
  return o;
}

// The text between <script type="application/json" id="ys-data"> and </script>.
std::string EmbeddedData(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"ys-data\">";
  const size_t a = html.find(open);
  if (a == std::string::npos) return "";
  const size_t b = html.find("</script>", a);
  return html.substr(a + open.size(), b - a - open.size());
}

// An analysis whose every log-derived string tries to inject markup.
Json HostileAnalysis() {
  const std::string evil = "</script><script>window.pwned=1</script><img src=x onerror=alert(1)>";
  Json a = testing::LoadJsonFile(testing::ReportFixture("squeeze_analysis.json"));
  a["input"]["files"] = {evil + ".jsonl"};
  a["input"]["malformed_examples"] = {evil};
  a["summary"]["by_model"][0]["name"] = evil;
  a["findings"][0]["title"] = evil;
  a["findings"][0]["kind"] = evil;
  a["findings"][0]["evidence"] = {evil};
  a["findings"][0]["recommendation"] = evil;
  a["findings"][0]["request_ids"] = {evil, "\" onmouseover=\"alert(2)"};
  a["findings"][0]["metrics"] = {{evil, 1}};
  a["skipped_checks"] = {{{"check", evil}, {"missing_fields", {evil}}, {"reason", evil}}};
  a["stages"][0]["stage"] = evil;
  a["time_series"]["windows"][0]["slowest_request_id"] = evil;
  a["alerts"] = {{{"rule", evil},
                  {"severity", evil},
                  {"fired_at", "2026-11-24T16:14:35Z"},
                  {"resolved_at", evil},
                  {"value", evil}}};
  return a;
}

TEST(HtmlReportTest, LogDerivedStringsAreEscapedEverywhere) {
  auto html = HtmlReport::Render(HostileAnalysis(), Options());
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  // No injected element survives: the only <script> tags are our own three
  // (data, uPlot, renderer) -- or one without chart assets.
  EXPECT_EQ(html->find("<script>window.pwned"), std::string::npos);
  EXPECT_EQ(html->find("<img src=x"), std::string::npos);
  EXPECT_EQ(html->find("\" onmouseover=\"alert"), std::string::npos);
  const std::regex script_tag("<script[ >]");
  const auto n = std::distance(std::sregex_iterator(html->begin(), html->end(), script_tag),
                               std::sregex_iterator());
  EXPECT_EQ(n, ReportAssets::HaveCharts() ? 3 : 1);
  // The escaped text is there for people to read.
  EXPECT_NE(html->find("&lt;/script&gt;&lt;script&gt;window.pwned=1"), std::string::npos);
  // The embedded data has no '<' at all and parses.
  const std::string data = EmbeddedData(*html);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.find('<'), std::string::npos);
  const Json parsed = Json::parse(data, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["charts"]["schema"], "yoloscope.charts.v1");
  bool rule_seen = false;
  for (const auto& c : parsed["charts"]["charts"]) {
    for (const auto& l : c["y_labels"])
      rule_seen = rule_seen || l.get<std::string>().find("pwned") != std::string::npos;
  }
  EXPECT_TRUE(rule_seen) << "the rule name travels as data, escaped";
}

TEST(HtmlReportTest, RecordedLogReportHasEverySection) {
  auto html = HtmlReport::Render(testing::SqueezeAnalysisWithAlerts(), Options());
  ASSERT_TRUE(html.ok()) << html.status().ToString();
  for (const char* id :
       {"id=\"summary\"", "id=\"findings\"", "id=\"alerts\"", "id=\"charts\"", "id=\"stages\"",
        "id=\"skipped\"", "id=\"input\"", "id=\"chart-gpu_memory\"", "id=\"chart-latency_stages\"",
        "id=\"chart-alerts\"", "id=\"finding-0\""}) {
    EXPECT_NE(html->find(id), std::string::npos) << id;
  }
  // Each finding with a time range links to its chart with that range.
  EXPECT_TRUE(std::regex_search(
      *html, std::regex("<a class=\"ys-jump\" href=\"#chart-gpu_memory\" data-chart=\"gpu_memory\" "
                        "data-band=\"finding-0-0\" data-start=\"[0-9.]+\" data-end=\"[0-9.]+\"")));
  EXPECT_NE(html->find("ran out of GPU memory"), std::string::npos);
  EXPECT_NE(html->find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(html->find("http://"), std::string::npos) << "no network reference";
  EXPECT_EQ(html->find("https://cdn"), std::string::npos);
  EXPECT_LT(html->size(), 1u << 20);
}

TEST(HtmlReportTest, WithoutChartAssetsItSaysSo) {
  HtmlReportOptions strict;
  auto html = HtmlReport::Render(testing::SqueezeAnalysisWithAlerts(), strict);
  if (ReportAssets::HaveCharts()) {
    ASSERT_TRUE(html.ok());
    EXPECT_EQ(html->find("class=\"ys-banner\""), std::string::npos);
    EXPECT_NE(html->find("uPlot"), std::string::npos);
  } else {
    ASSERT_FALSE(html.ok());
    EXPECT_EQ(html.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(html.status().message().find("npm ci"), std::string::npos);
    auto lenient = HtmlReport::Render(testing::SqueezeAnalysisWithAlerts(), Options());
    ASSERT_TRUE(lenient.ok());
    EXPECT_NE(lenient->find("class=\"ys-banner\""), std::string::npos);
  }
}

TEST(HtmlReportTest, RejectsWhatIsNotAnAnalysis) {
  EXPECT_EQ(HtmlReport::Render(Json::array(), Options()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HtmlReport::Render(Json{{"schema", "something.else"}}, Options()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HtmlReport::Render(Json{{"foo", 1}}, Options()).status().code(),
            StatusCode::kInvalidArgument);
  // A bare but valid document renders (every section says it has nothing).
  EXPECT_TRUE(HtmlReport::Render(Json{{"schema", "yoloscope.analysis.v1"}}, Options()).ok());
  EXPECT_TRUE(HtmlReport::Render(Json{{"summary", Json::object()}}, Options()).ok());
}

// An analysis with a huge window series (as `--window` on a long log gives),
// to check the point cap and the page size cap.
Json BigAnalysis(size_t windows) {
  Json a = {{"schema", "yoloscope.analysis.v1"}, {"summary", {{"requests", 10'000'000}}}};
  Json w = Json::array();
  for (size_t i = 0; i < windows; ++i) {
    const double t = static_cast<double>(i);
    w.push_back({{"start_us", static_cast<int64_t>(1.7e15 + t * 1e6)},
                 {"end_us", static_cast<int64_t>(1.7e15 + (t + 1) * 1e6)},
                 {"requests", 200},
                 {"throughput_rps", 200 + std::sin(t / 50) * 20},
                 {"error_rate", 0.001},
                 {"total_p50_ms", 20 + std::sin(t / 7)},
                 {"total_p99_ms", i == windows / 3 ? 5000.0 : 60 + std::cos(t / 9) * 5},
                 {"inference_p50_ms", 10.0},
                 {"inference_p99_ms", 15.0},
                 {"queue_ms_mean", 3.0},
                 {"queue_len_mean", 1.5},
                 {"batch_size_mean", 4.0},
                 {"mem_used_mb", 9000 + t * 0.01},
                 {"mem_total_mb", 24564},
                 {"gpu_util", 60.0},
                 {"ooms", i % 10000 == 0 ? 1 : 0},
                 {"alloc_retries", 0}});
  }
  a["time_series"] = {{"window_s", 1}, {"windows", std::move(w)}};
  return a;
}

TEST(HtmlReportTest, BigSeriesAreDownsampledUnderTheCaps) {
  const Json a = BigAnalysis(200'000);
  HtmlReportOptions o = Options();
  auto html = HtmlReport::Render(a, o);
  ASSERT_TRUE(html.ok());
  EXPECT_LE(html->size(), o.max_bytes);
  const Json data = Json::parse(EmbeddedData(*html));
  bool spike = false;
  for (const auto& c : data["charts"]["charts"]) {
    const size_t points = c["x"].size() * std::max<size_t>(c["series"].size(), 1);
    EXPECT_LE(points, o.max_points_per_chart) << c["id"];
    if (c["id"] == "latency_percentiles") {
      EXPECT_EQ(c["rows_in"], 200'000);
      for (const auto& s : c["series"]) {
        for (const auto& v : s["values"])
          spike = spike || (v.is_number() && v.get<double>() == 5000);
      }
    }
  }
  EXPECT_TRUE(spike) << "the one-window p99 spike must survive downsampling";
  // A tighter page budget is met by halving the point budget.
  o.max_bytes = 300'000;
  auto small = HtmlReport::Render(a, o);
  ASSERT_TRUE(small.ok());
  EXPECT_LE(small->size(), 300'000u + 200'000u) << "assets are ~120 KB, the rest shrinks";
  EXPECT_LT(small->size(), html->size());
}

TEST(HtmlReportTest, WriteFileWritesAtomically) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("ys_report_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "report.html").string();
  ASSERT_TRUE(HtmlReport::WriteFile(testing::SqueezeAnalysisWithAlerts(), Options(), path).ok());
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_GT(std::filesystem::file_size(path), 10'000u);
  const Status bad = HtmlReport::WriteFile(testing::SqueezeAnalysisWithAlerts(), Options(),
                                           (dir / "no/such/dir/r.html").string());
  EXPECT_FALSE(bad.ok());
  std::ostringstream out;
  EXPECT_TRUE(HtmlReport::Write(testing::SqueezeAnalysisWithAlerts(), Options(), out).ok());
  EXPECT_EQ(out.str().rfind("<!doctype html>", 0), 0u);
  std::filesystem::remove_all(dir);
}

// Issue 16: the HTML cards round as the text and Markdown reports do and
// show served capacity next to what arrived, was refused or failed.
TEST(HtmlReportTest, SummaryRoundsAsTheOtherFormatsAndShowsServedCapacity) {
  Json analysis = {{"schema", "yoloscope.analysis.v1"},
                   {"summary",
                    {{"requests", 300},
                     {"errors", 13},
                     {"error_rate", 13.0 / 300.0},
                     {"throughput_rps", 5.03},
                     {"served", 287},
                     {"refused", 13},
                     {"failed", 0},
                     {"served_rps", 4.81}}}};
  auto html = HtmlReport::Render(analysis, Options());
  ASSERT_TRUE(html.ok()) << html.status().message();
  // Text: "errors 13 (4%)"; the HTML said 4.3%.
  EXPECT_NE(html->find(">4%<"), std::string::npos);
  EXPECT_EQ(html->find("4.3%"), std::string::npos);
  EXPECT_NE(html->find("4.81 req/s"), std::string::npos);
  EXPECT_NE(html->find("5.03 req/s arriving"), std::string::npos);
  EXPECT_NE(html->find("13 refused, 0 failed"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope

namespace yoloscope {
namespace {

// `analyze --what-if ... --html`: the "what_if" member (yoloscope.whatif.v1)
// becomes a panel -- a table and two bar charts -- and a finding's
// predicted fix is shown under its recommendation.
TEST(HtmlReportTest, WhatIfPanelComparesTheSettingsAndFindingsShowTheirFix) {
  Json a = Json::parse(R"j({"schema": "yoloscope.analysis.v1", "summary": {"requests": 10},
    "findings": [{"kind": "underbatching", "severity": "warning", "title": "t",
                  "recommendation": "batch",
                  "predicted_fix": {"what_if": "max_batch=8",
                                    "summary": "max_batch=8: p99 1.2 s -> 140 ms (predicted)"}}]})j");
  auto plain = HtmlReport::Render(a, Options());
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_NE(plain->find("max_batch=8: p99 1.2 s -&gt; 140 ms (predicted)"), std::string::npos);
  EXPECT_EQ(plain->find("<section id=\"what-if\">"), std::string::npos);

  a["what_if"] = Json::parse(R"j({"schema": "yoloscope.whatif.v1", "model": "m",
    "log": {"observed": {"p50_ms": 10, "p90_ms": 20, "p99_ms": 1200, "throughput_per_s": 90,
                         "rejection_rate": 0.05}},
    "logged_setting_sources": ["max_batch=1 (from the log: largest batch)"],
    "logged": {"predicted": {"p50_ms": 11, "p90_ms": 21, "p99_ms": 1100, "throughput_per_s": 91,
                             "rejection_rate": 0.04, "mean_batch_size": 1}},
    "what_if": [{"label": "max_batch=8", "extrapolated": true, "assumptions": ["a guess"],
                 "predicted": {"p50_ms": 5, "p90_ms": 9, "p99_ms": 140, "throughput_per_s": 95,
                               "rejection_rate": 0, "mean_batch_size": 3.5}},
                {"label": "instances=3", "error": "cannot predict: needs more"}]})j");
  auto html = HtmlReport::Render(a, Options());
  ASSERT_TRUE(html.ok()) << html.status().message();
  const size_t at = html->find("<section id=\"what-if\">");
  ASSERT_NE(at, std::string::npos);
  const std::string panel = html->substr(at, html->find("</section>", at) - at);
  for (const char* s :
       {"[1] max_batch=8", "[2] instances=3", "logged (pred.)", "1.20 s", "140 ms (-87%)",
        "3.50 (+250%)", "cannot predict: needs more", "(extrapolated); a guess",
        "max_batch=1 (from the log: largest batch)", "n/a"}) {
    EXPECT_NE(panel.find(s), std::string::npos) << s << "\n" << panel;
  }
  const Json data = Json::parse(EmbeddedData(*html));
  const Json* latency = nullptr;
  for (const Json& c : data["charts"]["charts"]) {
    if (c["id"] == "what_if_latency") latency = &c;
  }
  ASSERT_NE(latency, nullptr);
  // observed, logged and the one what-if that could be predicted.
  EXPECT_EQ((*latency)["x_labels"],
            Json::parse(R"j(["observed", "logged (pred.)", "[1] max_batch=8"])j"));
  EXPECT_EQ((*latency)["series"][0]["label"], "p99");
  EXPECT_EQ((*latency)["series"][0]["values"], Json::parse("[1200, 1100, 140]"));
  // The what-if charts are in the panel, not in the general chart grid.
  const size_t grid = html->find("<section id=\"charts\">");
  ASSERT_NE(grid, std::string::npos);
  const std::string charts = html->substr(grid, html->find("</section>", grid) - grid);
  EXPECT_EQ(charts.find("chart-what_if_latency"), std::string::npos);
  EXPECT_NE(panel.find("chart-what_if_latency"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
