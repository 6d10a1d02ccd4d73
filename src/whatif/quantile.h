// Quantiles of samples, shared by the what-if fit, profile and simulator.
// QuantileOfSorted: linear interpolation between order statistics (the
// "type 7" rule of R and numpy's default); `sorted` must be ascending.
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace yoloscope {

// q in [0, 1]; 0 for an empty vector.
inline double QuantileOfSorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

// The quantiles at which a latency distribution is kept (the what-if
// reports' distribution_ms): every percent from 1 to 99, then 99.5 and 99.9.
inline const std::vector<double>& DistributionQuantiles() {
  static const std::vector<double> kPoints = [] {
    std::vector<double> q;
    for (int i = 1; i <= 99; ++i) q.push_back(i / 100.0);
    q.push_back(0.995);
    q.push_back(0.999);
    return q;
  }();
  return kPoints;
}

// `sorted` at DistributionQuantiles(); empty for an empty vector.
inline std::vector<double> DistributionOfSorted(const std::vector<double>& sorted) {
  std::vector<double> out;
  if (sorted.empty()) return out;
  for (double q : DistributionQuantiles()) out.push_back(QuantileOfSorted(sorted, q));
  return out;
}

}  // namespace yoloscope
