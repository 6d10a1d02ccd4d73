// AlertTimeline: the offline side of alerting (`yoloscope analyze`): feeds a
// log's records through an AlertEngine and evaluates it at every second
// boundary of event time, as `serve` would have live, and lists when each
// alert fired and resolved.
//
// Two ways to feed it (use one per timeline):
//   - OnRecord (it is a RecordSink): records in time order, as one stream.
//     Bounded memory (the engine's windows). Evaluation of second B waits
//     until a record at B + lateness is seen, so records up to `lateness`
//     out of order land before their second is evaluated.
//   - NewShard(): one RecordSink per reader thread, in any order; each shard
//     keeps per-second statistics of the seconds it saw (memory grows with
//     the log's span: rules x seconds x ~100 bytes), and Finish() merges the
//     shards and replays the seconds in order. Same result as an ordered
//     stream, whatever the split.
// Finish() evaluates up to the end of the log; alerts still firing then have
// no resolved_at.
//
// Thread-safety: OnRecord and Finish from one thread. Each shard is used by
// one thread at a time; shards must not be used after Finish.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/alert_engine.h"
#include "reqlog/record_sink.h"

namespace yoloscope {

struct AlertTimelineConfig {
  AlertEngineConfig engine;
  // How far out of time order records may come in the OnRecord stream.
  int64_t lateness_us = 1'000'000;
};

// One alert that fired within the log.
struct TimelineAlert {
  std::string rule;
  std::string severity;
  std::string expression;  // "mean(inference_ms[1m]) > 100"
  double threshold = 0.0;
  int64_t started_at_us = 0;  // condition first held (pending since)
  int64_t fired_at_us = 0;
  std::optional<int64_t> resolved_at_us;  // empty: still firing at the end of the log
  double value = 0.0;                     // the value that fired it
  double peak = 0.0;                      // the most extreme value while pending or firing
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;  // rendered when it fired
};

struct AlertTimelineStats {
  int64_t records = 0;                       // records seen
  int64_t records_no_ts = 0;                 // without a timestamp (ignored)
  int64_t evaluations = 0;                   // second boundaries evaluated
  int64_t late_samples = 0;                  // samples too far out of order to count
  std::optional<int64_t> first_us, last_us;  // event-time span evaluated
};

class AlertTimeline : public RecordSink {
 public:
  static StatusOr<std::unique_ptr<AlertTimeline>> Create(RuleSet rules,
                                                         const AlertTimelineConfig& config = {});
  ~AlertTimeline() override;

  // Ordered stream input.
  void OnRecord(const LogRecord& record) override;

  // Parallel input: a sink for one reader thread. Owned by the timeline;
  // valid until Finish.
  RecordSink* NewShard();

  // Evaluates to the end of the log and returns the alerts in firing order.
  // Call once.
  std::vector<TimelineAlert> Finish();

  AlertTimelineStats stats() const { return stats_; }
  const RuleSet& rule_set() const { return engine_->rule_set(); }

 private:
  class Shard;
  AlertTimeline(std::unique_ptr<AlertEngine> engine, const AlertTimelineConfig& config);
  // Evaluates every second boundary up to and including `last_boundary_s`.
  void EvaluateThrough(int64_t last_boundary_s);
  void Collect(const std::vector<AlertTransition>& transitions);
  void FinishShards();

  std::unique_ptr<AlertEngine> engine_;
  AlertTimelineConfig config_;
  std::optional<int64_t> next_boundary_s_;  // next second boundary to evaluate
  std::optional<int64_t> max_event_us_;
  std::vector<TimelineAlert> alerts_;
  std::map<std::string, size_t> open_;  // rule + labels -> index in alerts_
  std::vector<std::unique_ptr<Shard>> shards_;
  AlertTimelineStats stats_;
};

}  // namespace yoloscope
