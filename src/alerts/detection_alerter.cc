#include "alerts/detection_alerter.h"

#include <algorithm>
#include <cmath>

namespace yoloscope {
namespace {

constexpr char kDefaultSummary[] =
    "{{ $labels.class }} in {{ $threshold }} consecutive frames of stream {{ $labels.stream }}";

// "person, bicycle, car, ... (80 classes)" for error messages.
std::string SomeClasses(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 8) out += ", ...";
  return out + " (" + std::to_string(names.size()) + " classes)";
}

}  // namespace

StatusOr<std::unique_ptr<DetectionAlerter>> DetectionAlerter::Create(
    std::vector<DetectionRuleConfig> configs, const std::vector<std::string>& class_names,
    std::map<std::string, std::string> external_labels) {
  YS_RETURN_IF_ERROR(ValidateDetectionRules(configs));
  std::vector<Rule> rules;
  for (size_t i = 0; i < configs.size(); ++i) {
    Rule r;
    r.config = configs[i];
    const std::string& c = r.config.class_name;
    auto named = std::find(class_names.begin(), class_names.end(), c);
    if (named != class_names.end()) {
      r.class_id = static_cast<int>(named - class_names.begin());
    } else if (c.find_first_not_of("0123456789") == std::string::npos && c.size() <= 6 &&
               std::stoi(c) < static_cast<int>(class_names.size())) {
      r.class_id = std::stoi(c);
    } else {
      return InvalidArgumentError(
          DetectionRuleKey(configs, i) + ".class: '" + c +
          "' is not a class name or id of the model: " + SomeClasses(class_names));
    }
    r.class_label = class_names[r.class_id];
    r.resolve_frames =
        r.config.resolve_frames > 0 ? r.config.resolve_frames : r.config.consecutive_frames;
    std::map<std::string, std::string> texts = r.config.annotations;
    if (!texts.count("summary")) texts["summary"] = kDefaultSummary;
    for (const auto& [k, v] : texts) {
      auto t = AlertTemplate::Parse(v);
      if (!t.ok()) {
        return InvalidArgumentError(DetectionRuleKey(configs, i) + ".annotations." + k + ": " +
                                    t.status().message());
      }
      r.annotations.emplace(k, std::move(t).value());
    }
    rules.push_back(std::move(r));
  }
  return std::unique_ptr<DetectionAlerter>(
      new DetectionAlerter(std::move(rules), std::move(external_labels)));
}

DetectionAlerter::DetectionAlerter(std::vector<Rule> rules,
                                   std::map<std::string, std::string> external_labels)
    : rules_(std::move(rules)),
      external_labels_(std::move(external_labels)),
      series_(rules_.size()) {}

bool DetectionAlerter::Applies(const Rule& rule, const std::string& stream) const {
  const auto& s = rule.config.streams;
  return s.empty() || std::find(s.begin(), s.end(), stream) != s.end();
}

bool DetectionAlerter::Watches(const std::string& stream) const {
  for (const Rule& r : rules_) {
    if (Applies(r, stream)) return true;
  }
  return false;
}

AlertTransition DetectionAlerter::Make(const Rule& rule, const std::string& stream, const Series& s,
                                       AlertState state, double value, int64_t at_us) const {
  AlertTransition t;
  t.state = state;
  t.rule = rule.config.name;
  t.severity = rule.config.severity;
  t.metric = rule.class_label;
  t.aggregation = "consecutive_frames";
  t.window_s = 0;
  t.comparator = ">=";
  t.threshold = rule.config.consecutive_frames;
  t.value = value;
  t.fired_value = s.firing || state == AlertState::kResolved ? s.fired_value : std::nan("");
  t.peak = s.peak;
  t.at_us = at_us;
  t.started_at_us = s.started_at_us;
  t.fired_at_us = s.fired_at_us;
  if (state == AlertState::kResolved) t.resolved_at_us = at_us;
  t.labels = external_labels_;
  t.labels["stream"] = stream;
  t.labels["class"] = rule.class_label;
  for (const auto& [k, v] : rule.config.labels) t.labels[k] = v;
  t.labels["alertname"] = rule.config.name;
  t.labels["severity"] = rule.config.severity;
  AlertTemplateData data;
  data.value = value;
  data.threshold = t.threshold;
  data.labels = &t.labels;
  for (const auto& [k, tmpl] : rule.annotations) t.annotations[k] = tmpl.Render(data);
  return t;
}

std::vector<AlertTransition> DetectionAlerter::Observe(const std::string& stream, int64_t at_us,
                                                       bool ok,
                                                       const std::vector<DetectedObject>& objects) {
  std::vector<AlertTransition> out;
  if (!ok) return out;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& rule = rules_[i];
    if (!Applies(rule, stream)) continue;
    bool present = false;
    for (const DetectedObject& o : objects) {
      if (o.class_id == rule.class_id && o.score >= rule.config.min_confidence) {
        present = true;
        break;
      }
    }
    Series& s = series_[i][stream];
    if (present) {
      if (s.run == 0 && !s.firing) s.started_at_us = at_us;
      ++s.run;
      s.absent_run = 0;
      if (s.firing) {
        s.peak = std::max(s.peak, static_cast<double>(s.run));
      } else if (s.run >= rule.config.consecutive_frames) {
        s.firing = true;
        s.fired_at_us = at_us;
        s.fired_value = static_cast<double>(s.run);
        s.peak = s.fired_value;
        out.push_back(Make(rule, stream, s, AlertState::kFiring, s.fired_value, at_us));
      }
    } else {
      s.run = 0;
      if (s.firing && ++s.absent_run >= rule.resolve_frames) {
        out.push_back(Make(rule, stream, s, AlertState::kResolved, 0, at_us));
        s = Series{};
      }
    }
  }
  return out;
}

std::vector<AlertTransition> DetectionAlerter::EndStream(const std::string& stream, int64_t at_us) {
  std::vector<AlertTransition> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < rules_.size(); ++i) {
    auto it = series_[i].find(stream);
    if (it == series_[i].end()) continue;
    if (it->second.firing) {
      out.push_back(Make(rules_[i], stream, it->second, AlertState::kResolved, 0, at_us));
    }
    series_[i].erase(it);
  }
  return out;
}

}  // namespace yoloscope
