#include "alerts/alert_log_line.h"

#include <cmath>

#include "common/time_format.h"
#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

void Key(const char* key, std::string* out) {
  out->push_back(',');
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void Number(const char* key, double v, std::string* out) {
  if (!std::isfinite(v)) return;
  Key(key, out);
  AppendJsonNumber(v, 3, out);
}

void Time(const char* key, int64_t us, std::string* out) {
  Key(key, out);
  out->push_back('"');
  AppendRfc3339Micros(us, out);
  out->push_back('"');
}

void StringMap(const char* key, const std::map<std::string, std::string>& m, std::string* out) {
  Key(key, out);
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(k, out);
    out->push_back(':');
    AppendJsonString(v, out);
  }
  out->push_back('}');
}

}  // namespace

void AppendAlertJsonLine(const AlertTransition& t, std::string* out) {
  out->append("{\"event\":\"alert\",\"schema\":\"yoloscope.v1\",\"ts\":\"");
  AppendRfc3339Micros(t.at_us, out);
  out->push_back('"');
  Key("rule", out);
  AppendJsonString(t.rule, out);
  Key("state", out);
  AppendJsonString(AlertStateName(t.state), out);
  Key("severity", out);
  AppendJsonString(t.severity, out);
  Key("metric", out);
  AppendJsonString(t.metric, out);
  Key("aggregation", out);
  AppendJsonString(t.aggregation, out);
  Key("window_s", out);
  AppendJsonNumber(static_cast<double>(t.window_s), 0, out);
  Key("comparator", out);
  AppendJsonString(t.comparator, out);
  Number("threshold", t.threshold, out);
  Number("value", t.value, out);
  Number("peak", t.peak, out);
  Time("started_at", t.started_at_us, out);
  if (t.fired_at_us) Time("fired_at", *t.fired_at_us, out);
  if (t.resolved_at_us) Time("resolved_at", *t.resolved_at_us, out);
  StringMap("labels", t.labels, out);
  StringMap("annotations", t.annotations, out);
  out->append("}\n");
}

}  // namespace yoloscope
