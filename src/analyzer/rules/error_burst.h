// ErrorBurstRule: the `error_burst` diagnosis rule -- failed requests: overall rate and bursts.
// Thresholds, their reasoning and the false positives they guard against are
// in docs/diagnosis.md (error_burst); the defaults below are the documented ones.
//
// Thread-safety: Run() is const; it writes only to the context it is given.
#pragma once

#include "analyzer/rules/rule.h"

namespace yoloscope {

struct ErrorBurstThresholds {
  int64_t burst_window_min_requests = 5;
  double burst_min_rate = 0.05;
  double burst_over_median = 3.0;
  int64_t burst_min_errors = 3;
  int burst_fine_windows = 600;  // burst detection windows: span / 600.
  double error_rate_warn = 0.05;
  double error_rate_info = 0.01;
  double error_rate_critical = 0.10;
  double burst_critical_rate = 0.20;
};

class ErrorBurstRule final : public Rule {
 public:
  explicit ErrorBurstRule(ErrorBurstThresholds thresholds = {}) : t_(thresholds) {}
  void Run(AnalysisContext& ctx) const override;

 private:
  ErrorBurstThresholds t_;
};

}  // namespace yoloscope
