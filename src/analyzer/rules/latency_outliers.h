// LatencyOutliersRule: the `latency_outliers` diagnosis rule -- a latency tail that no other
// finding explains. Thresholds, their reasoning and the false positives they guard against are in
// docs/diagnosis.md (latency_outliers); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct LatencyOutliersThresholds {
  int64_t outlier_min_requests = 200;
  double outlier_ratio = 5.0;
  double outlier_warn_ratio = 10.0;
  double outlier_min_extra_ms = 20;
};

class LatencyOutliersRule final : public Rule {
 public:
  explicit LatencyOutliersRule(LatencyOutliersThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  LatencyOutliersThresholds t_;
};

}  // namespace yoloscope
