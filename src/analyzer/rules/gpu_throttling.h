// GpuThrottlingRule: the `gpu_throttling` diagnosis rule -- SM clock drops (or throttle reasons)
// that slow equal work. Thresholds, their reasoning and the false positives they guard against are
// in docs/diagnosis.md (gpu_throttling); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct GpuThrottlingThresholds {
  double throttle_clock_drop = 0.85;
  double throttle_inflation = 1.2;
};

class GpuThrottlingRule final : public Rule {
 public:
  explicit GpuThrottlingRule(GpuThrottlingThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  GpuThrottlingThresholds t_;
};

}  // namespace yoloscope
