#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/clock.h"

namespace yoloscope {

// TensorPool: reusable 3xHxW float buffers for serve's preprocessing, so that
// steady-state requests allocate no tensors (each is ~1.2 MB at 320x320, ~4.9
// MB at 640x640). Thread-safety: Get and Put from any thread.
//
// The pool keeps as many buffers as were in use at once recently (the peak of
// the current and the previous kWindowNs), not the peak of all time: a burst
// (a stall that let the queue fill) needs more buffers for a moment, and
// keeping them for good made serve's memory step up by a few MB and stay
// there (the 30-minute soak, docs/reliability.md). Buffers above that are
// freed as they come back.
class TensorPool {
 public:
  // `floats` per buffer; the Clock (not owned) times the windows.
  TensorPool(size_t floats, Clock* clock) : floats_(floats), clock_(clock) {}
  std::vector<float> Get() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++in_use_;
      peak_ = std::max(peak_, in_use_);
      if (!free_.empty()) {
        std::vector<float> v = std::move(free_.back());
        free_.pop_back();
        return v;
      }
    }
    return std::vector<float>(floats_);
  }
  void Put(std::vector<float>&& v) {
    std::vector<float> drop;  // freed outside the lock
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (in_use_ > 0) --in_use_;
      const int64_t now = clock_->NowNs();
      if (now - window_start_ns_ >= kWindowNs) {
        prev_peak_ = peak_;
        peak_ = in_use_;
        window_start_ns_ = now;
      }
      const size_t keep = std::min(kMaxPooled, std::max(peak_, prev_peak_));
      if (v.size() == floats_ && in_use_ + free_.size() < keep) {
        free_.push_back(std::move(v));
      } else {
        drop = std::move(v);
      }
      while (!free_.empty() && in_use_ + free_.size() > keep) free_.pop_back();
    }
  }

  // Buffers kept free (for tests).
  size_t free_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return free_.size();
  }

 private:
  static constexpr size_t kMaxPooled = 512;
  static constexpr int64_t kWindowNs = 30'000'000'000;  // 30 s
  const size_t floats_;
  Clock* clock_;  // not owned
  std::mutex mu_;
  std::vector<std::vector<float>> free_;  // Guarded by mu_.
  size_t in_use_ = 0;                     // handed out, not yet back
  size_t peak_ = 0, prev_peak_ = 0;       // most in use at once: this / last window
  int64_t window_start_ns_ = 0;
};

}  // namespace yoloscope
