#include "alerts/alert_timeline_report.h"

#include <cmath>

#include "common/time_format.h"

namespace yoloscope {
namespace {

nlohmann::json Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return std::round(v * 1000.0) / 1000.0;
}

std::string Duration(const TimelineAlert& a) {
  if (!a.resolved_at_us) return "";
  const int64_t us = *a.resolved_at_us - a.fired_at_us;
  return FormatDurationUs(us / 1'000'000 * 1'000'000);
}

std::string Summary(const TimelineAlert& a) {
  auto it = a.annotations.find("summary");
  return it == a.annotations.end() ? std::string() : it->second;
}

// Labels other than alertname and severity, as {k="v", ...}; "" when none.
std::string ExtraLabels(const TimelineAlert& a) {
  std::string out;
  for (const auto& [k, v] : a.labels) {
    if (k == "alertname" || k == "severity") continue;
    out += out.empty() ? "{" : ", ";
    out += k + "=\"" + v + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

std::string EscapeCell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

nlohmann::json AlertTimelineToJson(const std::vector<TimelineAlert>& alerts) {
  nlohmann::json out = nlohmann::json::array();
  for (const TimelineAlert& a : alerts) {
    nlohmann::json j;
    j["rule"] = a.rule;
    j["severity"] = a.severity;
    j["expression"] = a.expression;
    j["threshold"] = Number(a.threshold);
    j["started_at"] = FormatRfc3339Micros(a.started_at_us);
    j["fired_at"] = FormatRfc3339Micros(a.fired_at_us);
    if (a.resolved_at_us) {
      j["resolved_at"] = FormatRfc3339Micros(*a.resolved_at_us);
      j["duration_s"] = static_cast<double>(*a.resolved_at_us - a.fired_at_us) / 1e6;
    } else {
      j["resolved_at"] = nullptr;
      j["duration_s"] = nullptr;
    }
    j["value"] = Number(a.value);
    j["peak"] = Number(a.peak);
    j["labels"] = a.labels;
    j["annotations"] = a.annotations;
    out.push_back(std::move(j));
  }
  return out;
}

std::string RenderAlertTimelineText(const std::vector<TimelineAlert>& alerts) {
  if (alerts.empty()) return "Alerts: none fired\n";
  int open = 0;
  for (const auto& a : alerts) open += a.resolved_at_us ? 0 : 1;
  std::string out = "Alerts: " + std::to_string(alerts.size()) + " fired";
  if (open > 0) out += ", " + std::to_string(open) + " still firing at the end of the log";
  out += "\n";
  for (const TimelineAlert& a : alerts) {
    out += "  " + FormatRfc3339Micros(a.fired_at_us) + "  " + a.rule + ExtraLabels(a) + " [" +
           a.severity + "]  " + a.expression + "  value " + FormatAlertValue(a.value) + ", peak " +
           FormatAlertValue(a.peak);
    if (a.resolved_at_us) {
      out +=
          "  resolved " + FormatRfc3339Micros(*a.resolved_at_us) + " (after " + Duration(a) + ")";
    } else {
      out += "  still firing";
    }
    out += "\n";
    if (const std::string s = Summary(a); !s.empty()) out += "      " + s + "\n";
  }
  return out;
}

std::string RenderAlertTimelineMarkdown(const std::vector<TimelineAlert>& alerts) {
  std::string out = "## Alerts\n\n";
  if (alerts.empty()) return out + "No alert fired.\n";
  out += "| fired at | resolved at | alert | severity | condition | value | peak | summary |\n";
  out += "|---|---|---|---|---|---:|---:|---|\n";
  for (const TimelineAlert& a : alerts) {
    out += "| " + FormatRfc3339Micros(a.fired_at_us) + " | " +
           (a.resolved_at_us ? FormatRfc3339Micros(*a.resolved_at_us) + " (" + Duration(a) + ")"
                             : std::string("still firing")) +
           " | " + EscapeCell(a.rule + ExtraLabels(a)) + " | " + a.severity + " | `" +
           a.expression + "` | " + FormatAlertValue(a.value) + " | " + FormatAlertValue(a.peak) +
           " | " + EscapeCell(Summary(a)) + " |\n";
  }
  return out;
}

}  // namespace yoloscope
