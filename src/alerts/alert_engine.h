// AlertEngine: the one evaluation engine behind live alerting in `serve`
// (LiveAlerter) and the offline alert timeline in `analyze` (AlertTimeline).
//
// Streaming and time-driven:
//   - Observe(record) turns a LogRecord into metric samples and adds them to
//     the sliding window of every rule on that metric (one series per rule,
//     or per distinct group_by value combination);
//   - Evaluate(now) aggregates each window at `now` and advances each
//     series' state machine, returning what changed:
//
//        inactive --cond--> pending --cond held `for`--> firing
//           ^                  |                           |
//           +------!cond-------+      value no longer passes resolve_threshold
//           +------------- resolved <----- for `resolve_for` ---------+
//
//     cond is `value <comparator> threshold` (false when there is no
//     value); `for: 0` fires at once. Hysteresis: a firing alert stays
//     firing while `value <comparator> resolve_threshold` holds, so a value
//     hovering around the threshold does not flap.
//
// Time: every timestamp is event time in microseconds (Unix time of the
// records); `now` is whatever the caller evaluates at: the Clock's wall time
// live, second boundaries of the log offline. Windows are whole seconds
// (WindowAggregator). Samples arriving late still count in later
// evaluations while their second is inside the window ring.
//
// Memory: per series one ring of window_s buckets; at most
// max_series_per_rule series per rule (samples for more are dropped and
// counted); an idle inactive grouped series is forgotten.
//
// Thread-safety: all methods are thread-safe (one internal mutex, held for
// O(rules) per Observe and O(series x window) per Evaluate; no I/O under it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/rule_set.h"
#include "alerts/window_aggregator.h"
#include "reqlog/log_record.h"
#include "common/status.h"

namespace yoloscope {

enum class AlertState {
  kInactive,  // in a transition: a pending alert whose condition ended before `for`
  kPending,
  kFiring,
  kResolved,  // in a transition only: firing -> inactive
};
std::string_view AlertStateName(AlertState state);  // "inactive", "pending", "firing", "resolved"

// One alert (a rule, or one group of a grouped rule) at a point in time: a
// transition returned by Evaluate, or an entry of ActiveAlerts. A
// self-contained copy: safe to hand to other threads.
struct AlertTransition {
  AlertState state = AlertState::kInactive;  // the new state (or the current one)
  std::string rule;                          // rule name (the alertname label)
  std::string severity;
  std::string metric;       // "inference_ms"
  std::string aggregation;  // "mean", "p99", ...
  int64_t window_s = 0;
  std::string comparator;  // ">", ">=", "<", "<="
  double threshold = 0.0;
  double value = 0.0;                     // the value at this evaluation (NaN: no samples)
  double fired_value = 0.0;               // the value that fired it (NaN until fired)
  double peak = 0.0;                      // most extreme value since it became pending
  int64_t at_us = 0;                      // evaluation time of this transition / snapshot
  int64_t started_at_us = 0;              // when the condition first held
  std::optional<int64_t> fired_at_us;     // when it fired
  std::optional<int64_t> resolved_at_us;  // when it resolved
  // alertname, severity, the engine's external labels, group_by values and
  // the rule's labels.
  std::map<std::string, std::string> labels;
  // The rule's annotations rendered with this transition's value.
  std::map<std::string, std::string> annotations;
};

struct AlertEngineConfig {
  // Added to every alert (e.g. instance, job); group and rule labels win.
  std::map<std::string, std::string> external_labels;
  // Distinct group_by combinations tracked per rule; samples for more are
  // dropped (AlertEngineStats::series_overflow).
  int max_series_per_rule = 64;
  // Seconds of samples kept beyond each window, for records that arrive
  // ahead of the boundary being evaluated (the live evaluation delay, the
  // offline lateness). Records further ahead push out the window's oldest
  // seconds.
  int ring_slack_s = 3;
};

struct AlertEngineStats {
  int64_t records = 0;          // records that carried at least one metric
  int64_t samples = 0;          // samples added to windows
  int64_t late_samples = 0;     // dropped: older than their window ring
  int64_t series_overflow = 0;  // dropped: max_series_per_rule reached
  int64_t evaluations = 0;
  int64_t transitions = 0;
};

class AlertEngine {
 public:
  // InvalidArgument for a bad config (max_series_per_rule < 1, ring_slack_s
  // outside 0..3600).
  static StatusOr<std::unique_ptr<AlertEngine>> Create(RuleSet rules,
                                                       const AlertEngineConfig& config = {});
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  // Adds the record's samples. Never blocks on I/O.
  void Observe(const LogRecord& record);
  // Evaluates every series at now_us; the transitions in rule order, then
  // series (label) order.
  std::vector<AlertTransition> Evaluate(int64_t now_us);

  // Pending and firing alerts as of the last Evaluate.
  std::vector<AlertTransition> ActiveAlerts() const;
  // True when no evaluation before new samples arrive can change anything:
  // every series is inactive and empty at now_us, and no rule's condition
  // holds on an empty window (e.g. `count < 1`).
  bool Quiescent(int64_t now_us) const;

  AlertEngineStats stats() const;
  const RuleSet& rule_set() const { return rules_; }

  // Offline replay (AlertTimeline): the series key and labels a record
  // belongs to for rule `rule_index`, and adding a whole second of samples.
  static std::string SeriesKeyOf(const AlertRule& rule, const LogRecord& record);
  void AddBucket(size_t rule_index, const std::string& series_key, int64_t second,
                 const BucketStats& stats);

 private:
  struct Series {
    Series(int64_t window_s, bool keep_quantiles, int64_t slack_s)
        : window(window_s, keep_quantiles, slack_s) {}
    std::map<std::string, std::string> labels;
    WindowAggregator window;
    AlertState state = AlertState::kInactive;
    int64_t active_since_us = 0;
    int64_t fired_at_us = 0;
    std::optional<int64_t> clear_since_us;
    double fired_value = 0.0;
    double peak = 0.0;
    double last_value = 0.0;
  };
  struct RuleState {
    const AlertRule* rule = nullptr;
    bool keep_quantiles = false;
    std::map<std::string, std::unique_ptr<Series>> series;  // by series key
  };

  AlertEngine(RuleSet rules, const AlertEngineConfig& config);
  // Finds or creates the series; null when over the limit. Requires mu_.
  Series* SeriesFor(RuleState& rs, const std::string& key);
  AlertTransition MakeTransition(const RuleState& rs, const Series& s, AlertState state,
                                 double value, int64_t now_us) const;

  const RuleSet rules_;
  const AlertEngineConfig config_;

  mutable std::mutex mu_;
  std::vector<RuleState> states_;  // Guarded by mu_. One per rule, in rule order.
  AlertEngineStats stats_;         // Guarded by mu_.
  int64_t last_eval_us_ = 0;       // Guarded by mu_.
  // A gpu record with device state was seen: device-state samples of other
  // records are ignored from now on (metric_samples.h). Guarded by mu_.
  bool telemetry_seen_ = false;
};

}  // namespace yoloscope
