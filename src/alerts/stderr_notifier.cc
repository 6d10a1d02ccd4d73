#include "alerts/stderr_notifier.h"

#include "common/time_format.h"

namespace yoloscope {
namespace {

// Label values as in PromQL: backslash, quote and newline escaped.
std::string Quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// One line: control characters become spaces.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

}  // namespace

std::string StderrNotifier::FormatLine(const AlertTransition& t) {
  std::string line = "yoloscope: alert ";
  line += t.state == AlertState::kFiring     ? "FIRING"
          : t.state == AlertState::kResolved ? "RESOLVED"
                                             : std::string(AlertStateName(t.state));
  // A detection rule (window 0): consecutive_frames(dog) = 3.
  const std::string window =
      t.window_s > 0 ? "[" + FormatDurationUs(t.window_s * 1'000'000) + "]" : "";
  line += " " + t.rule + " [" + t.severity + "] " + t.aggregation + "(" + t.metric + window +
          ") = " + FormatAlertValue(t.value);
  if (t.state == AlertState::kFiring) {
    line += " " + t.comparator + " " + FormatAlertValue(t.threshold);
  } else if (t.state == AlertState::kResolved && t.fired_at_us) {
    line += " (fired " + FormatRfc3339Micros(*t.fired_at_us) + ", peak " +
            FormatAlertValue(t.peak) + ")";
  }
  std::string extra;
  for (const auto& [k, v] : t.labels) {
    if (k == "alertname" || k == "severity") continue;
    extra += extra.empty() ? " {" : ", ";
    extra += k + "=" + Quote(v);
  }
  if (!extra.empty()) line += extra + "}";
  if (auto it = t.annotations.find("summary"); it != t.annotations.end() && !it->second.empty()) {
    line += ": " + OneLine(it->second);
  }
  return line;
}

void StderrNotifier::Notify(const std::vector<AlertTransition>& transitions) {
  if (out_ == nullptr) return;
  for (const AlertTransition& t : transitions) {
    std::string line = FormatLine(t);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  std::fflush(out_);
}

}  // namespace yoloscope
