// TelemetrySampler: a thread that reads a TelemetrySource every period,
// keeps the latest sample per device for the request path, and hands every
// sample to a sink (the server writes `gpu` log records and updates its
// Prometheus gauges there).
//
// Timing: rounds are scheduled on the injected Clock at start, start + period,
// start + 2 period, ... (a round that ran late does not cause a burst: missed
// slots are skipped). The thread waits on a condition variable in real time
// for at most `max_wait_ms` at once, so with a RealClock it wakes at each
// period and with a FakeClock it notices moved time within max_wait_ms.
// Stop() wakes it at once and joins (it waits for a round in progress, i.e.
// one Sample() of the source).
//
// Ownership: owns the source; the Clock is not owned and must outlive the
// sampler.
// Thread-safety: all methods are safe from any thread. The sink is called on
// the sampler's thread (or on the caller's thread for SampleNow()), one call
// at a time, in device order; it must not call SampleNow()/Stop() itself.
// Latest*() cost one small mutex and a shared_ptr copy; they never wait for
// a round in progress.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "telemetry/telemetry_source.h"

namespace yoloscope {

struct TelemetrySamplerConfig {
  // Sampling period, > 0. Default 200 ms.
  int64_t period_ms = 200;
  // Longest real-time wait between looks at the Clock, > 0. Default 50 ms.
  int64_t max_wait_ms = 50;
};

class TelemetrySampler {
 public:
  // Called once per DeviceSample (ts_us stamped with Clock::WallNowUs).
  using Sink = std::function<void(const DeviceSample&)>;

  // InvalidArgument for a null source/clock or a non-positive period. The
  // sink may be empty.
  static StatusOr<std::unique_ptr<TelemetrySampler>> Create(const TelemetrySamplerConfig& config,
                                                            Clock* clock,
                                                            std::unique_ptr<TelemetrySource> source,
                                                            Sink sink = nullptr);
  ~TelemetrySampler();  // Stop().

  TelemetrySampler(const TelemetrySampler&) = delete;
  TelemetrySampler& operator=(const TelemetrySampler&) = delete;

  // Starts the thread; the first round runs at once. FailedPrecondition when
  // already running.
  Status Start();
  // Stops and joins the thread. Idempotent; Start() may be called again.
  void Stop();
  bool running() const { return running_.load(std::memory_order_acquire); }

  // Runs one round now on the caller's thread (serialized with the thread's
  // rounds). Returns the source's error, which is also counted.
  Status SampleNow();

  // The latest sample of every device seen so far (each device's newest;
  // empty before the first successful round). Cheap: no copy of the samples.
  std::shared_ptr<const std::vector<DeviceSample>> LatestSnapshot() const;
  // A copy of LatestSnapshot()'s samples.
  std::vector<DeviceSample> Latest() const;
  // The latest sample of GPU `gpu_id` (or, for an empty gpu_id, of the
  // device without one, e.g. "cpu"); empty when none was seen.
  std::optional<DeviceSample> LatestFor(std::optional<int64_t> gpu_id) const;

  int64_t rounds() const { return rounds_.load(std::memory_order_relaxed); }  // successful
  int64_t errors() const { return errors_.load(std::memory_order_relaxed); }  // failed
  Status last_error() const;

  const TelemetrySource& source() const { return *source_; }
  const TelemetrySamplerConfig& config() const { return config_; }

 private:
  TelemetrySampler(const TelemetrySamplerConfig& config, Clock* clock,
                   std::unique_ptr<TelemetrySource> source, Sink sink);
  void Loop();
  Status RunRound();

  const TelemetrySamplerConfig config_;
  Clock* const clock_;  // not owned.
  const std::unique_ptr<TelemetrySource> source_;
  const Sink sink_;

  // Serializes rounds (source_->Sample() and the sink). Guards last_error_.
  mutable std::mutex round_mu_;
  Status last_error_;

  // Guards latest_ (the pointer, not the pointee: snapshots are immutable).
  mutable std::mutex latest_mu_;
  std::shared_ptr<const std::vector<DeviceSample>> latest_;

  // Guards stop_ (with stop_cv_) and thread_ management.
  std::mutex thread_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;

  std::atomic<bool> running_{false};
  std::atomic<int64_t> rounds_{0};
  std::atomic<int64_t> errors_{0};
};

}  // namespace yoloscope
