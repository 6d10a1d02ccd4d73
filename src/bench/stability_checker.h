// StabilityChecker: decides when a load level's measurement has settled,
// like perf_analyzer: the level is stable when each of the last `windows`
// windows is within `tolerance` of their mean, for throughput AND for p99
// latency. A metric whose mean is 0 over those windows (nothing succeeded)
// counts as agreeing. Fewer than `windows` windows are never stable.
//
// Thread-safety: immutable after construction; pure functions.
#pragma once

#include <vector>

#include "bench/measurement_window.h"
#include "common/status.h"

namespace yoloscope {

struct StabilityConfig {
  int windows = 3;          // windows that must agree, >= 2
  double tolerance = 0.10;  // relative deviation from their mean, > 0
};

struct StabilityVerdict {
  bool stable = false;
  // Largest relative deviation from the mean over the last windows (0.07 =
  // 7%); 0 when there are too few windows.
  double throughput_deviation = 0;
  double p99_deviation = 0;
};

class StabilityChecker {
 public:
  // InvalidArgument for windows < 2 or tolerance <= 0.
  static StatusOr<StabilityChecker> Create(const StabilityConfig& config);

  StabilityVerdict Check(const std::vector<WindowSummary>& series) const;
  // The same on plain numbers (throughput[i], p99_ms[i] of window i).
  StabilityVerdict Check(const std::vector<double>& throughput,
                         const std::vector<double>& p99_ms) const;

  const StabilityConfig& config() const { return config_; }

 private:
  explicit StabilityChecker(const StabilityConfig& config) : config_(config) {}
  StabilityConfig config_;
};

}  // namespace yoloscope
