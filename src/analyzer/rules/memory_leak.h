// MemoryLeakRule: the `memory_leak` diagnosis rule -- memory growing steadily at constant load.
// Thresholds, their reasoning and the false positives they guard against are
// in docs/diagnosis.md (memory_leak); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct MemoryLeakThresholds {
  size_t leak_min_points = 5;
  double leak_min_r2 = 0.8;
  double leak_min_monotone = 0.8;
  double leak_min_growth_mb = 100;
  double leak_min_growth_of_total = 0.05;
  double leak_flat_load_ratio = 1.5;
};

class MemoryLeakRule final : public Rule {
 public:
  explicit MemoryLeakRule(MemoryLeakThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  MemoryLeakThresholds t_;
};

}  // namespace yoloscope
