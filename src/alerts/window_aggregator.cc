#include "alerts/window_aggregator.h"

#include <algorithm>
#include <cmath>

namespace yoloscope {
namespace {

// Bins: bin 0 holds values <= 0; bin i >= 1 holds (kMin * g^(i-2), kMin * g^(i-1)],
// with everything below kMin in bin 1 and the top bin open-ended.
constexpr double kMinValue = 1e-3;
constexpr double kGrowth = 1.02;
const double kLogGrowth = std::log(kGrowth);

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

int QuantileBin(double value) {
  if (!(value > 0)) return 0;
  if (value <= kMinValue) return 1;
  const double i = std::ceil(std::log(value / kMinValue) / kLogGrowth);
  return static_cast<int>(std::min<double>(kNumQuantileBins - 1, 1.0 + i));
}

double QuantileBinValue(int bin) {
  if (bin <= 0) return 0.0;
  if (bin == 1) return kMinValue;
  // Midpoint of (lo, hi]: relative error at most (g - 1) / (g + 1) < 1%.
  const double hi = kMinValue * std::pow(kGrowth, bin - 1);
  const double lo = hi / kGrowth;
  return 2.0 * lo * hi / (lo + hi);
}

void BucketStats::Add(int64_t t_us, double value, bool keep_bins) {
  ++count;
  sum += value;
  min = std::min(min, value);
  max = std::max(max, value);
  if (t_us >= last_us) {
    last_us = t_us;
    last = value;
  }
  if (!keep_bins) return;
  const auto bin = static_cast<uint16_t>(QuantileBin(value));
  auto it = std::lower_bound(bins.begin(), bins.end(), bin,
                             [](const auto& e, uint16_t b) { return e.first < b; });
  if (it != bins.end() && it->first == bin) {
    ++it->second;
  } else {
    bins.insert(it, {bin, 1});
  }
}

void BucketStats::Merge(const BucketStats& o) {
  if (o.count == 0) return;
  count += o.count;
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  if (o.last_us >= last_us) {
    last_us = o.last_us;
    last = o.last;
  }
  if (o.bins.empty()) return;
  std::vector<std::pair<uint16_t, uint32_t>> merged;
  merged.reserve(bins.size() + o.bins.size());
  auto a = bins.cbegin();
  auto b = o.bins.cbegin();
  while (a != bins.cend() || b != o.bins.cend()) {
    if (b == o.bins.cend() || (a != bins.cend() && a->first < b->first)) {
      merged.push_back(*a++);
    } else if (a == bins.cend() || b->first < a->first) {
      merged.push_back(*b++);
    } else {
      merged.push_back({a->first, a->second + b->second});
      ++a, ++b;
    }
  }
  bins = std::move(merged);
}

void BucketStats::Clear() {
  count = 0;
  sum = 0.0;
  min = std::numeric_limits<double>::infinity();
  max = -std::numeric_limits<double>::infinity();
  last_us = std::numeric_limits<int64_t>::min();
  last = std::numeric_limits<double>::quiet_NaN();
  bins.clear();  // keeps capacity
}

WindowAggregator::WindowAggregator(int64_t window_s, bool keep_quantiles, int64_t ring_slack_s)
    : window_s_(std::max<int64_t>(1, window_s)),
      ring_s_(window_s_ + std::max<int64_t>(0, ring_slack_s)),
      keep_quantiles_(keep_quantiles),
      ring_(static_cast<size_t>(ring_s_)) {}

int64_t WindowAggregator::SecondOf(int64_t t_us) { return FloorDiv(t_us, 1'000'000); }

int64_t WindowAggregator::EndSecond(int64_t now_us) {
  return FloorDiv(now_us, 1'000'000) + (now_us % 1'000'000 != 0 ? 1 : 0);
}

void WindowAggregator::HistAdd(const BucketStats& stats, int sign) const {
  for (const auto& [bin, n] : stats.bins) {
    if (sign > 0) {
      hist_[bin] += n;
      hist_n_ += n;
    } else {
      hist_[bin] -= n;
      hist_n_ -= n;
    }
  }
}

BucketStats* WindowAggregator::SlotFor(int64_t second) {
  if (newest_second_ != kNoSecond && second <= newest_second_ - ring_s_) return nullptr;
  Slot& slot = ring_[static_cast<size_t>(((second % ring_s_) + ring_s_) % ring_s_)];
  if (slot.second != second) {
    // The slot holds an older second (at least ring_s_ before): reuse it.
    if (slot.second != kNoSecond && InHist(slot.second)) HistAdd(slot.stats, -1);
    slot.second = second;
    slot.stats.Clear();
  }
  newest_second_ = std::max(newest_second_, second);
  return &slot.stats;
}

bool WindowAggregator::Add(int64_t t_us, double value) {
  const int64_t second = SecondOf(t_us);
  BucketStats* b = SlotFor(second);
  if (b == nullptr) return false;
  b->Add(t_us, value, keep_quantiles_);
  if (keep_quantiles_ && InHist(second)) {
    ++hist_[static_cast<size_t>(QuantileBin(value))];
    ++hist_n_;
  }
  return true;
}

bool WindowAggregator::AddBucket(int64_t second, const BucketStats& stats) {
  BucketStats* b = SlotFor(second);
  if (b == nullptr) return false;
  b->Merge(stats);
  if (stats.count != 0 && InHist(second)) HistAdd(stats, +1);  // as Merge took them
  return true;
}

bool WindowAggregator::EmptyAt(int64_t now_us) const {
  return newest_second_ == kNoSecond || newest_second_ < EndSecond(now_us) - window_s_;
}

double WindowAggregator::Evaluate(Aggregation aggregation, double quantile, int64_t now_us) const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const int64_t end = EndSecond(now_us);
  const int64_t start = end - window_s_;
  BucketStats total;
  if (aggregation == Aggregation::kQuantile) {
    // The window's histogram: hist_ moved from its last window to this one.
    if (hist_.empty()) hist_.assign(kNumQuantileBins, 0);
    if (start < hist_start_ || end < hist_end_ || start >= hist_end_) {
      std::fill(hist_.begin(), hist_.end(), 0);  // no overlap (or backwards): start over
      hist_n_ = 0;
      hist_start_ = hist_end_ = start;
    }
    auto slot_of = [this](int64_t second) -> const Slot& {
      return ring_[static_cast<size_t>(((second % ring_s_) + ring_s_) % ring_s_)];
    };
    for (int64_t second = hist_start_; second < start; ++second) {  // seconds that left
      const Slot& slot = slot_of(second);
      if (slot.second == second) HistAdd(slot.stats, -1);
    }
    for (int64_t second = std::max(hist_end_, start); second < end; ++second) {  // that came
      const Slot& slot = slot_of(second);
      if (slot.second == second) HistAdd(slot.stats, +1);
    }
    hist_start_ = start;
    hist_end_ = end;
  }
  if (!EmptyAt(now_us)) {
    for (const Slot& slot : ring_) {
      if (slot.second == kNoSecond || slot.second < start || slot.second >= end) continue;
      const BucketStats& s = slot.stats;
      if (s.count == 0) continue;
      total.count += s.count;
      total.sum += s.sum;
      total.min = std::min(total.min, s.min);
      total.max = std::max(total.max, s.max);
      if (s.last_us >= total.last_us) {
        total.last_us = s.last_us;
        total.last = s.last;
      }
    }
  }
  switch (aggregation) {
    case Aggregation::kCount:
      return static_cast<double>(total.count);
    case Aggregation::kSum:
      return total.sum;
    case Aggregation::kRate:
      return total.sum / static_cast<double>(window_s_);
    default:
      break;
  }
  if (total.count == 0) return nan;
  switch (aggregation) {
    case Aggregation::kMean:
      return total.sum / static_cast<double>(total.count);
    case Aggregation::kMax:
      return total.max;
    case Aggregation::kMin:
      return total.min;
    case Aggregation::kLast:
      return total.last;
    case Aggregation::kQuantile: {
      if (quantile >= 1.0) return total.max;
      const uint64_t n = hist_n_;
      if (n == 0) return nan;  // quantiles not kept
      const auto rank =
          static_cast<uint64_t>(std::max(1.0, std::ceil(quantile * static_cast<double>(n))));
      uint64_t seen = 0;
      for (int bin = 0; bin < kNumQuantileBins; ++bin) {
        seen += hist_[static_cast<size_t>(bin)];
        if (seen >= rank) {
          const double v = bin == 0 ? total.min : QuantileBinValue(bin);
          return std::clamp(v, total.min, total.max);
        }
      }
      return total.max;
    }
    default:
      return nan;
  }
}

}  // namespace yoloscope
