#include "whatif/batch_latency_fit.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "whatif/quantile.h"

namespace yoloscope {
namespace {

// Least-squares slope of (x, y), >= 0; 0 when the x are all equal.
double NonNegativeSlope(const std::vector<ObservedBatchSize>& points) {
  double mx = 0, my = 0;
  for (const auto& p : points) {
    mx += p.batch_size;
    my += p.median_us;
  }
  mx /= static_cast<double>(points.size());
  my /= static_cast<double>(points.size());
  double sxy = 0, sxx = 0;
  for (const auto& p : points) {
    sxy += (p.batch_size - mx) * (p.median_us - my);
    sxx += (p.batch_size - mx) * (p.batch_size - mx);
  }
  return sxx > 0 ? std::max(0.0, sxy / sxx) : 0.0;
}

}  // namespace

StatusOr<BatchLatencyFit> BatchLatencyFit::Create(
    const std::map<int, std::vector<double>>& samples_us) {
  BatchLatencyFit fit;
  int64_t total = 0;
  for (const auto& [size, samples] : samples_us) {
    if (size < 1) continue;
    std::vector<double> kept;
    for (double us : samples) {
      if (std::isfinite(us) && us > 0) kept.push_back(us);
    }
    if (kept.empty()) continue;
    std::sort(kept.begin(), kept.end());
    total += static_cast<int64_t>(kept.size());
    fit.samples_[size] = std::move(kept);
  }
  if (total < kMinBatches) {
    return FailedPreconditionError(fmt::format(
        "cannot predict: needs per-batch device times (batch records with inference_ms, or "
        "request records with batch_size and inference_ms) for at least {} batches; the log has {}",
        kMinBatches, total));
  }
  for (const auto& [size, s] : fit.samples_) {
    ObservedBatchSize o;
    o.batch_size = size;
    o.batches = static_cast<int64_t>(s.size());
    o.median_us = QuantileOfSorted(s, 0.5);
    o.p10_us = QuantileOfSorted(s, 0.1);
    o.p90_us = QuantileOfSorted(s, 0.9);
    o.p99_us = QuantileOfSorted(s, 0.99);
    fit.observed_.push_back(o);
    for (double us : s) fit.residuals_.push_back(us / o.median_us);
  }
  const size_t n = fit.observed_.size();
  if (n >= 2) {
    const size_t half = std::max<size_t>(2, (n + 1) / 2);
    fit.upper_slope_us_ = NonNegativeSlope(
        std::vector<ObservedBatchSize>(fit.observed_.end() - static_cast<long>(half), fit.observed_.end()));
    fit.lower_slope_us_ = NonNegativeSlope(
        std::vector<ObservedBatchSize>(fit.observed_.begin(), fit.observed_.begin() + static_cast<long>(half)));
  }
  return fit;
}

bool BatchLatencyFit::CanEstimate(int batch_size) const {
  return batch_size >= 1 && (IsObserved(batch_size) || observed_.size() >= 2);
}

double BatchLatencyFit::MedianUs(int batch_size) const {
  const ObservedBatchSize& lo = observed_.front();
  const ObservedBatchSize& hi = observed_.back();
  if (batch_size >= hi.batch_size) {
    return hi.median_us + upper_slope_us_ * (batch_size - hi.batch_size);
  }
  if (batch_size <= lo.batch_size) {
    const double line = lo.median_us - lower_slope_us_ * (lo.batch_size - batch_size);
    const double per_image = lo.median_us * batch_size / lo.batch_size;
    return std::max(line, per_image);
  }
  // Between two observed sizes: the first observed size above it.
  auto above = std::lower_bound(observed_.begin(), observed_.end(), batch_size,
                                [](const ObservedBatchSize& o, int b) { return o.batch_size < b; });
  if (above->batch_size == batch_size) return above->median_us;
  auto below = above - 1;
  const double t = static_cast<double>(batch_size - below->batch_size) /
                   static_cast<double>(above->batch_size - below->batch_size);
  return below->median_us + (above->median_us - below->median_us) * t;
}

void BatchLatencyFit::SetOverheadUs(const std::map<int, std::vector<double>>& overhead_us) {
  overhead_residuals_us_.clear();
  overhead_base_us_ = overhead_slope_us_ = median_overhead_us_ = 0;
  // Per size: the median, weighted by how many batches had that size.
  std::vector<std::pair<int, std::vector<double>>> sizes;
  std::vector<double> all;
  for (const auto& [size, samples] : overhead_us) {
    if (size < 1) continue;
    std::vector<double> kept;
    for (double us : samples) {
      if (std::isfinite(us) && us >= 0) kept.push_back(us);
    }
    if (kept.empty()) continue;
    std::sort(kept.begin(), kept.end());
    all.insert(all.end(), kept.begin(), kept.end());
    sizes.emplace_back(size, std::move(kept));
  }
  if (all.empty()) return;
  std::sort(all.begin(), all.end());
  median_overhead_us_ = QuantileOfSorted(all, 0.5);
  // base + slope * b through the per-size medians (weighted least squares,
  // both >= 0): batch assembly grows with the batch, bookkeeping does not.
  double w = 0, mx = 0, my = 0;
  for (const auto& [size, v] : sizes) {
    const double n = static_cast<double>(v.size());
    w += n;
    mx += n * size;
    my += n * QuantileOfSorted(v, 0.5);
  }
  mx /= w;
  my /= w;
  double sxy = 0, sxx = 0;
  for (const auto& [size, v] : sizes) {
    const double n = static_cast<double>(v.size());
    sxy += n * (size - mx) * (QuantileOfSorted(v, 0.5) - my);
    sxx += n * (size - mx) * (size - mx);
  }
  overhead_slope_us_ = sxx > 0 ? std::max(0.0, sxy / sxx) : 0;
  overhead_base_us_ = std::max(0.0, my - overhead_slope_us_ * mx);
  // Stalls (a page fault, a descheduled thread) are rare and not tied to a
  // batch size: pooled, each size sees them at the log's overall rate
  // rather than at the rate of the few batches of that size.
  for (const auto& [size, v] : sizes) {
    const double line = overhead_base_us_ + overhead_slope_us_ * size;
    for (double us : v) overhead_residuals_us_.push_back(us - line);
  }
}

double BatchLatencyFit::SampleOverheadUs(int batch_size, std::mt19937_64& rng) const {
  if (overhead_residuals_us_.empty()) return 0;
  std::uniform_int_distribution<size_t> pick(0, overhead_residuals_us_.size() - 1);
  const double line = overhead_base_us_ + overhead_slope_us_ * batch_size;
  return std::max(0.0, line + overhead_residuals_us_[pick(rng)]);
}

double BatchLatencyFit::SampleUs(int batch_size, std::mt19937_64& rng) const {
  auto it = samples_.find(batch_size);
  if (it != samples_.end()) {
    std::uniform_int_distribution<size_t> pick(0, it->second.size() - 1);
    return it->second[pick(rng)];
  }
  std::uniform_int_distribution<size_t> pick(0, residuals_.size() - 1);
  return MedianUs(batch_size) * residuals_[pick(rng)];
}

}  // namespace yoloscope
