// DetectionAlerter: evaluates detection rules (detection_rule.h) on the
// frames of video streams, in frame order, and returns the alert
// transitions they cause, shaped like the metric rules' (AlertTransition),
// so the same notifiers deliver them (LiveAlerter::Submit).
//
// Per rule and stream (one alert series each):
//
//   inactive --class in N frames in a row--> firing
//      ^                                        |
//      +--- M frames in a row without it -------+   (or the stream ended)
//
// A frame "has the class" when one of its detections is of the rule's class
// with a score >= min_confidence. A failed frame (no result) changes
// nothing. There is no pending notification: only firing and resolved
// transitions are returned.
//
// A transition: rule, severity, metric = the class name, aggregation
// "consecutive_frames", window_s 0, comparator ">=", threshold N, value =
// frames in a row with the class (0 when resolved), peak = the longest run
// while firing; started_at = the first frame of the run, fired_at = the N-th
// frame, resolved_at = the M-th frame without it (times are the frames'
// capture times). Labels: alertname, severity, the external labels, `stream`,
// `class`, then the rule's labels. Annotations rendered from the rule's
// templates.
//
// Thread-safety: Observe, EndStream and stats from any thread (one mutex,
// O(rules x detections) per frame, no I/O). Callers give one stream's
// frames in order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alerts/alert_engine.h"
#include "alerts/alert_template.h"
#include "alerts/detection_rule.h"
#include "common/status.h"

namespace yoloscope {

// One detection of a frame, as far as the rules care.
struct DetectedObject {
  int class_id = 0;
  double score = 0;
};

class DetectionAlerter {
 public:
  // Validates the rules and resolves each class against the model's
  // `class_names` (a name, or an id below their count). InvalidArgument
  // "alerts.detection_rules[I] (NAME).class: ..." otherwise.
  static StatusOr<std::unique_ptr<DetectionAlerter>> Create(
      std::vector<DetectionRuleConfig> rules, const std::vector<std::string>& class_names,
      std::map<std::string, std::string> external_labels = {});

  // Whether any rule watches `stream`.
  bool Watches(const std::string& stream) const;
  // One processed frame of `stream` captured at `at_us` (Unix us); `ok`
  // false for a frame whose inference failed. Firing / resolved transitions.
  std::vector<AlertTransition> Observe(const std::string& stream, int64_t at_us, bool ok,
                                       const std::vector<DetectedObject>& objects);
  // The stream ended: its firing alerts resolve.
  std::vector<AlertTransition> EndStream(const std::string& stream, int64_t at_us);

  size_t rule_count() const { return rules_.size(); }

 private:
  struct Rule {
    DetectionRuleConfig config;
    int class_id = 0;
    std::string class_label;
    int resolve_frames = 0;
    std::map<std::string, AlertTemplate> annotations;
  };
  struct Series {
    int64_t run = 0;         // frames in a row with the class
    int64_t absent_run = 0;  // frames in a row without it (while firing)
    bool firing = false;
    int64_t started_at_us = 0;
    int64_t fired_at_us = 0;
    double fired_value = 0;
    double peak = 0;
  };

  DetectionAlerter(std::vector<Rule> rules, std::map<std::string, std::string> external_labels);
  bool Applies(const Rule& rule, const std::string& stream) const;
  AlertTransition Make(const Rule& rule, const std::string& stream, const Series& s,
                       AlertState state, double value, int64_t at_us) const;

  const std::vector<Rule> rules_;
  const std::map<std::string, std::string> external_labels_;
  std::mutex mu_;
  // Guarded by mu_. Per rule, by stream.
  std::vector<std::map<std::string, Series>> series_;
};

}  // namespace yoloscope
