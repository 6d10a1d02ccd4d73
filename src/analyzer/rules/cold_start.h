// ColdStartRule: the `cold_start` diagnosis rule -- first requests (or a restart episode) much
// slower than steady state. Thresholds, their reasoning and the false positives they guard against
// are in docs/diagnosis.md (cold_start); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct ColdStartThresholds {
  double mem_high_ratio = 0.90;
  double contention_other_min_mb = 256;
  double throttle_clock_drop = 0.85;
  int64_t cold_min_key_samples = 10;
  double cold_ratio = 3.0;
  double cold_min_extra_ms = 10;
  double cold_warn_ratio = 5.0;
  double cold_warn_extra_ms = 100;
  double cold_episode_ratio = 3.0;  // same as kColdRatio
  double cold_settled = 1.5;        // inflation back below this: warmed up.
  size_t cold_max_windows = 30;
  // Windows of a mid-log episode before it settles (the onset included).
  size_t cold_min_mid_log_windows = 2;
};

class ColdStartRule final : public Rule {
 public:
  explicit ColdStartRule(ColdStartThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  ColdStartThresholds t_;
};

}  // namespace yoloscope
