// GpuContentionRule: the `gpu_contention` diagnosis rule -- another process on the GPU slowing
// equal work. Thresholds, their reasoning and the false positives they guard against are in
// docs/diagnosis.md (gpu_contention); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct GpuContentionThresholds {
  double mem_high_ratio = 0.90;
  double contention_inflation = 1.5;
  double contention_critical_inflation = 3.0;
  double contention_other_min_mb = 256;
  double contention_other_share = 0.05;
  double contention_util = 90;
  double flat_load = 1.3;
  double throttle_clock_drop = 0.85;
};

class GpuContentionRule final : public Rule {
 public:
  explicit GpuContentionRule(GpuContentionThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  GpuContentionThresholds t_;
};

}  // namespace yoloscope
