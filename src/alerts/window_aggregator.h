// WindowAggregator: the samples of one alert series over a sliding window,
// kept as a ring of per-second buckets of mergeable statistics (count, sum,
// min, max, latest sample and, for quantile rules, a sparse log-scale
// histogram). Memory is bounded by the window: window_s buckets, each with at
// most kNumQuantileBins histogram entries (a few dozen in practice).
//
// The ring holds window_s + ring_slack_s seconds, so that samples up to
// ring_slack_s seconds ahead of an evaluation (records observed before the
// boundary they precede is evaluated) do not push out seconds the window
// still needs.
//
// Windows are aligned to whole seconds of event time: evaluated at `now`,
// the window holds the seconds [end - window_s, end) with end = ceil(now in
// s), so at a second boundary exactly the last window_s seconds count, and
// samples at or after `now` wait for a later evaluation.
//
// Quantiles: nearest-rank over the histogram, whose bins grow by 2% (values
// within 1% of the truth), clamped to the window's exact min and max. Values
// <= 0 share one bin represented by the window minimum.
//
// Thread-safety: none (the AlertEngine guards it).
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "alerts/alert_rule.h"

namespace yoloscope {

// Mergeable statistics of the samples of one second (or any set).
struct BucketStats {
  int64_t count = 0;
  double sum = 0.0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t last_us = std::numeric_limits<int64_t>::min();  // event time of `last`
  double last = std::numeric_limits<double>::quiet_NaN();
  // (bin, count), sorted by bin; filled only when quantiles are kept.
  std::vector<std::pair<uint16_t, uint32_t>> bins;

  void Add(int64_t t_us, double value, bool keep_bins);
  void Merge(const BucketStats& other);
  void Clear();
};

// The log-scale bins shared by every quantile histogram.
inline constexpr int kNumQuantileBins = 1500;
int QuantileBin(double value);     // 0 for values <= 0
double QuantileBinValue(int bin);  // a representative value of `bin` (> 0 for bin > 0)

class WindowAggregator {
 public:
  WindowAggregator(int64_t window_s, bool keep_quantiles, int64_t ring_slack_s = 0);

  // Adds a sample at event time t_us. False (the sample is dropped) when its
  // second has already left the ring: window_s + ring_slack_s or more
  // seconds older than the newest second seen.
  bool Add(int64_t t_us, double value);
  // Merges pre-aggregated statistics of one second (offline replay).
  bool AddBucket(int64_t second, const BucketStats& stats);

  // The aggregate at `now_us`; NaN when undefined (no samples for mean,
  // quantiles, min, max, last). count/sum are 0 and rate 0/s on no samples.
  double Evaluate(Aggregation aggregation, double quantile, int64_t now_us) const;
  // True when nothing seen so far can count at `now_us` or later.
  bool EmptyAt(int64_t now_us) const;

  int64_t window_s() const { return window_s_; }

  // Floor of t_us / 1 s, and the end second of a window evaluated at now_us.
  static int64_t SecondOf(int64_t t_us);
  static int64_t EndSecond(int64_t now_us);

 private:
  static constexpr int64_t kNoSecond = std::numeric_limits<int64_t>::min();
  struct Slot {
    int64_t second = kNoSecond;
    BucketStats stats;
  };
  BucketStats* SlotFor(int64_t second);
  bool InHist(int64_t second) const { return second >= hist_start_ && second < hist_end_; }
  // Adds (sign +1) or removes (-1) the bins of `stats` to / from hist_.
  void HistAdd(const BucketStats& stats, int sign) const;

  int64_t window_s_;
  int64_t ring_s_;  // window_s_ + slack
  bool keep_quantiles_;
  std::vector<Slot> ring_;
  int64_t newest_second_ = kNoSecond;
  // Quantiles: the dense histogram of the seconds [hist_start_, hist_end_)
  // (the window of the last quantile Evaluate), kept current by Add,
  // AddBucket and the reuse of slots, so that the next evaluation -- a second
  // later -- adds a second and drops one instead of summing every second of
  // the window again (most of the alert replay at the end of `analyze`).
  mutable std::vector<uint64_t> hist_;
  mutable uint64_t hist_n_ = 0;  // sum of hist_
  mutable int64_t hist_start_ = 0, hist_end_ = 0;
};

}  // namespace yoloscope
