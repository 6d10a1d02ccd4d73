// BatchLatencyCurve: the live estimate of a model instance's execution
// latency as a function of batch size, used by the adaptive batching policy.
//
// Each batch size 1..max_batch_size keeps an EWMA of the latencies reported
// for it; sizes never measured are estimated from the measured ones (linear
// interpolation between measured sizes; below the smallest measured size and
// above the largest, a constant per-image cost, i.e. no batching gain is
// assumed where nothing is known, so unknown sizes never make waiting look
// attractive).
//
// Units: microseconds. Thread-safety: thread-compatible (not synchronized);
// DynamicBatcher guards its instance with its own mutex. Queries never
// allocate.
#pragma once

#include <vector>

namespace yoloscope {

class BatchLatencyCurve {
 public:
  // `seed_us[i]` is the latency of batch size i + 1 (0 = unknown); it may be
  // shorter than max_batch_size. `alpha` in (0, 1] is the weight of a new
  // sample. Arguments are assumed valid (see ValidateBatcherConfig).
  BatchLatencyCurve(int max_batch_size, double alpha, const std::vector<double>& seed_us = {});

  // Folds one measured execution latency into the EWMA of `batch_size`.
  // Sizes outside [1, max_batch_size] and non-positive latencies are ignored.
  void Record(int batch_size, double latency_us);

  // True when at least one size has a latency (seeded or measured).
  bool HasData() const { return num_known_ > 0; }
  // Estimated latency of a batch of `batch_size` (clamped to
  // [1, max_batch_size]); 0 when HasData() is false.
  double LatencyUs(int batch_size) const;
  // True when `batch_size` itself was seeded or measured (not estimated).
  bool IsKnown(int batch_size) const;
  int max_batch_size() const { return max_batch_size_; }

 private:
  // Recomputes estimate_us_ from ewma_us_ after a change, so queries are O(1).
  void Rebuild();

  int max_batch_size_;
  double alpha_;
  int num_known_ = 0;
  // Index = batch size (entry 0 unused). ewma_us_ is 0 where unknown.
  std::vector<double> ewma_us_;
  std::vector<double> estimate_us_;
};

}  // namespace yoloscope
