// QueueSaturationRule: the `queue_saturation` diagnosis rule -- queue wait dominating latency,
// rejections, bursts. Thresholds, their reasoning and the false positives they guard against are in
// docs/diagnosis.md (queue_saturation); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct QueueSaturationThresholds {
  double mem_safe_ratio = 0.85;  // batch cap: largest batch that stayed below this.
  double queue_dominant_fraction = 0.25;
  double queue_loaded_fraction = 0.5;
  double queue_critical_share = 0.6;
  double rejection_rate = 0.01;
  int64_t burst_window_min_requests = 5;
  double queue_burst_factor = 2.0;
  double queue_burst_share = 0.35;
  double queue_slowdown_inflation = 1.3;
  double flat_load = 1.3;
};

class QueueSaturationRule final : public Rule {
 public:
  explicit QueueSaturationRule(QueueSaturationThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  QueueSaturationThresholds t_;
};

}  // namespace yoloscope
