// BatchLatencyFit: the device time of one batch as a function of its size,
// fitted from a request log: per observed batch size the empirical samples
// (median and spread), and estimates for sizes never observed.
//
// Estimates (docs/what-if.md, "The batch-latency curve"):
//   - an observed size draws from its own samples (bootstrap), so its median
//     and spread are the log's;
//   - a size between two observed sizes: median linearly interpolated;
//   - above the largest observed size: the largest size's median continued
//     with the slope of a least-squares line through the upper half of the
//     observed medians (at least the two largest), slope >= 0;
//   - below the smallest: the same with the lower half, never below a
//     constant per-image cost (median(min) * b / min);
//   - an unobserved size draws median(b) x a relative residual sampled from
//     all observed batches (sample / median of its size).
// With a single observed size nothing but that size can be estimated
// (CanEstimate): predictions needing another size fail with "cannot
// predict".
//
// Units: microseconds. Thread-safety: immutable after Create; Sample takes
// the caller's generator.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct ObservedBatchSize {
  int batch_size = 0;
  int64_t batches = 0;
  double median_us = 0, p10_us = 0, p90_us = 0, p99_us = 0;
};

class BatchLatencyFit {
 public:
  // Fewest batches a fit accepts: fewer is "cannot predict".
  static constexpr int64_t kMinBatches = 5;

  // `samples_us[b]`: device times of batches of size b (non-positive and
  // non-finite values and sizes < 1 are dropped). FailedPrecondition
  // "cannot predict: needs ..." when fewer than kMinBatches remain.
  static StatusOr<BatchLatencyFit> Create(const std::map<int, std::vector<double>>& samples_us);

  const std::vector<ObservedBatchSize>& observed() const { return observed_; }
  int smallest_observed() const { return observed_.front().batch_size; }
  int largest_observed() const { return observed_.back().batch_size; }
  bool IsObserved(int batch_size) const { return samples_.count(batch_size) > 0; }
  // Observed, or at least two sizes observed (an estimate exists).
  bool CanEstimate(int batch_size) const;
  // The median device time at `batch_size` (observed or estimated); requires
  // CanEstimate.
  double MedianUs(int batch_size) const;
  // One random device time for a batch of `batch_size`; requires CanEstimate.
  double SampleUs(int batch_size, std::mt19937_64& rng) const;
  // Per-image slope used above the largest observed size (us per image).
  double upper_slope_us() const { return upper_slope_us_; }
  double lower_slope_us() const { return lower_slope_us_; }

  // The instance's host work per batch beyond the device time (batch
  // records' busy_ms minus h2d + inference + d2h): batch assembly before,
  // bookkeeping and the hand-off after. `overhead_us[b]`: samples for
  // batches of size b (negative and non-finite values dropped). Modelled as
  // base + slope * b (a line through the per-size medians, weighted by
  // their batch counts, both >= 0) plus a residual drawn from every batch.
  void SetOverheadUs(const std::map<int, std::vector<double>>& overhead_us);
  bool has_overhead() const { return !overhead_residuals_us_.empty(); }
  // One draw for a batch of `batch_size` (>= 0); 0 without samples.
  double SampleOverheadUs(int batch_size, std::mt19937_64& rng) const;
  double overhead_base_us() const { return overhead_base_us_; }
  double overhead_slope_us() const { return overhead_slope_us_; }
  // Median over all samples; 0 without samples.
  double median_overhead_us() const { return median_overhead_us_; }

 private:
  BatchLatencyFit() = default;

  std::map<int, std::vector<double>> samples_;  // observed sizes only, sorted ascending.
  std::vector<ObservedBatchSize> observed_;     // ascending batch size.
  std::vector<double> residuals_;               // sample / median of its size.
  double upper_slope_us_ = 0, lower_slope_us_ = 0;
  std::vector<double> overhead_residuals_us_;  // sample - line(its size)
  double overhead_base_us_ = 0, overhead_slope_us_ = 0, median_overhead_us_ = 0;
};

}  // namespace yoloscope
