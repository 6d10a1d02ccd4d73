// DetectionRule: an alert on what a video stream's frames show, e.g. "class
// dog in 3 consecutive frames of stream door" (`alerts.detection_rules` of
// serve's config; docs/alerts.md, "Detection rules"). Evaluated per frame by
// DetectionAlerter; fires and resolves through the same notifiers as the
// metric rules.
//
//   alerts:
//     detection_rules:
//       - name: DogAtDoor            # [A-Za-z_][A-Za-z0-9_]*, unique; the alertname
//         class: dog                 # a class name of the model, or its id
//         min_confidence: 0.25       # detections below do not count
//         consecutive_frames: 3      # fires at the N-th frame in a row with the class
//         resolve_frames: 0          # resolves after M frames in a row without it; 0 = N
//         streams: [door]            # [] = every stream
//         severity: warning
//         labels: {team: security}
//         annotations:
//           summary: "{{ $labels.class }} at {{ $labels.stream }}"
//
// Plain value types and pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct DetectionRuleConfig {
  std::string name;
  std::string class_name;            // a class name of the model, or a class id ("16")
  double min_confidence = 0.25;      // 0..1
  int consecutive_frames = 3;        // 1..1000000
  int resolve_frames = 0;            // 0..1000000; 0 = consecutive_frames
  std::vector<std::string> streams;  // stream names; empty = all
  std::string severity = "warning";
  std::map<std::string, std::string> labels;
  // Templates (alert_template.h): $value is the frames in a row with the
  // class, $threshold consecutive_frames, $labels.stream / $labels.class.
  // Without a summary: "{{ $labels.class }} in {{ $threshold }} consecutive
  // frames of stream {{ $labels.stream }}".
  std::map<std::string, std::string> annotations;
};

// Every rule's names, ranges and templates, names unique. InvalidArgument
// "alerts.detection_rules[I] (NAME).KEY: why".
Status ValidateDetectionRules(const std::vector<DetectionRuleConfig>& rules);

// The rule's field name in messages: "alerts.detection_rules[1] (DogAtDoor)".
std::string DetectionRuleKey(const std::vector<DetectionRuleConfig>& rules, size_t index);

}  // namespace yoloscope
