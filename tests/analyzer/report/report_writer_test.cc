#include "analyzer/report/report_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "analyzer/analyzer.h"
#include "analyzer/report/report_format.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using testing::HealthyLog;
using testing::HealthyOptions;
using testing::RequestShape;
using testing::TestRecord;

AnalysisReport EventfulReport() {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index % 400 == 9) {
      q.r.oom = true;
      q.status = "oom";
    }
    q.r.decode_ms = 35;
  };
  return HealthyLog(o).Analyze();
}

TEST(ReportWriterTest, JsonHasTheDocumentedTopLevelKeys) {
  const auto j = nlohmann::json::parse(ReportWriter::Json(EventfulReport()));
  EXPECT_EQ(j.at("schema"), "yoloscope.analysis.v1");
  for (const char* key :
       {"input", "summary", "stages", "findings", "skipped_checks", "time_series", "baselines"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["summary"]["requests"], 12000);
  EXPECT_TRUE(j["summary"]["by_gpu"].is_array());
  EXPECT_TRUE(j["input"].contains("malformed"));
  EXPECT_TRUE(j["input"].contains("malformed_examples"));
  ASSERT_FALSE(j["stages"].empty());
  for (const auto& st : j["stages"]) {
    for (const char* k : {"stage", "count", "mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms",
                          "max_ms", "share"}) {
      EXPECT_TRUE(st.contains(k)) << k;
    }
  }
  ASSERT_FALSE(j["findings"].empty());
  for (const auto& f : j["findings"]) {
    for (const char* k :
         {"kind", "severity", "title", "time_ranges", "affected_count", "affected_fraction",
          "request_ids", "evidence", "metrics", "recommendation"}) {
      EXPECT_TRUE(f.contains(k)) << k;
    }
  }
  EXPECT_EQ(j["findings"][0]["severity"], "critical");
  EXPECT_GT(j["time_series"]["windows"].size(), 10u);
  EXPECT_GT(j["time_series"]["window_s"].get<double>(), 0);
  EXPECT_FALSE(j["baselines"].empty());
}

TEST(ReportWriterTest, JsonUsesNullForUnknownValues) {
  testing::SyntheticLog log;
  TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0);
  q.r.total_ms = 10;
  const auto j = nlohmann::json::parse(ReportWriter::Json(log.Analyze()));
  EXPECT_TRUE(j["summary"]["mean_batch_size"].is_null());
  EXPECT_TRUE(j["time_series"]["windows"][0]["mem_used_mb"].is_null());
}

TEST(ReportWriterTest, CompactJsonIsOneLine) {
  const std::string s = ReportWriter::Json(EventfulReport(), -1);
  EXPECT_EQ(s.find('\n'), s.size() - 1);
}

TEST(ReportWriterTest, TextReportNamesFindingsAndColoursOnlyWhenAsked) {
  const AnalysisReport r = EventfulReport();
  const std::string plain = ReportWriter::Text(r);
  EXPECT_NE(plain.find("Where the time goes"), std::string::npos);
  EXPECT_NE(plain.find("CRITICAL oom"), std::string::npos);
  EXPECT_NE(plain.find("cpu_preprocess_bound"), std::string::npos);
  EXPECT_EQ(plain.find("\033["), std::string::npos);
  TextReportOptions color;
  color.color = true;
  EXPECT_NE(ReportWriter::Text(r, color).find("\033[1;31m"), std::string::npos);
}

TEST(ReportWriterTest, MarkdownHasTables) {
  const std::string md = ReportWriter::Markdown(EventfulReport());
  EXPECT_NE(md.find("# yoloscope analyze"), std::string::npos);
  EXPECT_NE(md.find("| stage | count |"), std::string::npos);
  EXPECT_NE(md.find("### CRITICAL `oom`"), std::string::npos);
}

TEST(ReportWriterTest, HealthyTextSaysNoBottleneck) {
  const std::string text = ReportWriter::Text(HealthyLog().Analyze());
  EXPECT_TRUE(text.find("0 critical, 0 warning") != std::string::npos ||
              text.find("none: no bottleneck found") != std::string::npos)
      << text;
}

// Every format tells the same story (issue 16): the input's problems are in
// text and Markdown as well as JSON, and Markdown table cells escape `|`.
AnalysisReport ReportWithInputProblems() {
  HealthyOptions o;
  o.seconds = 60;
  o.mutate_request = [](TestRecord& q, const RequestShape&) { q.model = "yolo|v8"; };
  AnalysisReport r = HealthyLog(o).Analyze();
  r.input.malformed = 3;
  r.input.malformed_examples = {"log.jsonl:17: expected ':'"};
  r.input.field_errors = 2;
  r.input.invalid_values = 4;
  r.input.writer_dropped = 5;
  r.input.warnings = {"7 records with timestamps far outside the log's time range"};
  return r;
}

TEST(ReportWriterTest, InputProblemsAreInEveryFormat) {
  const AnalysisReport r = ReportWithInputProblems();
  const std::string text = ReportWriter::Text(r, {});
  const std::string md = ReportWriter::Markdown(r);
  const auto j = nlohmann::json::parse(ReportWriter::Json(r));
  EXPECT_EQ(j["input"]["malformed"], 3);
  EXPECT_EQ(j["input"]["writer_dropped"], 5);
  for (const std::string& out : {text, md}) {
    EXPECT_NE(out.find("log.jsonl:17: expected ':'"), std::string::npos) << out;
    EXPECT_NE(out.find("3 lines or rows were unreadable"), std::string::npos) << out;
    EXPECT_NE(out.find("2 records with an unreadable field"), std::string::npos) << out;
    EXPECT_NE(out.find("4 negative or non-finite"), std::string::npos) << out;
    EXPECT_NE(out.find("dropped 5 record"), std::string::npos) << out;
    EXPECT_NE(out.find("7 records with timestamps far outside"), std::string::npos) << out;
  }
}

TEST(ReportWriterTest, MarkdownTableCellsEscapePipes) {
  const std::string md = ReportWriter::Markdown(ReportWithInputProblems());
  EXPECT_NE(md.find("| yolo\\|v8 |"), std::string::npos) << md;
  EXPECT_EQ(md.find("| yolo|v8 |"), std::string::npos);
}

TEST(ReportWriterTest, OneMeanBatchSizeDefinition) {
  HealthyOptions o;
  o.seconds = 60;
  const auto j = nlohmann::json::parse(ReportWriter::Json(HealthyLog(o).Analyze()));
  ASSERT_EQ(j["summary"]["by_gpu"].size(), 1u);
  const double summary = j["summary"]["mean_batch_size"].get<double>();
  const double gpu = j["summary"]["by_gpu"][0]["mean_batch_size"].get<double>();
  EXPECT_GT(summary, 1.0);
  EXPECT_NEAR(summary, gpu, 1e-3 * summary);
}

TEST(ReportWriterTest, WindowsCarryStageMeansForTheStageChart) {
  HealthyOptions o;
  o.seconds = 60;
  const auto j = nlohmann::json::parse(ReportWriter::Json(HealthyLog(o).Analyze()));
  const auto& windows = j["time_series"]["windows"];
  ASSERT_FALSE(windows.empty());
  const auto& w = windows[windows.size() / 2];
  ASSERT_TRUE(w.contains("stage_means_ms")) << w.dump();
  for (const char* stage : {"queue", "decode+preprocess", "h2d+d2h", "inference", "postprocess"}) {
    EXPECT_TRUE(w["stage_means_ms"].contains(stage)) << stage;
  }
  EXPECT_NEAR(w["stage_means_ms"]["inference"].get<double>(), w["inference_p50_ms"].get<double>(),
              0.3 * w["inference_p50_ms"].get<double>());
}

}  // namespace
}  // namespace yoloscope

namespace yoloscope {
namespace {

// A finding's predicted fix (filled by ys_whatif) in every format; absent
// when not attempted, only `cannot_predict` in JSON when the log cannot
// support one (docs/what-if.md).
TEST(ReportWriterTest, PredictedFixIsInEveryFormatAndCannotPredictOnlyInJson) {
  AnalysisReport r = EventfulReport();
  ASSERT_GE(r.findings.size(), 1u);
  Finding& f = r.findings[0];
  const std::string json_before = ReportWriter::Json(r);
  EXPECT_FALSE(nlohmann::json::parse(json_before)["findings"][0].contains("predicted_fix"));

  PredictedFix fix;
  fix.what_if = "max_batch=8";
  fix.summary = "max_batch=8: p99 1.2 s -> 140 ms (predicted)";
  fix.logged.p99_ms = 1200;
  fix.predicted.p99_ms = 140;
  fix.candidates.push_back({"max_batch=8", 140.0, 0.0, ""});
  f.predicted_fix = fix;
  const auto j = nlohmann::json::parse(ReportWriter::Json(r))["findings"][0]["predicted_fix"];
  EXPECT_EQ(j["what_if"], "max_batch=8");
  EXPECT_EQ(j["summary"], fix.summary);
  EXPECT_EQ(j["logged"]["p99_ms"], 1200);
  EXPECT_EQ(j["predicted"]["p99_ms"], 140);
  EXPECT_TRUE(j["predicted"]["p50_ms"].is_null());  // unknown, not 0
  EXPECT_EQ(j["candidates"][0]["what_if"], "max_batch=8");
  EXPECT_NE(ReportWriter::Text(r).find("predicted: " + fix.summary), std::string::npos);
  EXPECT_NE(ReportWriter::Markdown(r).find("- **Predicted fix:** " + fix.summary),
            std::string::npos);

  PredictedFix none;
  none.cannot_predict = "cannot predict: needs per-batch device times";
  f.predicted_fix = none;
  const auto n = nlohmann::json::parse(ReportWriter::Json(r))["findings"][0]["predicted_fix"];
  EXPECT_EQ(n["cannot_predict"], none.cannot_predict);
  EXPECT_FALSE(n.contains("summary"));
  EXPECT_EQ(ReportWriter::Text(r).find("predicted:"), std::string::npos);
  EXPECT_EQ(ReportWriter::Markdown(r).find("Predicted fix"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope

namespace yoloscope {
namespace {

// A mean halfway between two printed roundings, added up in two orders (one
// or two reading threads): its last bits differ, the printed number must not.
TEST(ReportWriterTest, RoundingIgnoresTheLastBitsOfASum) {
  const double tie = 70.125;
  const double below = std::nextafter(std::nextafter(tie, 0.0), 0.0);
  const double above = std::nextafter(std::nextafter(tie, 100.0), 100.0);
  EXPECT_EQ(FormatNumber(below), FormatNumber(above));
  EXPECT_EQ(FormatNumber(7.125 - 1e-14), FormatNumber(7.125 + 1e-14));
  EXPECT_EQ(FormatPercent(0.125 - 1e-15), FormatPercent(0.125 + 1e-15));
  EXPECT_EQ(StableValue(below), tie);
  EXPECT_EQ(StableValue(above), tie);
  EXPECT_EQ(StableValue(0.0), 0.0);
  EXPECT_EQ(StableValue(1e-300), 1e-300);

  AnalysisReport a = EventfulReport();
  ASSERT_FALSE(a.time_series.windows.empty());
  AnalysisReport b = a;
  a.time_series.windows[0].temp_c = below;
  b.time_series.windows[0].temp_c = above;
  const auto ja = nlohmann::json::parse(ReportWriter::Json(a));
  const auto jb = nlohmann::json::parse(ReportWriter::Json(b));
  EXPECT_EQ(ja["time_series"]["windows"][0]["temp_c"], jb["time_series"]["windows"][0]["temp_c"]);
  EXPECT_EQ(ReportWriter::Text(a, {}), ReportWriter::Text(b, {}));
}

}  // namespace
}  // namespace yoloscope
