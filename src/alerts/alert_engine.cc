#include "alerts/alert_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "alerts/metric_samples.h"

namespace yoloscope {
namespace {

constexpr char kKeySeparator = '\x1f';
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> SplitKey(const std::string& key, size_t n) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t end = key.find(kKeySeparator, start);
    if (end == std::string::npos) end = key.size();
    parts.push_back(key.substr(start, end - start));
    start = std::min(key.size(), end + 1);
  }
  return parts;
}

// The value of an empty window for the rule's aggregation.
double EmptyValue(const AlertRule& r) {
  switch (r.aggregation) {
    case Aggregation::kCount:
    case Aggregation::kSum:
    case Aggregation::kRate:
      return 0.0;
    default:
      return kNaN;
  }
}

double MoreExtreme(const AlertRule& r, double a, double b) {
  if (std::isnan(a)) return b;
  if (std::isnan(b)) return a;
  return IsUpper(r.comparator) ? std::max(a, b) : std::min(a, b);
}

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
    case AlertState::kResolved:
      return "resolved";
  }
  return "?";
}

StatusOr<std::unique_ptr<AlertEngine>> AlertEngine::Create(RuleSet rules,
                                                           const AlertEngineConfig& config) {
  if (config.max_series_per_rule < 1) {
    return InvalidArgumentError("alert engine: max_series_per_rule must be >= 1");
  }
  if (config.ring_slack_s < 0 || config.ring_slack_s > 3600) {
    return InvalidArgumentError("alert engine: ring_slack_s must be in 0..3600");
  }
  return std::unique_ptr<AlertEngine>(new AlertEngine(std::move(rules), config));
}

AlertEngine::AlertEngine(RuleSet rules, const AlertEngineConfig& config)
    : rules_(std::move(rules)), config_(config) {
  states_.resize(rules_.rules().size());
  for (size_t i = 0; i < states_.size(); ++i) {
    RuleState& rs = states_[i];
    rs.rule = &rules_.rules()[i];
    rs.keep_quantiles = rs.rule->aggregation == Aggregation::kQuantile;
    // An ungrouped rule always has its one series, so that conditions that
    // hold on no data (`count < 1`) are evaluated from the start.
    if (rs.rule->group_by.empty()) SeriesFor(rs, "");
  }
}

std::string AlertEngine::SeriesKeyOf(const AlertRule& rule, const LogRecord& r) {
  std::string key;
  for (size_t i = 0; i < rule.group_by.size(); ++i) {
    if (i > 0) key += kKeySeparator;
    switch (rule.group_by[i]) {
      case GroupField::kModel:
        key += r.model;
        break;
      case GroupField::kDevice:
        key += r.device;
        break;
      case GroupField::kGpuId:
        if (r.gpu_id) key += std::to_string(*r.gpu_id);
        break;
      case GroupField::kBackend:
        key += r.backend;
        break;
    }
  }
  return key;
}

AlertEngine::Series* AlertEngine::SeriesFor(RuleState& rs, const std::string& key) {
  auto it = rs.series.find(key);
  if (it != rs.series.end()) return it->second.get();
  if (rs.series.size() >= static_cast<size_t>(config_.max_series_per_rule)) {
    ++stats_.series_overflow;
    return nullptr;
  }
  const AlertRule& rule = *rs.rule;
  auto s = std::make_unique<Series>(rule.window_s, rs.keep_quantiles, config_.ring_slack_s);
  s->labels = config_.external_labels;
  const std::vector<std::string> values = SplitKey(key, rule.group_by.size());
  for (size_t i = 0; i < rule.group_by.size(); ++i) {
    const std::string name(GroupFieldName(rule.group_by[i]));
    if (values[i].empty()) {
      s->labels.erase(name);
    } else {
      s->labels[name] = values[i];
    }
  }
  for (const auto& [k, v] : rule.labels) s->labels[k] = v;
  s->labels["alertname"] = rule.name;
  s->labels["severity"] = rule.severity;
  Series* raw = s.get();
  rs.series.emplace(key, std::move(s));
  return raw;
}

void AlertEngine::Observe(const LogRecord& record) {
  MetricSamples samples;
  if (!ExtractMetricSamples(record, &samples)) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (samples.from_telemetry && !telemetry_seen_) {
    telemetry_seen_ = samples.Has(AlertMetric::kMemUsedPct) ||
                      samples.Has(AlertMetric::kMemUsedMb) || samples.Has(AlertMetric::kGpuUtil);
  }
  bool any = false;
  for (RuleState& rs : states_) {
    const double v = samples.Get(rs.rule->metric);
    if (std::isnan(v)) continue;
    if (telemetry_seen_ && !samples.from_telemetry && IsDeviceStateMetric(rs.rule->metric)) {
      continue;
    }
    any = true;
    Series* s =
        SeriesFor(rs, rs.rule->group_by.empty() ? std::string() : SeriesKeyOf(*rs.rule, record));
    if (s == nullptr) continue;
    if (s->window.Add(samples.event_us, v)) {
      ++stats_.samples;
    } else {
      ++stats_.late_samples;
    }
  }
  if (any) ++stats_.records;
}

void AlertEngine::AddBucket(size_t rule_index, const std::string& series_key, int64_t second,
                            const BucketStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rule_index >= states_.size()) return;
  Series* s = SeriesFor(states_[rule_index], series_key);
  if (s == nullptr) return;
  if (s->window.AddBucket(second, stats)) {
    stats_.samples += stats.count;
  } else {
    stats_.late_samples += stats.count;
  }
}

AlertTransition AlertEngine::MakeTransition(const RuleState& rs, const Series& s, AlertState state,
                                            double value, int64_t now_us) const {
  const AlertRule& r = *rs.rule;
  AlertTransition t;
  t.state = state;
  t.rule = r.name;
  t.severity = r.severity;
  t.metric = std::string(GetMetricInfo(r.metric).name);
  t.aggregation = AggregationName(r.aggregation, r.quantile);
  t.window_s = r.window_s;
  t.comparator = std::string(ComparatorText(r.comparator));
  t.threshold = r.threshold;
  t.value = value;
  t.at_us = now_us;
  t.started_at_us = s.active_since_us;
  t.peak = s.peak;
  t.fired_value = kNaN;
  if (s.state == AlertState::kFiring || state == AlertState::kResolved ||
      state == AlertState::kFiring) {
    t.fired_at_us = s.fired_at_us;
    t.fired_value = s.fired_value;
  }
  if (state == AlertState::kResolved) t.resolved_at_us = now_us;
  t.labels = s.labels;
  AlertTemplateData data;
  data.value = value;
  data.threshold = r.threshold;
  data.labels = &t.labels;
  for (const auto& [name, tmpl] : r.annotations) t.annotations[name] = tmpl.Render(data);
  return t;
}

std::vector<AlertTransition> AlertEngine::Evaluate(int64_t now_us) {
  std::vector<AlertTransition> out;
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.evaluations;
  last_eval_us_ = now_us;
  for (RuleState& rs : states_) {
    const AlertRule& r = *rs.rule;
    for (auto it = rs.series.begin(); it != rs.series.end();) {
      Series& s = *it->second;
      const double v = s.window.Evaluate(r.aggregation, r.quantile, now_us);
      s.last_value = v;
      const bool cond = Compare(v, r.comparator, r.threshold);
      switch (s.state) {
        case AlertState::kInactive:
        case AlertState::kResolved:
          if (!cond) break;
          s.active_since_us = now_us;
          s.peak = v;
          s.clear_since_us.reset();
          if (r.for_us <= 0) {
            s.state = AlertState::kFiring;
            s.fired_at_us = now_us;
            s.fired_value = v;
            out.push_back(MakeTransition(rs, s, AlertState::kFiring, v, now_us));
          } else {
            s.state = AlertState::kPending;
            out.push_back(MakeTransition(rs, s, AlertState::kPending, v, now_us));
          }
          break;
        case AlertState::kPending:
          if (!cond) {
            out.push_back(MakeTransition(rs, s, AlertState::kInactive, v, now_us));
            s.state = AlertState::kInactive;
            break;
          }
          s.peak = MoreExtreme(r, s.peak, v);
          if (now_us - s.active_since_us >= r.for_us) {
            s.state = AlertState::kFiring;
            s.fired_at_us = now_us;
            s.fired_value = v;
            out.push_back(MakeTransition(rs, s, AlertState::kFiring, v, now_us));
          }
          break;
        case AlertState::kFiring:
          s.peak = MoreExtreme(r, s.peak, v);
          if (Compare(v, r.comparator, r.resolve_threshold)) {
            s.clear_since_us.reset();
            break;
          }
          if (!s.clear_since_us) s.clear_since_us = now_us;
          if (now_us - *s.clear_since_us >= r.resolve_for_us) {
            out.push_back(MakeTransition(rs, s, AlertState::kResolved, v, now_us));
            s.state = AlertState::kInactive;
            s.clear_since_us.reset();
          }
          break;
      }
      // Forget an idle grouped series (it is re-created by its next sample).
      if (!r.group_by.empty() && s.state == AlertState::kInactive && s.window.EmptyAt(now_us)) {
        it = rs.series.erase(it);
      } else {
        ++it;
      }
    }
  }
  stats_.transitions += static_cast<int64_t>(out.size());
  return out;
}

std::vector<AlertTransition> AlertEngine::ActiveAlerts() const {
  std::vector<AlertTransition> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const RuleState& rs : states_) {
    for (const auto& [key, s] : rs.series) {
      if (s->state == AlertState::kPending || s->state == AlertState::kFiring) {
        out.push_back(MakeTransition(rs, *s, s->state, s->last_value, last_eval_us_));
      }
    }
  }
  return out;
}

bool AlertEngine::Quiescent(int64_t now_us) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const RuleState& rs : states_) {
    if (Compare(EmptyValue(*rs.rule), rs.rule->comparator, rs.rule->threshold)) return false;
    for (const auto& [key, s] : rs.series) {
      if (s->state != AlertState::kInactive || !s->window.EmptyAt(now_us)) return false;
    }
  }
  return true;
}

AlertEngineStats AlertEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace yoloscope
