// LatencyHistogram: a mergeable log-linear histogram of non-negative values
// (durations in milliseconds, or any positive quantity such as queue lengths).
//
// Buckets follow the IEEE-754 layout of the value in micro-units (ms * 1000):
// the exponent picks the octave and the top `sub_bucket_bits` mantissa bits the
// linear sub-bucket inside it. A bucket is 2^-bits of its value wide and a
// quantile is reported at the bucket's midpoint (clamped to the exact min and
// max), so the relative error of any quantile is at most 2^-(bits+1):
//   kFineBits   = 7 -> <= 0.39%   (4097 buckets, from 1 us to 2^32 us ~ 71.6 min)
//   kCoarseBits = 4 -> <= 3.1%    (513 buckets; per-window series)
// Values below 1 us share bucket 0; values above 2^32 us share the top bucket
// (their max stays exact). Storage covers only the range of buckets actually
// used, so a histogram of latencies within a few octaves costs ~1-4 KB.
//
// count, sum, min and max are exact. Merge() of histograms with the same
// precision gives exactly the histogram of the combined values (counts are
// integers; the sum is a double and may differ in the last bits).
//
// Thread-safety: a value type; no internal locking.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace yoloscope {

class LatencyHistogram {
 public:
  static constexpr int kFineBits = 7;
  static constexpr int kCoarseBits = 4;
  static constexpr int kOctaves = 32;  // 1 us .. 2^32 us.

  explicit LatencyHistogram(int sub_bucket_bits = kFineBits);

  // Adds `n` copies of `ms`. NaN, infinite and negative values are ignored
  // (the caller counts them as invalid if it cares).
  void Record(double ms, int64_t n);
  // Adds one value (the hot path, inline).
  void Record(double ms) {
    if (!(ms >= 0.0) || ms > 1e300) return;  // NaN, negative, infinite.
    const int index = BucketIndex(ms);
    const size_t slot = static_cast<size_t>(index - offset_);
    if (slot >= counts_.size()) {
      Record(ms, 1);
      return;
    }
    ++counts_[slot];
    ++count_;
    sum_ += ms;
    if (ms < min_) min_ = ms;
    if (ms > max_) max_ = ms;
  }

  // Adds `n` values known only by their bucket `index` (BucketIndex), their
  // sum, min and max: a histogram computed elsewhere (in SQL) with the same
  // bucket arithmetic.
  void RecordBucket(int index, int64_t n, double sum, double min, double max);

  // Adds every value of `other`. When precisions differ, `other`'s buckets are
  // re-recorded at their midpoints (lossy only by the coarser precision).
  void Merge(const LatencyHistogram& other);

  void Clear();

  int64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  double sum() const { return sum_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double min() const { return count_ ? min_ : 0.0; }
  double max() const { return count_ ? max_ : 0.0; }
  int sub_bucket_bits() const { return bits_; }

  // Nearest-rank quantile, q in [0, 1]: the value of rank ceil(q * count)
  // (at least 1), within the relative error above. 0 when empty.
  double Quantile(double q) const;

  // Fraction of values <= `ms` (approximate at bucket resolution). 0 when empty.
  double FractionAtOrBelow(double ms) const;

  // Bytes held by the bucket array (for memory accounting).
  size_t MemoryBytes() const { return counts_.capacity() * sizeof(uint64_t); }

  // Bucket arithmetic, exposed for tests.
  int BucketIndex(double ms) const {
    const double us = ms * 1000.0;
    if (!(us >= 1.0)) return 0;  // Also catches NaN.
    if (us >= 4294967296.0) return num_buckets_ - 1;
    const uint64_t raw = std::bit_cast<uint64_t>(us);
    const int exponent = static_cast<int>((raw >> 52) & 0x7ff) - 1023;
    const int mantissa = static_cast<int>((raw >> (52 - bits_)) & ((1u << bits_) - 1));
    return 1 + (exponent << bits_) + mantissa;
  }
  double BucketMidpoint(int index) const;  // in ms.

 private:
  void Grow(int index);

  int bits_;
  int num_buckets_;
  int64_t count_ = 0;
  double sum_ = 0.0;
  double min_ = std::numeric_limits<double>::infinity();  // exact; +inf when empty.
  double max_ = -std::numeric_limits<double>::infinity();
  int offset_ = 0;                // bucket index of counts_[0].
  std::vector<uint64_t> counts_;  // buckets [offset_, offset_ + size).
};

}  // namespace yoloscope
