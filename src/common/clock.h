// Clock: the only source of time for code whose behaviour depends on time
// (batcher windows, timeouts, alert `for` durations, the simulated GPU).
// Pass a Clock explicitly; tests pass a FakeClock and move time by hand.
//
// Units: monotonic time in nanoseconds since an arbitrary origin; wall time
// in microseconds since the Unix epoch (UTC).
#pragma once

#include <atomic>
#include <cstdint>

namespace yoloscope {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds; never goes backwards.
  virtual int64_t NowNs() const = 0;
  // Wall-clock microseconds since the Unix epoch, for log timestamps.
  virtual int64_t WallNowUs() const = 0;
  // Blocks the caller for `ns` of this clock's time (a FakeClock advances itself).
  virtual void SleepForNs(int64_t ns) = 0;
};

// The system clocks (steady_clock and system_clock). Thread-safe.
class RealClock final : public Clock {
 public:
  int64_t NowNs() const override;
  int64_t WallNowUs() const override;
  void SleepForNs(int64_t ns) override;
};

// A clock that moves only when told to. Thread-safe (atomic reads/writes).
// SleepForNs advances the clock by `ns` and returns at once.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ns = 1'000'000'000, int64_t wall_start_us = 1'767'225'600'000'000)
      : now_ns_(start_ns), wall_offset_us_(wall_start_us - start_ns / 1000) {}
  int64_t NowNs() const override { return now_ns_.load(std::memory_order_acquire); }
  int64_t WallNowUs() const override { return wall_offset_us_ + NowNs() / 1000; }
  void SleepForNs(int64_t ns) override { AdvanceNs(ns); }
  void AdvanceNs(int64_t ns) { now_ns_.fetch_add(ns, std::memory_order_acq_rel); }
  void AdvanceMs(double ms) { AdvanceNs(static_cast<int64_t>(ms * 1e6)); }
  void SetNowNs(int64_t ns) { now_ns_.store(ns, std::memory_order_release); }

 private:
  std::atomic<int64_t> now_ns_;
  int64_t wall_offset_us_;
};

}  // namespace yoloscope
