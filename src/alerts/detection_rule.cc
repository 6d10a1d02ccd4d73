#include "alerts/detection_rule.h"

#include <set>

#include "alerts/alert_template.h"

namespace yoloscope {
namespace {

bool IsIdentifier(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::string DetectionRuleKey(const std::vector<DetectionRuleConfig>& rules, size_t index) {
  std::string key = "alerts.detection_rules[" + std::to_string(index) + "]";
  if (index < rules.size() && !rules[index].name.empty()) key += " (" + rules[index].name + ")";
  return key;
}

Status ValidateDetectionRules(const std::vector<DetectionRuleConfig>& rules) {
  std::set<std::string> names;
  for (size_t i = 0; i < rules.size(); ++i) {
    const DetectionRuleConfig& r = rules[i];
    const std::string key = DetectionRuleKey(rules, i);
    auto bad = [&](const std::string& field, const std::string& why) {
      return InvalidArgumentError(key + "." + field + ": " + why);
    };
    if (!IsIdentifier(r.name)) {
      return bad("name", "'" + r.name + "' is not a valid name (use [A-Za-z_][A-Za-z0-9_]*)");
    }
    if (!names.insert(r.name).second) return bad("name", "duplicate rule name '" + r.name + "'");
    if (r.class_name.empty()) return bad("class", "is required (a class name or id of the model)");
    if (!(r.min_confidence >= 0 && r.min_confidence <= 1)) {
      return bad("min_confidence", "must be in 0..1, got " + std::to_string(r.min_confidence));
    }
    if (r.consecutive_frames < 1 || r.consecutive_frames > 1'000'000) {
      return bad("consecutive_frames",
                 "must be in 1..1000000, got " + std::to_string(r.consecutive_frames));
    }
    if (r.resolve_frames < 0 || r.resolve_frames > 1'000'000) {
      return bad("resolve_frames", "must be in 0..1000000 (0 = consecutive_frames), got " +
                                       std::to_string(r.resolve_frames));
    }
    std::set<std::string> streams;
    for (const std::string& s : r.streams) {
      if (s.empty()) return bad("streams", "an empty stream name");
      if (!streams.insert(s).second) return bad("streams", "'" + s + "' is listed twice");
    }
    if (r.severity.empty()) return bad("severity", "must not be empty");
    for (const auto& [k, v] : r.labels) {
      (void)v;
      if (!IsIdentifier(k))
        return bad("labels." + k, "bad label name (use [A-Za-z_][A-Za-z0-9_]*)");
    }
    for (const auto& [k, v] : r.annotations) {
      if (!IsIdentifier(k)) return bad("annotations." + k, "bad annotation name");
      auto t = AlertTemplate::Parse(v);
      if (!t.ok()) return bad("annotations." + k, t.status().message());
    }
  }
  return Status::Ok();
}

}  // namespace yoloscope
