// BatchWindowTooLongRule: the `batch_window_too_long` diagnosis rule -- a fixed batching wait that
// dominates latency at low load. Thresholds, their reasoning and the false positives they guard
// against are in docs/diagnosis.md (batch_window_too_long); the defaults below are the documented
// ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct BatchWindowTooLongThresholds {
  double window_low_load_fraction = 0.2;
  double window_min_ms = 2.0;
  double window_warn_ms = 5.0;
  double window_share = 0.3;
  double window_spread = 0.6;  // p25 >= this * p75: a fixed wait.
  int64_t stage_min_samples = 3;
};

class BatchWindowTooLongRule final : public Rule {
 public:
  explicit BatchWindowTooLongRule(BatchWindowTooLongThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  BatchWindowTooLongThresholds t_;
};

}  // namespace yoloscope
