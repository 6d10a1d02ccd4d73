#include "bench/stability_checker.h"

#include <algorithm>
#include <cmath>

namespace yoloscope {
namespace {

// Largest |x - mean| / mean over the last n values (0 when the mean is 0).
double MaxDeviation(const std::vector<double>& values, size_t n) {
  double mean = 0;
  for (size_t i = values.size() - n; i < values.size(); ++i) mean += values[i];
  mean /= static_cast<double>(n);
  if (mean <= 0) return 0;
  double worst = 0;
  for (size_t i = values.size() - n; i < values.size(); ++i) {
    worst = std::max(worst, std::abs(values[i] - mean) / mean);
  }
  return worst;
}

}  // namespace

StatusOr<StabilityChecker> StabilityChecker::Create(const StabilityConfig& config) {
  if (config.windows < 2) return InvalidArgumentError("stability windows must be >= 2");
  if (!(config.tolerance > 0)) return InvalidArgumentError("stability tolerance must be > 0");
  return StabilityChecker(config);
}

StabilityVerdict StabilityChecker::Check(const std::vector<WindowSummary>& series) const {
  std::vector<double> throughput, p99;
  for (const WindowSummary& w : series) {
    throughput.push_back(w.throughput);
    p99.push_back(w.latency.p99_ms);
  }
  return Check(throughput, p99);
}

StabilityVerdict StabilityChecker::Check(const std::vector<double>& throughput,
                                         const std::vector<double>& p99_ms) const {
  StabilityVerdict v;
  const size_t n = static_cast<size_t>(config_.windows);
  if (throughput.size() < n || p99_ms.size() < n) return v;
  v.throughput_deviation = MaxDeviation(throughput, n);
  v.p99_deviation = MaxDeviation(p99_ms, n);
  v.stable = v.throughput_deviation <= config_.tolerance && v.p99_deviation <= config_.tolerance;
  return v;
}

}  // namespace yoloscope
