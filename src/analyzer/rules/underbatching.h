// UnderbatchingRule: the `underbatching` diagnosis rule -- batches of one while requests wait.
// Thresholds, their reasoning and the false positives they guard against are
// in docs/diagnosis.md (underbatching); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct UnderbatchingThresholds {
  double mem_safe_ratio = 0.85;  // batch cap: largest batch that stayed below this.
  double underbatched_fraction = 0.2;
  double underbatched_mean_batch = 1.5;
  double underbatched_utilization = 0.7;
};

class UnderbatchingRule final : public Rule {
 public:
  explicit UnderbatchingRule(UnderbatchingThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  UnderbatchingThresholds t_;
};

}  // namespace yoloscope
