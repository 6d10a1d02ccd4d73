#include "analyzer/aggregate/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace yoloscope {

LatencyHistogram::LatencyHistogram(int sub_bucket_bits)
    : bits_(std::clamp(sub_bucket_bits, 1, 10)), num_buckets_(1 + (kOctaves << bits_)) {}

double LatencyHistogram::BucketMidpoint(int index) const {
  if (index <= 0) return 0.0005;
  const int i = index - 1;
  const int exponent = i >> bits_;
  const int mantissa = i & ((1 << bits_) - 1);
  const double scale = std::ldexp(1.0, exponent);
  const double step = 1.0 / static_cast<double>(1 << bits_);
  const double lo = scale * (1.0 + mantissa * step);
  const double hi = scale * (1.0 + (mantissa + 1) * step);
  return (lo + hi) * 0.5 / 1000.0;
}

void LatencyHistogram::Grow(int index) {
  constexpr int kSlack = 8;
  if (counts_.empty()) {
    offset_ = std::max(0, index - kSlack / 2);
    const int end = std::min(num_buckets_, index + kSlack / 2 + 1);
    counts_.assign(static_cast<size_t>(end - offset_), 0);
    return;
  }
  const int old_end = offset_ + static_cast<int>(counts_.size());
  if (index < offset_) {
    const int new_offset = std::max(0, index - kSlack);
    counts_.insert(counts_.begin(), static_cast<size_t>(offset_ - new_offset), 0);
    offset_ = new_offset;
  } else if (index >= old_end) {
    const int new_end = std::min(num_buckets_, index + kSlack + 1);
    counts_.resize(static_cast<size_t>(new_end - offset_), 0);
  }
}

void LatencyHistogram::Record(double ms, int64_t n) {
  if (n <= 0 || !std::isfinite(ms) || ms < 0.0) return;
  const int index = BucketIndex(ms);
  if (index < offset_ || index >= offset_ + static_cast<int>(counts_.size())) Grow(index);
  counts_[static_cast<size_t>(index - offset_)] += static_cast<uint64_t>(n);
  min_ = std::min(min_, ms);
  max_ = std::max(max_, ms);
  count_ += n;
  sum_ += ms * static_cast<double>(n);
}

void LatencyHistogram::RecordBucket(int index, int64_t n, double sum, double min, double max) {
  if (n <= 0) return;
  index = std::clamp(index, 0, num_buckets_ - 1);
  if (index < offset_ || index >= offset_ + static_cast<int>(counts_.size())) Grow(index);
  counts_[static_cast<size_t>(index - offset_)] += static_cast<uint64_t>(n);
  min_ = std::min(min_, min);
  max_ = std::max(max_, max);
  count_ += n;
  sum_ += sum;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (other.bits_ != bits_) {
    const double saved_sum = sum_ + other.sum_;
    const double saved_min = std::min(min_, other.min_);
    const double saved_max = std::max(max_, other.max_);
    const int64_t saved_count = count_ + other.count_;
    for (size_t i = 0; i < other.counts_.size(); ++i) {
      if (other.counts_[i] == 0) continue;
      const int index = BucketIndex(other.BucketMidpoint(other.offset_ + static_cast<int>(i)));
      if (index < offset_ || index >= offset_ + static_cast<int>(counts_.size())) Grow(index);
      counts_[static_cast<size_t>(index - offset_)] += other.counts_[i];
    }
    sum_ = saved_sum;
    min_ = saved_min;
    max_ = saved_max;
    count_ = saved_count;
    return;
  }
  const int other_end = other.offset_ + static_cast<int>(other.counts_.size());
  if (counts_.empty()) {
    counts_ = other.counts_;
    offset_ = other.offset_;
  } else {
    if (other.offset_ < offset_) Grow(other.offset_);
    if (other_end > offset_ + static_cast<int>(counts_.size())) Grow(other_end - 1);
    for (size_t i = 0; i < other.counts_.size(); ++i) {
      counts_[static_cast<size_t>(other.offset_ + static_cast<int>(i) - offset_)] +=
          other.counts_[i];
    }
  }
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

void LatencyHistogram::Clear() {
  count_ = 0;
  sum_ = 0.0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
  offset_ = 0;
  counts_.clear();
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0.0;
  q = std::clamp(q, 0.0, 1.0);
  int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<int64_t>(rank, 1, count_);
  if (rank == count_) return max_;
  if (rank == 1) return min_;
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += static_cast<int64_t>(counts_[i]);
    if (seen >= rank) {
      return std::clamp(BucketMidpoint(offset_ + static_cast<int>(i)), min_, max_);
    }
  }
  return max_;
}

double LatencyHistogram::FractionAtOrBelow(double ms) const {
  if (count_ == 0) return 0.0;
  if (ms >= max_) return 1.0;
  if (ms < min_) return 0.0;
  const int limit = BucketIndex(ms);
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (offset_ + static_cast<int>(i) > limit) break;
    seen += static_cast<int64_t>(counts_[i]);
  }
  return static_cast<double>(seen) / static_cast<double>(count_);
}

}  // namespace yoloscope
