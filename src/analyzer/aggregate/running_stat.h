// RunningStat: count, sum, min and max of a stream of doubles; mergeable.
// Non-finite values are ignored. A value type, header-only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace yoloscope {

struct RunningStat {
  int64_t n = 0;
  double sum = 0.0;
  double min = 0.0;
  double max = 0.0;

  void Add(double v) {
    if (!std::isfinite(v)) return;
    if (n == 0) {
      min = max = v;
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
    }
    ++n;
    sum += v;
  }
  void Merge(const RunningStat& o) {
    if (o.n == 0) return;
    if (n == 0) {
      *this = o;
      return;
    }
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    n += o.n;
    sum += o.sum;
  }
  bool empty() const { return n == 0; }
  double mean() const { return n ? sum / static_cast<double>(n) : 0.0; }
};

// Sums for a Pearson correlation / least-squares fit of y on x; mergeable.
struct PairMoments {
  int64_t n = 0;
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;

  void Add(double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    ++n;
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  void Merge(const PairMoments& o) {
    n += o.n;
    sx += o.sx;
    sy += o.sy;
    sxx += o.sxx;
    syy += o.syy;
    sxy += o.sxy;
  }
  // Pearson r, or 0 when undefined (fewer than 3 pairs or no variance).
  double Correlation() const {
    if (n < 3) return 0.0;
    const double dn = static_cast<double>(n);
    const double vx = sxx - sx * sx / dn;
    const double vy = syy - sy * sy / dn;
    if (vx <= 1e-12 || vy <= 1e-12) return 0.0;
    return (sxy - sx * sy / dn) / std::sqrt(vx * vy);
  }
};

}  // namespace yoloscope
