#include "alerts/alertmanager_payload.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/time_format.h"

namespace yoloscope {
namespace {

// RFC 3339 with the fraction only when non-zero, like Go's time.Time JSON.
std::string GoTime(int64_t us) {
  std::string s = FormatRfc3339Micros(us);  // ...T00:00:00.123456Z
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  size_t end = s.size() - 1;  // 'Z'
  size_t last = end;
  while (last > dot + 1 && s[last - 1] == '0') --last;
  if (last == dot + 1) return s.substr(0, dot) + "Z";
  return s.substr(0, last) + "Z";
}

}  // namespace

std::string AlertFingerprint(const std::map<std::string, std::string>& labels) {
  uint64_t h = 14695981039346656037ull;
  auto add = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (const auto& [k, v] : labels) {  // std::map: sorted by name
    for (char c : k) add(static_cast<unsigned char>(c));
    add(0xff);
    for (char c : v) add(static_cast<unsigned char>(c));
    add(0xff);
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string BuildAlertmanagerPayload(const AlertTransition& t,
                                     const AlertmanagerPayloadOptions& options) {
  const bool resolved = t.state == AlertState::kResolved;
  const std::string status = resolved ? "resolved" : "firing";
  nlohmann::json alert;
  alert["status"] = status;
  alert["labels"] = t.labels;
  alert["annotations"] = t.annotations;
  alert["startsAt"] = GoTime(t.fired_at_us.value_or(t.at_us));
  alert["endsAt"] = resolved ? GoTime(t.resolved_at_us.value_or(t.at_us)) : "0001-01-01T00:00:00Z";
  alert["generatorURL"] =
      options.generator_url.empty() ? options.external_url : options.generator_url;
  alert["fingerprint"] = AlertFingerprint(t.labels);

  nlohmann::json body;
  body["version"] = "4";
  body["groupKey"] = "{}:{alertname=\"" + t.rule + "\"}";
  body["truncatedAlerts"] = 0;
  body["status"] = status;
  body["receiver"] = options.receiver;
  body["groupLabels"] = {{"alertname", t.rule}};
  body["commonLabels"] = t.labels;
  body["commonAnnotations"] = t.annotations;
  body["externalURL"] = options.external_url;
  body["alerts"] = nlohmann::json::array({alert});
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace yoloscope
