#include "batching/batch_latency_curve.h"

#include <algorithm>

namespace yoloscope {

BatchLatencyCurve::BatchLatencyCurve(int max_batch_size, double alpha,
                                     const std::vector<double>& seed_us)
    : max_batch_size_(std::max(1, max_batch_size)),
      alpha_(alpha),
      ewma_us_(max_batch_size_ + 1, 0.0),
      estimate_us_(max_batch_size_ + 1, 0.0) {
  const int n = std::min<int>(static_cast<int>(seed_us.size()), max_batch_size_);
  for (int i = 0; i < n; ++i) {
    if (seed_us[i] > 0) ewma_us_[i + 1] = seed_us[i];
  }
  Rebuild();
}

void BatchLatencyCurve::Record(int batch_size, double latency_us) {
  if (batch_size < 1 || batch_size > max_batch_size_ || !(latency_us > 0)) return;
  double& ewma = ewma_us_[batch_size];
  // The first sample of a size replaces "unknown" outright; averaging it with
  // 0 would report a batch as much faster than it is.
  ewma = ewma == 0 ? latency_us : alpha_ * latency_us + (1 - alpha_) * ewma;
  Rebuild();
}

double BatchLatencyCurve::LatencyUs(int batch_size) const {
  return estimate_us_[std::clamp(batch_size, 1, max_batch_size_)];
}

bool BatchLatencyCurve::IsKnown(int batch_size) const {
  return batch_size >= 1 && batch_size <= max_batch_size_ && ewma_us_[batch_size] > 0;
}

void BatchLatencyCurve::Rebuild() {
  // O(max_batch_size) per recorded batch: negligible next to running the
  // batch, and it keeps the per-request decision path free of searches.
  num_known_ = 0;
  int first = 0, last = 0;
  for (int b = 1; b <= max_batch_size_; ++b) {
    if (ewma_us_[b] > 0) {
      if (first == 0) first = b;
      last = b;
      ++num_known_;
    }
  }
  if (num_known_ == 0) {
    std::fill(estimate_us_.begin(), estimate_us_.end(), 0.0);
    return;
  }
  // Outside the measured range assume a constant per-image cost: optimistic
  // for small batches and pessimistic for large ones, so an unmeasured size
  // never argues for waiting.
  const double per_image_low = ewma_us_[first] / first;
  for (int b = 1; b < first; ++b) estimate_us_[b] = per_image_low * b;
  const double per_image_high = ewma_us_[last] / last;
  for (int b = last; b <= max_batch_size_; ++b) estimate_us_[b] = per_image_high * b;
  // Between measured sizes interpolate linearly.
  int prev = first;
  estimate_us_[first] = ewma_us_[first];
  for (int b = first + 1; b <= last; ++b) {
    if (ewma_us_[b] == 0) continue;
    const double lo = ewma_us_[prev], hi = ewma_us_[b];
    for (int m = prev + 1; m < b; ++m) {
      estimate_us_[m] = lo + (hi - lo) * (m - prev) / static_cast<double>(b - prev);
    }
    estimate_us_[b] = hi;
    prev = b;
  }
}

}  // namespace yoloscope
