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

}  // namespace yoloscope
