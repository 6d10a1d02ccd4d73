// ExampleSet: a bounded set of example requests for a finding, chosen
// deterministically so that merging per-thread sets equals one pass over the
// whole log:
//   Order::kEarliest keeps the `capacity` records with the smallest
//     (ts, line, id) -- records without a timestamp sort after timed ones;
//   Order::kLargest keeps the `capacity` records with the largest `value`
//     (ties: earliest first).
// Strings are copied (a LogRecord's string_views die after OnRecord).
//
// Thread-safety: a value type; no internal locking.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace yoloscope {

// One example request. `id` is the request_id, or "file:line" when the record
// has none, so that a user can always find it.
struct RequestExample {
  std::string id;
  int64_t ts_us = std::numeric_limits<int64_t>::max();  // max() = no timestamp.
  int64_t line = 0;
  double value = 0.0;  // what the set orders by (kLargest), or a note value.
  bool error = false;  // the request failed.
  // Stage breakdown for latency examples (NaN = not logged), in the order of
  // LogStage (log_aggregator.h): queue, decode, preprocess, h2d, inference, d2h,
  // postprocess.
  std::array<float, 7> stage_ms{};
};

class ExampleSet {
 public:
  enum class Order { kEarliest, kLargest };

  explicit ExampleSet(int capacity = 5, Order order = Order::kEarliest)
      : capacity_(std::max(1, capacity)), order_(order) {}

  // True when an example with this key would enter the set; lets callers skip
  // building strings for records that would be dropped anyway.
  // Ties on (ts, line) count as "would keep": the id decides in Offer.
  bool WouldKeep(int64_t ts_us, int64_t line, double value) const {
    if (static_cast<int>(items_.size()) < capacity_) return true;
    const RequestExample& worst = items_.back();
    if (order_ == Order::kLargest && value != worst.value) return value > worst.value;
    if (ts_us != worst.ts_us) return ts_us < worst.ts_us;
    return line <= worst.line;
  }

  void Offer(RequestExample example) {
    if (static_cast<int>(items_.size()) >= capacity_ && !Before(example, items_.back())) return;
    auto it = std::upper_bound(
        items_.begin(), items_.end(), example,
        [this](const RequestExample& a, const RequestExample& b) { return Before(a, b); });
    items_.insert(it, std::move(example));
    if (static_cast<int>(items_.size()) > capacity_) items_.pop_back();
  }

  void Merge(const ExampleSet& other) {
    for (const RequestExample& e : other.items_) Offer(e);
  }

  // Best first (earliest, or largest value).
  const std::vector<RequestExample>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  int capacity() const { return capacity_; }

 private:
  bool Before(const RequestExample& a, const RequestExample& b) const {
    if (order_ == Order::kLargest && a.value != b.value) return a.value > b.value;
    if (a.ts_us != b.ts_us) return a.ts_us < b.ts_us;
    if (a.line != b.line) return a.line < b.line;
    return a.id < b.id;
  }

  int capacity_;
  Order order_;
  std::vector<RequestExample> items_;  // sorted best first.
};

}  // namespace yoloscope
