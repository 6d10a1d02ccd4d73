#include "report/html_report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/time_format.h"
#include "report/analysis_charts.h"
#include "report/chart_set.h"
#include "report/html_escape.h"
#include "report/json_fields.h"
#include "report/report_assets.h"
#include "report/report_page.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxRequestIdsShown = 10;
constexpr size_t kMinPointsPerChart = 500;

std::string Printf(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

// 1234567 -> "1,234,567"; "-" for NaN.
std::string FormatCount(double v) {
  if (!std::isfinite(v)) return "-";
  const bool negative = v < 0;
  std::string digits = Printf("%.0f", std::fabs(v));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? "-" + out : out;
}

// A value with about 3 significant digits, rounded as the text, Markdown
// and JSON reports round it (src/analyzer/report/report_format.cc).
std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 100 || v == std::floor(v)) return Printf("%.0f", v);
  if (a >= 10) return Printf("%.1f", v);
  if (a >= 1) return Printf("%.2f", v);
  return Printf("%.3g", v);
}

std::string FormatMs(double ms) {
  if (!std::isfinite(ms)) return "-";
  if (std::fabs(ms) >= 1000) return FormatNumber(ms / 1000) + " s";
  return FormatNumber(ms) + " ms";
}

// As the other formats: whole percent, two digits below 1%.
std::string FormatPercent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  const double p = fraction * 100;
  if (p > 0 && p < 1) return Printf("%.2g%%", p);
  return Printf("%.0f%%", p);
}

std::string FormatDuration(double s) {
  if (!std::isfinite(s)) return "-";
  if (s < 120) return FormatNumber(s) + " s";
  const int64_t total = static_cast<int64_t>(std::llround(s));
  const int64_t d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60,
                sec = total % 60;
  char buf[64];
  if (d > 0) {
    std::snprintf(buf, sizeof(buf), "%lld d %lld h", static_cast<long long>(d),
                  static_cast<long long>(h));
  } else if (h > 0) {
    std::snprintf(buf, sizeof(buf), "%lld h %02lld min", static_cast<long long>(h),
                  static_cast<long long>(m));
  } else {
    std::snprintf(buf, sizeof(buf), "%lld min %02lld s", static_cast<long long>(m),
                  static_cast<long long>(sec));
  }
  return buf;
}

// A short label of a time: "12:03:04" (UTC) or "+12.5 s" for relative logs.
std::string FormatClock(int64_t us, bool relative) {
  if (relative) return "+" + FormatNumber(static_cast<double>(us) / 1e6) + " s";
  const std::string t = FormatRfc3339Micros(us);  // 2026-01-01T00:00:00.000000Z
  return t.size() >= 19 ? t.substr(11, 8) : t;
}

// A JSON scalar as display text.
std::string ValueText(const Json& v) {
  if (v.is_number()) return FormatNumber(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "-";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string SeverityClass(const std::string& severity) {
  if (severity == "critical" || severity == "warning" || severity == "info") return severity;
  return "info";
}

const Json* StageRow(const Json& analysis, std::string_view stage) {
  for (const Json& s : JsonFields::Array(analysis, "stages")) {
    if (JsonFields::Text(s, "stage") == stage) return &s;
  }
  return nullptr;
}

// One summary card; left out when its value is unknown ("-", "- mean", ...).
void Card(std::string* h, const std::string& label, const std::string& value,
          const std::string& sub, const std::string& extra_class = "") {
  if (value == "-" || value.rfind("- ", 0) == 0) return;
  *h += "<div class=\"ys-card ys-stat";
  if (!extra_class.empty()) *h += " " + extra_class;
  *h += "\"><div class=\"ys-stat-label\">";
  AppendEscapedHtml(label, h);
  *h += "</div><div class=\"ys-stat-value\">";
  AppendEscapedHtml(value, h);
  *h += "</div><div class=\"ys-stat-sub\">";
  AppendEscapedHtml(sub, h);
  *h += "</div></div>";
}

void AppendHeader(const Json& analysis, const std::string& title, std::string* h) {
  const Json& summary = JsonFields::Object(analysis, "summary");
  const Json& input = JsonFields::Object(analysis, "input");
  *h += "<header class=\"ys-header\"><h1>";
  AppendEscapedHtml(title, h);
  *h += "</h1><p class=\"ys-sub\">";
  std::vector<std::string> files;
  for (const Json& f : JsonFields::Array(input, "files")) {
    if (f.is_string()) files.push_back(f.get<std::string>());
  }
  std::string line;
  if (!files.empty()) {
    line = files.size() == 1 ? files[0] : std::to_string(files.size()) + " files";
  }
  const std::string first = JsonFields::Text(summary, "first_ts");
  const std::string last = JsonFields::Text(summary, "last_ts");
  if (!first.empty()) {
    if (!line.empty()) line += " \u00b7 ";
    line += first + " \u2192 " + last + " (" +
            FormatDuration(JsonFields::Number(summary, "span_s")) + ")";
  }
  AppendEscapedHtml(line, h);
  *h += "</p>";
  *h += ReportPage::MissingAssetsBanner();
  *h += "</header>\n";
}

void AppendNav(const Json& analysis, std::string* h) {
  const size_t n = JsonFields::Array(analysis, "findings").size();
  *h += "<nav class=\"ys-nav\"><a href=\"#summary\">Summary</a><a href=\"#findings\">Findings (" +
        std::to_string(n) + ")</a>" +
        std::string(JsonFields::Object(analysis, "what_if").empty()
                        ? ""
                        : "<a href=\"#what-if\">What-if</a>") +
        "<a href=\"#alerts\">Alerts</a><a href=\"#charts\">Charts</a>"
        "<a href=\"#stages\">Stages</a><a href=\"#skipped\">Checks not run</a>"
        "<a href=\"#input\">Input</a></nav>\n";
}

void AppendSummary(const Json& analysis, std::string* h) {
  const Json& s = JsonFields::Object(analysis, "summary");
  *h += "<section id=\"summary\" class=\"ys-cards\">";
  Card(h, "Requests", FormatCount(JsonFields::Number(s, "requests")),
       FormatCount(JsonFields::Number(s, "records")) + " records, " +
           FormatCount(JsonFields::Number(s, "batches")) + " batches, " +
           FormatCount(JsonFields::Number(s, "gpu_samples")) + " GPU samples");
  Card(h, "Span", FormatDuration(JsonFields::Number(s, "span_s")), JsonFields::Text(s, "first_ts"));
  // Capacity is what was served; what arrived, was refused or failed is
  // beside it (older analyses without served_rps show the arrival rate).
  const double served_rps = JsonFields::Number(s, "served_rps");
  if (std::isfinite(served_rps)) {
    Card(h, "Served", FormatNumber(served_rps) + " req/s",
         FormatNumber(JsonFields::Number(s, "throughput_rps")) + " req/s arriving");
  } else {
    Card(h, "Throughput", FormatNumber(JsonFields::Number(s, "throughput_rps")) + " req/s", "mean");
  }
  const double error_rate = JsonFields::Number(s, "error_rate");
  const double refused = JsonFields::Number(s, "refused");
  Card(h, "Errors", FormatPercent(error_rate),
       std::isfinite(refused) ? FormatCount(refused) + " refused, " +
                                    FormatCount(JsonFields::Number(s, "failed")) + " failed"
                              : FormatCount(JsonFields::Number(s, "errors")) + " failed requests",
       error_rate >= 0.01 ? "ys-bad" : "");
  if (const Json* total = StageRow(analysis, "total")) {
    Card(h, "Latency p50 / p99 (served)",
         FormatMs(JsonFields::Number(*total, "p50_ms")) + " / " +
             FormatMs(JsonFields::Number(*total, "p99_ms")),
         "p99.9 " + FormatMs(JsonFields::Number(*total, "p999_ms")) + ", max " +
             FormatMs(JsonFields::Number(*total, "max_ms")));
  }
  if (const Json* inf = StageRow(analysis, "inference")) {
    Card(h, "Inference p50 / p99",
         FormatMs(JsonFields::Number(*inf, "p50_ms")) + " / " +
             FormatMs(JsonFields::Number(*inf, "p99_ms")),
         FormatPercent(JsonFields::Number(*inf, "share")) + " of latency");
  }
  Card(h, "Batch size", FormatNumber(JsonFields::Number(s, "mean_batch_size")) + " mean",
       "max " + FormatNumber(JsonFields::Number(s, "max_batch_size")));
  Card(h, "Queue length", FormatNumber(JsonFields::Number(s, "mean_queue_len")) + " mean",
       "p90 " + FormatNumber(JsonFields::Number(s, "p90_queue_len")) + ", max " +
           FormatNumber(JsonFields::Number(s, "max_queue_len")));
  double peak = NAN, total = NAN;
  for (const Json& g : JsonFields::Array(s, "by_gpu")) {
    const double used = JsonFields::Number(g, "max_mem_used_mb");
    if (std::isfinite(used) && !(used <= peak)) {
      peak = used;
      total = JsonFields::Number(g, "mem_total_mb");
    }
  }
  if (std::isfinite(peak)) {
    Card(h, "GPU memory peak", FormatCount(peak) + " MB",
         std::isfinite(total)
             ? "of " + FormatCount(total) + " MB (" + FormatPercent(peak / total) + ")"
             : "total unknown",
         std::isfinite(total) && peak >= 0.9 * total ? "ys-bad" : "");
  }
  int critical = 0, warning = 0, info = 0;
  for (const Json& f : JsonFields::Array(analysis, "findings")) {
    const std::string sev = JsonFields::Text(f, "severity");
    critical += sev == "critical";
    warning += sev == "warning";
    info += sev == "info";
  }
  Card(h, "Findings",
       std::to_string(critical) + " critical, " + std::to_string(warning) + " warning",
       std::to_string(info) + " info",
       critical > 0 ? "ys-bad" : (warning > 0 ? "ys-warn" : "ys-good"));
  *h += "</section>\n";
}

void AppendFinding(const Json& f, size_t index, const ChartSet& charts, bool relative,
                   std::string* h) {
  const std::string severity = SeverityClass(JsonFields::Text(f, "severity"));
  const std::string kind = JsonFields::Text(f, "kind");
  const std::string chart_id = AnalysisCharts::ChartForFinding(kind);
  const Chart* chart = charts.Find(chart_id);
  const std::string chart_title = chart != nullptr ? chart->title : chart_id;
  *h += "<article class=\"ys-card ys-finding ys-sev-" + severity + "\" id=\"finding-" +
        std::to_string(index) + "\"><header><span class=\"ys-badge\">" + severity + "</span><h3>";
  AppendEscapedHtml(JsonFields::Text(f, "title"), h);
  *h += "</h3><code class=\"ys-kind\">";
  AppendEscapedHtml(kind, h);
  *h += "</code></header>\n<p class=\"ys-meta\">";
  const double affected = JsonFields::Number(f, "affected_count");
  const double fraction = JsonFields::Number(f, "affected_fraction");
  if (std::isfinite(affected)) {
    std::string text = "Affected: " + FormatCount(affected);
    if (std::isfinite(fraction)) text += " (" + FormatPercent(fraction) + ")";
    AppendEscapedHtml(text, h);
    *h += " \u00b7 ";
  }
  // Links: one per time range (scroll + zoom), or one to the chart.
  const Json& ranges = JsonFields::Array(f, "time_ranges");
  std::string links;
  for (size_t r = 0; r < ranges.size(); ++r) {
    auto start = JsonFields::TimeUs(ranges[r], "start_us");
    if (!start) start = JsonFields::TimeUs(ranges[r], "start");
    auto end = JsonFields::TimeUs(ranges[r], "end_us");
    if (!end) end = JsonFields::TimeUs(ranges[r], "end");
    if (!start || !end) continue;
    const std::string band = "finding-" + std::to_string(index) + "-" + std::to_string(r);
    if (!links.empty()) links += ", ";
    links += "<a class=\"ys-jump\" href=\"#chart-" + EscapeHtml(chart_id) + "\" data-chart=\"" +
             EscapeHtml(chart_id) + "\" data-band=\"" + band + "\" data-start=\"" +
             Printf("%.6f", static_cast<double>(*start) / 1e6) + "\" data-end=\"" +
             Printf("%.6f", static_cast<double>(*end) / 1e6) + "\" title=\"" +
             EscapeHtml(JsonFields::Text(ranges[r], "start") + " \u2192 " +
                        JsonFields::Text(ranges[r], "end")) +
             "\">" + EscapeHtml(FormatClock(*start, relative)) + "\u2013" +
             EscapeHtml(FormatClock(*end, relative)) + "</a>";
  }
  if (links.empty()) {
    *h += "Shown in <a class=\"ys-jump\" href=\"#chart-" + EscapeHtml(chart_id) +
          "\" data-chart=\"" + EscapeHtml(chart_id) + "\">" + EscapeHtml(chart_title) + "</a>";
  } else {
    *h += "When: " + links + " <span class=\"ys-dim\">(in " + EscapeHtml(chart_title) + ")</span>";
  }
  *h += "</p>\n";
  const Json& evidence = JsonFields::Array(f, "evidence");
  if (!evidence.empty()) {
    *h += "<ul class=\"ys-evidence\">";
    for (const Json& e : evidence) {
      *h += "<li>";
      AppendEscapedHtml(ValueText(e), h);
      *h += "</li>";
    }
    *h += "</ul>\n";
  }
  const std::string rec = JsonFields::Text(f, "recommendation");
  if (!rec.empty()) {
    *h += "<p class=\"ys-rec\"><strong>Recommendation.</strong> ";
    AppendEscapedHtml(rec, h);
    *h += "</p>\n";
  }
  // The what-if model's prediction for the fix (docs/what-if.md); nothing
  // when the log could not support one.
  const std::string predicted = JsonFields::Text(JsonFields::Object(f, "predicted_fix"), "summary");
  if (!predicted.empty()) {
    *h += "<p class=\"ys-rec ys-predicted-fix\"><strong>Predicted fix.</strong> ";
    AppendEscapedHtml(predicted, h);
    *h += "</p>\n";
  }
  const Json& metrics = JsonFields::Object(f, "metrics");
  if (!metrics.empty()) {
    *h += "<p class=\"ys-metrics\">";
    for (const auto& [k, v] : metrics.items()) {
      *h += "<span><code>";
      AppendEscapedHtml(k, h);
      *h += "</code> ";
      AppendEscapedHtml(ValueText(v), h);
      *h += "</span>";
    }
    *h += "</p>\n";
  }
  const Json& ids = JsonFields::Array(f, "request_ids");
  if (!ids.empty()) {
    *h += "<details class=\"ys-ids\"><summary>Example requests (" + std::to_string(ids.size()) +
          ")</summary>";
    for (size_t i = 0; i < ids.size() && i < kMaxRequestIdsShown; ++i) {
      *h += "<code>";
      AppendEscapedHtml(ValueText(ids[i]), h);
      *h += "</code> ";
    }
    *h += "</details>\n";
  }
  *h += "</article>\n";
}

void AppendFindings(const Json& analysis, const ChartSet& charts, bool relative, std::string* h) {
  const Json& findings = JsonFields::Array(analysis, "findings");
  *h += "<section id=\"findings\"><h2>Findings</h2>\n";
  if (findings.empty()) {
    *h +=
        "<p class=\"ys-card ys-ok\">No findings: nothing in this log points at a "
        "bottleneck. See the checks that could not run below.</p>\n";
  }
  for (size_t i = 0; i < findings.size(); ++i) {
    AppendFinding(findings[i], i, charts, relative, h);
  }
  *h += "</section>\n";
}

void AppendAlerts(const Json& analysis, const ChartSet& charts, std::string* h) {
  *h += "<section id=\"alerts\"><h2>Alerts</h2>\n";
  if (const Chart* c = charts.Find(kChartAlerts)) ReportPage::AppendChartCard(*c, h);
  const Json& alerts = JsonFields::Array(analysis, "alerts");
  if (!alerts.empty()) {
    *h +=
        "<table class=\"ys-table\"><thead><tr><th>rule</th><th>severity</th><th>fired</th>"
        "<th>resolved</th><th>value</th></tr></thead><tbody>";
    for (const Json& a : alerts) {
      const std::string severity = JsonFields::Text(a, "severity");
      *h += "<tr><td>";
      AppendEscapedHtml(JsonFields::Text(a, "rule"), h);
      *h += "</td><td><span class=\"ys-badge ys-sev-" + SeverityClass(severity) + "\">";
      AppendEscapedHtml(severity, h);
      *h += "</span></td><td>";
      AppendEscapedHtml(JsonFields::Text(a, "fired_at"), h);
      *h += "</td><td>";
      const std::string resolved = JsonFields::Text(a, "resolved_at");
      AppendEscapedHtml(resolved.empty() ? "still firing" : resolved, h);
      *h += "</td><td>";
      const Json* v = JsonFields::Find(a, "value");
      AppendEscapedHtml(v != nullptr ? ValueText(*v) : "-", h);
      *h += "</td></tr>";
    }
    *h += "</tbody></table>\n";
  }
  *h += "</section>\n";
}

bool IsWhatIfChart(const Chart& c) {
  return c.id == kChartWhatIfLatency || c.id == kChartWhatIfThroughput ||
         c.id == kChartWhatIfDistribution;
}

// The what-if panel: the settings of `analyze --what-if` side by side (the
// "what_if" member, schema yoloscope.whatif.v1, docs/what-if.md), a table
// and the latency / throughput bars. Absent without that member.
void AppendWhatIf(const Json& analysis, const ChartSet& charts, std::string* h) {
  const Json& w = JsonFields::Object(analysis, "what_if");
  if (w.empty()) return;
  *h += "<section id=\"what-if\"><h2>What-if</h2>\n<p class=\"ys-hint\">";
  std::string intro = "The log's traffic replayed through a model of the serving pipeline";
  const std::string model = JsonFields::Text(w, "model");
  if (!model.empty()) intro += " (model " + model + ")";
  intro +=
      " under each setting. \"observed\" is the log itself; \"logged (pred.)\" is the logged "
      "setting through the model; each what-if's change is against it.";
  AppendEscapedHtml(intro, h);
  *h += "</p>\n";
  struct Column {
    std::string label;
    const Json* values;  // nullptr: cannot be predicted
    std::string error;
  };
  std::vector<Column> cols;
  cols.push_back({"observed", &JsonFields::Object(JsonFields::Object(w, "log"), "observed"), ""});
  const Json& logged = JsonFields::Object(JsonFields::Object(w, "logged"), "predicted");
  cols.push_back({"logged (pred.)", &logged, ""});
  const Json& rows = JsonFields::Array(w, "what_if");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Json* p = JsonFields::Find(rows[i], "predicted");
    cols.push_back({"[" + std::to_string(i + 1) + "] " + JsonFields::Text(rows[i], "label"), p,
                    JsonFields::Text(rows[i], "error")});
  }
  struct Row {
    const char* key;
    const char* label;
    bool percent;  // a fraction shown in %
    bool ms;
  };
  static constexpr Row kRows[] = {
      {"p50_ms", "p50", false, true},
      {"p90_ms", "p90", false, true},
      {"p99_ms", "p99", false, true},
      {"throughput_per_s", "throughput req/s", false, false},
      {"rejection_rate", "rejected", true, false},
      {"device_busy_fraction", "device busy", true, false},
      {"mean_batch_size", "mean batch size", false, false},
      {"mean_queue_length", "mean queue length", false, false},
  };
  *h += "<table class=\"ys-table ys-num ys-what-if\"><thead><tr><th></th>";
  for (const Column& c : cols) {
    *h += "<th>";
    AppendEscapedHtml(c.label, h);
    *h += "</th>";
  }
  *h += "</tr></thead><tbody>";
  for (const Row& r : kRows) {
    *h += "<tr><td>";
    AppendEscapedHtml(r.label, h);
    *h += "</td>";
    const double base = JsonFields::Number(logged, r.key);
    for (size_t c = 0; c < cols.size(); ++c) {
      *h += "<td>";
      if (cols[c].values == nullptr) {
        *h += "n/a</td>";
        continue;
      }
      const double v = JsonFields::Number(*cols[c].values, r.key);
      std::string text = r.percent ? FormatPercent(v) : (r.ms ? FormatMs(v) : FormatNumber(v));
      // The change against the logged setting's prediction, for what-ifs.
      if (c >= 2 && std::isfinite(v) && std::isfinite(base)) {
        if (r.percent) {
          const double d = (v - base) * 100;
          if (std::fabs(d) >= 0.05) text += Printf(" (%+.1f pt)", d);
        } else if (base > 0) {
          const double rel = (v - base) / base * 100;
          text += std::fabs(rel) < 0.5 ? std::string(" (=)") : Printf(" (%+.0f%%)", rel);
        }
      }
      AppendEscapedHtml(text, h);
      *h += "</td>";
    }
    *h += "</tr>";
  }
  *h += "</tbody></table>\n<ul class=\"ys-evidence\">";
  for (const Json& src : JsonFields::Array(w, "logged_setting_sources")) {
    *h += "<li>logged setting: ";
    AppendEscapedHtml(ValueText(src), h);
    *h += "</li>";
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line = "[" + std::to_string(i + 1) + "] " + JsonFields::Text(rows[i], "label");
    const std::string error = JsonFields::Text(rows[i], "error");
    if (!error.empty()) {
      line += ": " + error;
    } else if (JsonFields::Bool(rows[i], "extrapolated", false)) {
      line += " (extrapolated)";
    }
    for (const Json& a : JsonFields::Array(rows[i], "assumptions")) {
      if (a.is_string()) line += "; " + a.get<std::string>();
    }
    *h += "<li>";
    AppendEscapedHtml(line, h);
    *h += "</li>";
  }
  *h += "</ul>\n<div class=\"ys-grid\">\n";
  for (const Chart& c : charts.charts()) {
    if (IsWhatIfChart(c)) ReportPage::AppendChartCard(c, h);
  }
  *h += "</div></section>\n";
}

void AppendCharts(const ChartSet& charts, std::string* h) {
  *h +=
      "<section id=\"charts\"><h2>Charts</h2><p class=\"ys-hint\">Drag across a time chart "
      "to zoom; every time chart follows. Double-click to zoom out. Click a legend entry to "
      "hide a series. Times are UTC.</p>\n<div class=\"ys-grid\">\n";
  for (const Chart& c : charts.charts()) {
    if (c.id != kChartAlerts && !IsWhatIfChart(c)) ReportPage::AppendChartCard(c, h);
  }
  *h += "</div></section>\n";
}

void AppendStages(const Json& analysis, std::string* h) {
  const Json& stages = JsonFields::Array(analysis, "stages");
  *h += "<section id=\"stages\"><h2>Stages</h2>\n";
  if (stages.empty()) {
    *h += "<p class=\"ys-dim\">The log has no stage timings.</p></section>\n";
    return;
  }
  *h +=
      "<table class=\"ys-table ys-num\"><thead><tr><th>stage</th><th>count</th><th>mean</th>"
      "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>share</th></tr>"
      "</thead><tbody>";
  for (const Json& s : stages) {
    *h += "<tr><td>";
    AppendEscapedHtml(JsonFields::Text(s, "stage"), h);
    *h += "</td><td>" + FormatCount(JsonFields::Number(s, "count")) + "</td>";
    for (const char* key : {"mean_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"}) {
      *h += "<td>" + EscapeHtml(FormatMs(JsonFields::Number(s, key))) + "</td>";
    }
    const double share = JsonFields::Number(s, "share");
    const double width = std::isfinite(share) ? std::clamp(share, 0.0, 1.0) * 100 : 0;
    *h += "<td><span class=\"ys-share\"><span style=\"width:" + Printf("%.1f", width) +
          "%\"></span></span>" + EscapeHtml(FormatPercent(share)) + "</td></tr>";
  }
  *h += "</tbody></table></section>\n";
}

void AppendSkipped(const Json& analysis, std::string* h) {
  const Json& skipped = JsonFields::Array(analysis, "skipped_checks");
  *h += "<section id=\"skipped\"><h2>Checks not run</h2>\n";
  if (skipped.empty()) {
    *h += "<p class=\"ys-dim\">Every check ran.</p></section>\n";
    return;
  }
  *h +=
      "<table class=\"ys-table\"><thead><tr><th>check</th><th>fields that would enable it</th>"
      "<th>why</th></tr></thead><tbody>";
  for (const Json& c : skipped) {
    *h += "<tr><td><code>";
    AppendEscapedHtml(JsonFields::Text(c, "check"), h);
    *h += "</code></td><td>";
    bool first = true;
    for (const Json& m : JsonFields::Array(c, "missing_fields")) {
      if (!first) *h += ", ";
      first = false;
      *h += "<code>";
      AppendEscapedHtml(ValueText(m), h);
      *h += "</code>";
    }
    *h += "</td><td>";
    AppendEscapedHtml(JsonFields::Text(c, "reason"), h);
    *h += "</td></tr>";
  }
  *h += "</tbody></table></section>\n";
}

void AppendInput(const Json& analysis, std::string* h) {
  const Json& in = JsonFields::Object(analysis, "input");
  *h += "<section id=\"input\"><h2>Input</h2><dl class=\"ys-dl\">";
  auto row = [h](const std::string& k, const std::string& v) {
    *h += "<dt>";
    AppendEscapedHtml(k, h);
    *h += "</dt><dd>";
    AppendEscapedHtml(v, h);
    *h += "</dd>";
  };
  std::string files;
  for (const Json& f : JsonFields::Array(in, "files")) {
    if (!files.empty()) files += ", ";
    files += ValueText(f);
  }
  row("files", files.empty() ? "-" : files);
  std::string formats;
  for (const auto& [k, v] : JsonFields::Object(in, "formats").items()) {
    if (!formats.empty()) formats += ", ";
    formats += k + ": " + ValueText(v);
  }
  if (!formats.empty()) row("formats", formats);
  row("records", FormatCount(JsonFields::Number(in, "records")));
  const double bytes = JsonFields::Number(in, "bytes");
  if (std::isfinite(bytes)) row("bytes", FormatCount(bytes));
  row("malformed lines", FormatCount(JsonFields::Number(in, "malformed")));
  const double dropped = JsonFields::Number(in, "writer_dropped");
  if (dropped > 0) row("records the server dropped", FormatCount(dropped));
  const double seconds = JsonFields::Number(in, "seconds");
  if (std::isfinite(seconds)) row("analysis time", FormatNumber(seconds) + " s");
  *h += "</dl>";
  const Json& examples = JsonFields::Array(in, "malformed_examples");
  const Json& warnings = JsonFields::Array(in, "warnings");
  if (!examples.empty() || !warnings.empty()) {
    *h += "<ul class=\"ys-warnings\">";
    for (const Json* list : {&examples, &warnings}) {
      for (const Json& e : *list) {
        *h += "<li>";
        AppendEscapedHtml(ValueText(e), h);
        *h += "</li>";
      }
    }
    *h += "</ul>";
  }
  *h += "</section>\n";
}

void AppendFooter(const Json& analysis, const HtmlReportOptions& options, std::string* h) {
  *h += "<footer class=\"ys-footer\">Generated by <code>yoloscope analyze --html</code>";
  if (!options.generated_at.empty()) {
    *h += " at ";
    AppendEscapedHtml(options.generated_at, h);
  }
  *h += " \u00b7 analysis schema <code>";
  AppendEscapedHtml(JsonFields::Text(analysis, "schema"), h);
  *h += "</code>";
  if (ReportAssets::HaveCharts()) {
    *h += " \u00b7 charts drawn with uPlot ";
    AppendEscapedHtml(ReportAssets::UplotVersion(), h);
    *h += " (MIT licence, embedded)";
  }
  *h += " \u00b7 self-contained: opens offline.</footer>\n";
}

std::string DefaultTitle(const Json& analysis) {
  const Json& files = JsonFields::Array(JsonFields::Object(analysis, "input"), "files");
  if (files.empty() || !files[0].is_string()) return "yoloscope report";
  std::string name = std::filesystem::path(files[0].get<std::string>()).filename().string();
  if (files.size() > 1) name += " (+" + std::to_string(files.size() - 1) + " more)";
  return "yoloscope report: " + name;
}

Status Validate(const Json& analysis) {
  if (!analysis.is_object()) return InvalidArgumentError("the analysis is not a JSON object");
  const Json* schema = JsonFields::Find(analysis, "schema");
  if (schema != nullptr) {
    if (!schema->is_string() || schema->get<std::string>().rfind("yoloscope.analysis.", 0) != 0) {
      return InvalidArgumentError("not a yoloscope analysis document (schema " +
                                  schema->dump(-1, ' ', false, Json::error_handler_t::replace) +
                                  ")");
    }
  } else if (JsonFields::Find(analysis, "summary") == nullptr) {
    return InvalidArgumentError("not a yoloscope analysis document (no schema, no summary)");
  }
  return Status::Ok();
}

std::string RenderBody(const Json& analysis, const ChartSet& charts, const std::string& title,
                       const HtmlReportOptions& options) {
  const bool relative = charts.time_axis() == "relative";
  std::string h;
  AppendHeader(analysis, title, &h);
  AppendNav(analysis, &h);
  h += "<main>\n";
  AppendSummary(analysis, &h);
  AppendFindings(analysis, charts, relative, &h);
  AppendWhatIf(analysis, charts, &h);
  AppendAlerts(analysis, charts, &h);
  AppendCharts(charts, &h);
  AppendStages(analysis, &h);
  AppendSkipped(analysis, &h);
  AppendInput(analysis, &h);
  h += "</main>\n";
  AppendFooter(analysis, options, &h);
  return h;
}

}  // namespace

StatusOr<std::string> HtmlReport::Render(const Json& analysis, const HtmlReportOptions& options) {
  try {
    YS_RETURN_IF_ERROR(Validate(analysis));
    if (!ReportAssets::HaveCharts() && !options.allow_missing_assets) {
      return FailedPreconditionError(ReportAssets::MissingMessage());
    }
    const ChartSet charts = AnalysisCharts::Build(analysis);
    ReportPageContent page;
    page.title = options.title.empty() ? DefaultTitle(analysis) : options.title;
    page.mode = "report";
    page.body_html = RenderBody(analysis, charts, page.title, options);
    ChartSetOptions chart_options;
    chart_options.max_points_per_chart = std::max(options.max_points_per_chart, kMinPointsPerChart);
    chart_options.pixel_buckets = std::max<size_t>(options.pixel_buckets, 1);
    while (true) {
      page.charts = charts.ToJson(chart_options);
      std::string html = ReportPage::Render(page);
      if (html.size() <= options.max_bytes ||
          chart_options.max_points_per_chart <= kMinPointsPerChart) {
        return html;
      }
      // Over budget: halve the points of every chart and try again.
      chart_options.max_points_per_chart =
          std::max(chart_options.max_points_per_chart / 2, kMinPointsPerChart);
      chart_options.pixel_buckets = std::max<size_t>(chart_options.pixel_buckets / 2, 64);
    }
  } catch (const std::exception& e) {
    return InternalError(std::string("rendering the HTML report: ") + e.what());
  }
}

Status HtmlReport::Write(const Json& analysis, const HtmlReportOptions& options,
                         std::ostream& out) {
  auto html = Render(analysis, options);
  if (!html.ok()) return html.status();
  out.write(html->data(), static_cast<std::streamsize>(html->size()));
  out.flush();
  if (!out) return UnavailableError("writing the HTML report failed");
  return Status::Ok();
}

Status HtmlReport::WriteFile(const Json& analysis, const HtmlReportOptions& options,
                             const std::string& path) {
  auto html = Render(analysis, options);
  if (!html.ok()) return html.status();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return UnavailableError("cannot write '" + tmp + "': " + std::strerror(errno));
    f.write(html->data(), static_cast<std::streamsize>(html->size()));
    f.close();
    if (!f) {
      std::remove(tmp.c_str());
      return UnavailableError("writing '" + tmp + "' failed: " + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    return UnavailableError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  return Status::Ok();
}

}  // namespace yoloscope
