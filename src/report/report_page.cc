#include "report/report_page.h"

#include <cctype>

#include "report/html_escape.h"
#include "report/report_assets.h"

namespace yoloscope {
namespace {

// `text` with every case-insensitive "</tag" written as "<\/tag", so inlined
// code cannot close its element early.
std::string Defuse(std::string_view text, std::string_view tag) {
  std::string out;
  out.reserve(text.size());
  const std::string needle = "</" + std::string(tag);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + needle.size() <= text.size()) {
      bool match = true;
      for (size_t k = 1; k < needle.size() && match; ++k) {
        match = std::tolower(static_cast<unsigned char>(text[i + k])) == needle[k];
      }
      if (match) {
        out.append("<\\/");
        ++i;  // Skip '/'; the tag name follows as is.
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace

std::string ReportPage::MissingAssetsBanner() {
  if (ReportAssets::HaveCharts()) return "";
  return "<div class=\"ys-banner\" role=\"alert\"><strong>No charts:</strong> " +
         EscapeHtml(ReportAssets::MissingMessage()) + ".</div>";
}

void ReportPage::AppendChartCard(const Chart& chart, std::string* html) {
  *html += "<figure class=\"ys-card ys-chart-card\" id=\"chart-";
  AppendEscapedHtml(chart.id, html);
  *html += "\"><figcaption><span class=\"ys-chart-title\">";
  AppendEscapedHtml(chart.title, html);
  *html += "</span><button type=\"button\" class=\"ys-reset\" hidden>reset zoom</button>";
  *html += "<span class=\"ys-note\">";
  AppendEscapedHtml(chart.note, html);
  *html += "</span></figcaption><div class=\"ys-chart\" data-chart=\"";
  AppendEscapedHtml(chart.id, html);
  *html += "\">";
  if (!chart.HasData()) *html += "<div class=\"ys-nodata\">no data in this log</div>";
  *html += "</div></figure>\n";
}

std::string ReportPage::Render(const ReportPageContent& content) {
  std::string out;
  out.reserve(content.body_html.size() + 128 * 1024);
  out += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // No network at view time: forbid it outright.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";
  if (content.mode == "live") out += "; connect-src 'self'";
  out += "\">\n<meta name=\"generator\" content=\"yoloscope\">\n<title>";
  AppendEscapedHtml(content.title, &out);
  out += "</title>\n<style>\n";
  out += Defuse(ReportAssets::UplotCss(), "style");
  out += "\n";
  out += Defuse(ReportAssets::ReportCss(), "style");
  out += "\n</style>\n</head>\n<body data-mode=\"";
  AppendEscapedHtml(content.mode, &out);
  out += "\">\n";
  out += content.body_html;
  out += "\n<div id=\"ys-errors\" hidden></div>\n";
  nlohmann::json data = nlohmann::json::object();
  data["mode"] = content.mode;
  data["live_url"] = content.live_url;
  data["live_interval_ms"] = content.live_interval_ms;
  data["charts"] = content.charts;
  out += "<script type=\"application/json\" id=\"ys-data\">";
  out += JsonForScript(data);
  out += "</script>\n";
  if (ReportAssets::HaveCharts()) {
    out += "<script>\n/*! uPlot ";
    out += ReportAssets::UplotVersion();
    out += ", embedded unmodified; its licence:\n";
    std::string license(ReportAssets::UplotLicense());
    for (size_t p = license.find("*/"); p != std::string::npos; p = license.find("*/", p)) {
      license.replace(p, 2, "* /");
    }
    out += Defuse(license, "script");
    out += "\n*/\n";
    out += Defuse(ReportAssets::UplotJs(), "script");
    out += "\n</script>\n<script>\n";
    out += Defuse(ReportAssets::ReportJs(), "script");
    out += "\n</script>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace yoloscope
