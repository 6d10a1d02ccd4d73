#include "alerts/alert_timeline.h"

#include <algorithm>
#include <array>
#include <set>

#include "alerts/metric_samples.h"

namespace yoloscope {
namespace {

std::string AlertKey(const std::string& rule, const std::map<std::string, std::string>& labels) {
  std::string key = rule;
  for (const auto& [k, v] : labels) {
    key += '\x1e';
    key += k;
    key += '=';
    key += v;
  }
  return key;
}

constexpr char kTelemetryTag = 'T';
constexpr char kCopyTag = 'C';

}  // namespace

// Per-second statistics of every (rule, series) a reader thread saw.
class AlertTimeline::Shard final : public RecordSink {
 public:
  explicit Shard(const RuleSet& rules) : rules_(rules), caches_(rules.rules().size()) {
    for (const AlertRule& rule : rules.rules()) wanted_ |= MetricBit(rule.metric);
  }

  void OnRecord(const LogRecord& record) override {
    ++records_;
    MetricSamples samples;
    if (!record.ts_us) {
      ++records_no_ts_;
      return;
    }
    if (!ExtractMetricSamples(record, &samples, wanted_)) return;
    const int64_t second = WindowAggregator::SecondOf(samples.event_us);
    const auto& rules = rules_.rules();
    for (size_t i = 0; i < rules.size(); ++i) {
      const AlertRule& rule = rules[i];
      const double v = samples.Get(rule.metric);
      if (std::isnan(v)) continue;
      // Device state: keep telemetry and copies apart until Finish knows
      // whether the log has telemetry (metric_samples.h).
      const char tag = IsDeviceStateMetric(rule.metric)
                           ? (samples.from_telemetry ? kTelemetryTag : kCopyTag)
                           : '\0';
      // The series key is built only when the record's group fields match
      // none of the few series seen last (records of a couple of GPUs
      // interleave): a string and a map lookup per record and rule were a
      // quarter of `analyze`'s time.
      RuleCache& rc = caches_[i];
      SeriesCache* c = nullptr;
      for (SeriesCache& way : rc.ways) {
        if (way.seconds != nullptr && way.tag == tag && SameGroup(rule, record, way)) {
          c = &way;
          break;
        }
      }
      if (c == nullptr) {
        c = &rc.ways[rc.next++ % rc.ways.size()];
        std::string key =
            rule.group_by.empty() ? std::string() : AlertEngine::SeriesKeyOf(rule, record);
        if (tag != '\0') key.insert(key.begin(), tag);
        c->tag = tag;
        c->model.assign(record.model);
        c->device.assign(record.device);
        c->backend.assign(record.backend);
        c->gpu_id = record.gpu_id;
        c->seconds = &series_[{i, std::move(key)}];
        c->recent.fill({0, nullptr});
      }
      // Requests count at arrival + total_ms and batch records at their own
      // ts, so the second moves back and forth a little: a few recent
      // seconds are kept at hand (map nodes do not move).
      auto& slot = c->recent[static_cast<size_t>(second) & (SeriesCache::kRecent - 1)];
      if (slot.second == nullptr || slot.first != second) {
        slot = {second, &(*c->seconds)[second]};
      }
      slot.second->Add(samples.event_us, v, rule.aggregation == Aggregation::kQuantile);
    }
  }

  using SeriesId = std::pair<size_t, std::string>;
  std::map<SeriesId, std::map<int64_t, BucketStats>>& series() { return series_; }
  int64_t records() const { return records_; }
  int64_t records_no_ts() const { return records_no_ts_; }

 private:
  // One series of a rule: its group fields and its seconds.
  struct SeriesCache {
    char tag = 0;
    std::string model, device, backend;
    std::optional<int64_t> gpu_id;
    std::map<int64_t, BucketStats>* seconds = nullptr;
    static constexpr size_t kRecent = 8;  // a power of two
    std::array<std::pair<int64_t, BucketStats*>, kRecent> recent{};
  };
  struct RuleCache {
    std::array<SeriesCache, 8> ways;
    size_t next = 0;  // round-robin replacement
  };
  // True when `r` belongs to the series cached in `c` (same group fields).
  static bool SameGroup(const AlertRule& rule, const LogRecord& r, const SeriesCache& c) {
    for (GroupField f : rule.group_by) {
      switch (f) {
        case GroupField::kModel:
          if (r.model != c.model) return false;
          break;
        case GroupField::kDevice:
          if (r.device != c.device) return false;
          break;
        case GroupField::kGpuId:
          if (r.gpu_id != c.gpu_id) return false;
          break;
        case GroupField::kBackend:
          if (r.backend != c.backend) return false;
          break;
      }
    }
    return true;
  }

  const RuleSet& rules_;
  uint32_t wanted_ = 0;  // the rules' metrics: the only ones extracted
  std::vector<RuleCache> caches_;
  std::map<SeriesId, std::map<int64_t, BucketStats>> series_;
  int64_t records_ = 0;
  int64_t records_no_ts_ = 0;
};

StatusOr<std::unique_ptr<AlertTimeline>> AlertTimeline::Create(RuleSet rules,
                                                               const AlertTimelineConfig& config) {
  if (config.lateness_us < 0 || config.lateness_us > 600'000'000) {
    return InvalidArgumentError("alert timeline: lateness must be in 0..600 s");
  }
  AlertEngineConfig engine_config = config.engine;
  // Records up to `lateness` ahead of the boundary being evaluated are in
  // the windows already: keep room for them.
  engine_config.ring_slack_s = std::max<int>(
      engine_config.ring_slack_s, static_cast<int>((config.lateness_us + 999'999) / 1'000'000) + 1);
  YS_ASSIGN_OR_RETURN(auto engine, AlertEngine::Create(std::move(rules), engine_config));
  return std::unique_ptr<AlertTimeline>(new AlertTimeline(std::move(engine), config));
}

AlertTimeline::AlertTimeline(std::unique_ptr<AlertEngine> engine, const AlertTimelineConfig& config)
    : engine_(std::move(engine)), config_(config) {}

AlertTimeline::~AlertTimeline() = default;

RecordSink* AlertTimeline::NewShard() {
  shards_.push_back(std::make_unique<Shard>(engine_->rule_set()));
  return shards_.back().get();
}

void AlertTimeline::OnRecord(const LogRecord& record) {
  ++stats_.records;
  const std::optional<int64_t> event_us = EventTimeUs(record);
  if (!event_us) {
    ++stats_.records_no_ts;
    return;
  }
  if (!next_boundary_s_) next_boundary_s_ = WindowAggregator::SecondOf(*event_us) + 1;
  if (!max_event_us_ || *event_us > *max_event_us_) {
    max_event_us_ = *event_us;
    EvaluateThrough(WindowAggregator::SecondOf(*max_event_us_ - config_.lateness_us));
  }
  engine_->Observe(record);
}

void AlertTimeline::EvaluateThrough(int64_t last_boundary_s) {
  if (!next_boundary_s_) return;
  while (*next_boundary_s_ <= last_boundary_s) {
    const int64_t now_us = *next_boundary_s_ * 1'000'000;
    if (engine_->Quiescent(now_us)) {
      // Nothing can change until new samples arrive: skip the idle seconds.
      next_boundary_s_ = last_boundary_s + 1;
      break;
    }
    Collect(engine_->Evaluate(now_us));
    ++stats_.evaluations;
    if (!stats_.first_us) stats_.first_us = now_us;
    stats_.last_us = now_us;
    ++*next_boundary_s_;
  }
}

void AlertTimeline::Collect(const std::vector<AlertTransition>& transitions) {
  for (const AlertTransition& t : transitions) {
    if (t.state == AlertState::kFiring) {
      TimelineAlert a;
      a.rule = t.rule;
      a.severity = t.severity;
      for (const AlertRule& r : engine_->rule_set().rules()) {
        if (r.name == t.rule) a.expression = r.ExpressionText();
      }
      a.threshold = t.threshold;
      a.started_at_us = t.started_at_us;
      a.fired_at_us = t.fired_at_us.value_or(t.at_us);
      a.value = t.fired_value;
      a.peak = t.peak;
      a.labels = t.labels;
      a.annotations = t.annotations;
      open_[AlertKey(t.rule, t.labels)] = alerts_.size();
      alerts_.push_back(std::move(a));
    } else if (t.state == AlertState::kResolved) {
      auto it = open_.find(AlertKey(t.rule, t.labels));
      if (it == open_.end()) continue;
      TimelineAlert& a = alerts_[it->second];
      a.resolved_at_us = t.resolved_at_us;
      a.peak = t.peak;
      open_.erase(it);
    }
  }
}

void AlertTimeline::FinishShards() {
  using SeriesId = Shard::SeriesId;
  // Merge the shards into the first.
  auto& all = shards_[0]->series();
  stats_.records += shards_[0]->records();
  stats_.records_no_ts += shards_[0]->records_no_ts();
  for (size_t i = 1; i < shards_.size(); ++i) {
    stats_.records += shards_[i]->records();
    stats_.records_no_ts += shards_[i]->records_no_ts();
    for (auto& [id, seconds] : shards_[i]->series()) {
      auto& dst = all[id];
      for (auto& [second, stats] : seconds) dst[second].Merge(stats);
    }
    shards_[i]->series().clear();
  }
  // Device state from telemetry, when the log has any, wins over the copies.
  const auto& rules = engine_->rule_set().rules();
  bool telemetry = false;
  for (const auto& [id, per_second] : all) {
    if (IsDeviceStateMetric(rules[id.first].metric) && !id.second.empty() &&
        id.second[0] == kTelemetryTag && !per_second.empty()) {
      telemetry = true;
    }
  }
  std::map<SeriesId, std::map<int64_t, BucketStats>> replay;
  for (auto& [id, per_second] : all) {
    if (!IsDeviceStateMetric(rules[id.first].metric)) {
      replay[id] = std::move(per_second);
      continue;
    }
    const bool is_telemetry = !id.second.empty() && id.second[0] == kTelemetryTag;
    if (telemetry && !is_telemetry) continue;
    auto& dst = replay[{id.first, id.second.substr(1)}];
    for (auto& [second, stats] : per_second) dst[second].Merge(stats);
  }
  all.clear();
  // Replay the seconds in order.
  std::set<int64_t> seconds;
  struct Cursor {
    const SeriesId* id;
    std::map<int64_t, BucketStats>::const_iterator it, end;
  };
  std::vector<Cursor> cursors;
  for (const auto& [id, per_second] : replay) {
    if (per_second.empty()) continue;
    cursors.push_back({&id, per_second.begin(), per_second.end()});
    for (const auto& [second, stats] : per_second) seconds.insert(second);
  }
  for (int64_t second : seconds) {
    if (!next_boundary_s_) next_boundary_s_ = second + 1;
    EvaluateThrough(second);
    for (Cursor& c : cursors) {
      if (c.it != c.end && c.it->first == second) {
        engine_->AddBucket(c.id->first, c.id->second, second, c.it->second);
        ++c.it;
      }
    }
  }
  if (!seconds.empty()) EvaluateThrough(*seconds.rbegin() + 1);
}

std::vector<TimelineAlert> AlertTimeline::Finish() {
  if (!shards_.empty()) {
    FinishShards();
  } else if (max_event_us_) {
    EvaluateThrough(WindowAggregator::SecondOf(*max_event_us_) + 1);
  }
  for (const AlertTransition& t : engine_->ActiveAlerts()) {
    auto it = open_.find(AlertKey(t.rule, t.labels));
    if (it != open_.end()) alerts_[it->second].peak = t.peak;
  }
  stats_.late_samples = engine_->stats().late_samples;
  shards_.clear();
  return std::move(alerts_);
}

}  // namespace yoloscope
