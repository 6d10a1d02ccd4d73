#include "server/live_page.h"

#include <utility>

#include "http/response.h"
#include "report/html_escape.h"
#include "report/report_page.h"

namespace yoloscope {
namespace {

// A summary card whose value the page script fills from /api/live
// (`data-live` names a key of "summary").
void LiveCard(std::string* h, const char* label, const std::string& value_html,
              const std::string& sub) {
  *h += "<div class=\"ys-card ys-stat\"><div class=\"ys-stat-label\">";
  *h += label;
  *h += "</div><div class=\"ys-stat-value\">" + value_html + "</div><div class=\"ys-stat-sub\">";
  *h += sub;
  *h += "</div></div>";
}

std::string Live(const char* key, const char* unit, const char* scale = "1") {
  return std::string("<span data-live=\"") + key + "\" data-unit=\"" + unit + "\" data-scale=\"" +
         scale + "\">-</span>";
}

}  // namespace

std::string LivePage::RenderJson(const LiveSeries& series, const LiveExtension& extend) {
  nlohmann::json live = series.Snapshot();
  if (extend) extend(&live);
  return live.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string LivePage::RenderHtml(const LiveSeries& series, const LivePageOptions& options) {
  const nlohmann::json snapshot = series.Snapshot();
  const ChartSet charts = series.Charts();
  std::string h;
  h += "<header class=\"ys-header\"><h1>";
  AppendEscapedHtml(options.title, &h);
  h += " \u00b7 live</h1><p class=\"ys-sub\">";
  std::string sub = options.subtitle;
  if (!sub.empty()) sub += " \u00b7 ";
  sub += "last " + std::to_string(series.config().window_s / 60) +
         " min, updated every second; numbers below: last " +
         std::to_string(series.config().summary_s) + " s";
  AppendEscapedHtml(sub, &h);
  h += "</p>";
  h += ReportPage::MissingAssetsBanner();
  h += "</header>\n<nav class=\"ys-nav\"><a href=\"#summary\">Now</a><a href=\"#streams\">"
       "Streams</a><a href=\"#charts\">Charts</a><a href=\"/metrics\">/metrics</a><a "
       "href=\"/v1/stats\">/v1/stats</a>"
       "<span id=\"ys-live-status\" class=\"ys-live-status\">connecting\u2026</span></nav>\n";
  h += "<main>\n<section id=\"summary\" class=\"ys-cards\">";
  LiveCard(&h, "Served", Live("served_per_s", "req/s"),
           "per second; arriving " + Live("requests_per_s", "req/s"));
  LiveCard(&h, "Latency p50 / p99", Live("p50_ms", "ms") + " / " + Live("p99_ms", "ms"),
           "total, served requests");
  LiveCard(&h, "Refused / failed", Live("refused_per_s", "/s") + " / " + Live("failed_per_s", "/s"),
           "errors " + Live("error_rate", "%", "100") + " of requests");
  LiveCard(&h, "Queue length", Live("queue_len", ""), "mean at arrival");
  LiveCard(&h, "Batch size", Live("batch_size", ""), "mean per request");
  LiveCard(&h, "GPU memory", Live("mem_used_mb", "MB") + " / " + Live("mem_total_mb", "MB"),
           "used / total");
  LiveCard(&h, "GPU utilisation", Live("gpu_util", "%"), "mean");
  // The per-stream panel: rows filled by the page script from /api/live's
  // "streams" (text only); hidden until there is one.
  h += "</section>\n<section id=\"streams\" hidden><h2>Streams</h2><p class=\"ys-hint\">Video "
       "streams (serve --stream): fps achieved over the last seconds vs the target, frame "
       "latency (capture to result) p50 / p99 over the same seconds, counts since the start."
       "</p>\n<table class=\"ys-table ys-num\"><thead><tr><th>Stream</th><th>State</th><th>fps "
       "/ target</th><th>Latency p50 / p99</th><th>Processed</th><th>Dropped of read</th>"
       "<th>Reconnects</th><th>Results out</th><th>Alerts firing</th></tr></thead><tbody "
       "id=\"ys-streams-body\"></tbody></table></section>\n";
  h += "<section id=\"charts\"><h2>Charts</h2><p class=\"ys-hint\">Drag across a "
       "time chart to zoom (all follow, updates keep the zoom); double-click to zoom out.</p>\n"
       "<div class=\"ys-grid\">\n";
  for (const Chart& c : charts.charts()) ReportPage::AppendChartCard(c, &h);
  h += "</div></section>\n</main>\n";

  ReportPageContent page;
  page.title = options.title + " \u00b7 live";
  page.mode = "live";
  page.live_url = options.api_path;
  page.live_interval_ms = options.interval_ms;
  page.body_html = std::move(h);
  page.charts = snapshot.contains("charts") ? snapshot["charts"] : nlohmann::json::object();
  return ReportPage::Render(page);
}

Status LivePage::AddRoutes(http::Router* router, const LiveSeries* series,
                           const LivePageOptions& options, LiveExtension extend) {
  YS_RETURN_IF_ERROR(
      router->Add("GET", options.page_path, [series, options](http::Request, http::Responder resp) {
        http::Response r =
            http::Response::Text(RenderHtml(*series, options), 200, "text/html; charset=utf-8");
        r.headers.emplace_back("Cache-Control", "no-store");
        resp.Send(std::move(r));
      }));
  return router->Add("GET", options.api_path,
                     [series, extend](http::Request, http::Responder resp) {
                       http::Response r = http::Response::Json(RenderJson(*series, extend));
                       r.headers.emplace_back("Cache-Control", "no-store");
                       resp.Send(std::move(r));
                     });
}

}  // namespace yoloscope
