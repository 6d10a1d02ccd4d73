// GpuMemoryPressureRule: the `gpu_memory_pressure` diagnosis rule -- GPU memory near full, and
// whether it slows equal work. Thresholds, their reasoning and the false positives they guard
// against are in docs/diagnosis.md (gpu_memory_pressure); the defaults below are the documented
// ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct GpuMemoryPressureThresholds {
  double mem_high_ratio = 0.90;
  double mem_critical_ratio = 0.97;
  double mem_pressure_inflation = 1.3;
  double mem_pressure_critical_inflation = 2.0;
  double mem_safe_ratio = 0.85;  // batch cap: largest batch that stayed below this.
};

class GpuMemoryPressureRule final : public Rule {
 public:
  explicit GpuMemoryPressureRule(GpuMemoryPressureThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  GpuMemoryPressureThresholds t_;
};

}  // namespace yoloscope
