// EngineProfiler: `yoloscope bench --engine`, the batch-latency curve of a
// model measured in-process (no HTTP, no decoding): the backend alone.
//
// For each batch size (ascending): `warmup_iterations` untimed runs, then
// timed runs of Backend::Run on one reusable synthetic input batch (a fixed
// pseudo-random pattern in [0, 1]), `iterations` of them, or when
// iterations is 0 as many as fit in min_time_ms (at least min_iterations,
// at most max_iterations). Each run's latency is the Clock time around
// Backend::Run (host-visible latency, copies included on a GPU), which is
// what a server's device worker sees.
//
// Peak memory per batch size: the largest device memory the backend reports
// in BatchTiming.memory (reserved, else used) when it reports any; else the
// process's peak resident set (VmHWM from /proc/self/status), reset before
// each batch size through /proc/self/clear_refs when the kernel allows it
// (otherwise it is the peak since the process started, and memory_kind says
// "rss_peak" all the same).
//
// Ownership: owns its backend. Thread-safety: not thread-safe; Run is called
// from one thread. The Clock is not owned and must outlive the profiler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "backends/backend.h"
#include "bench/engine_curve.h"
#include "common/clock.h"
#include "common/status.h"

namespace yoloscope {

struct EngineProfilerConfig {
  BackendConfig
      backend;  // model_path, kind, device, num_threads; max_batch is set from batch_sizes
  std::vector<int> batch_sizes = {1, 2, 4, 8, 16, 32};  // each >= 1
  int iterations = 0;          // timed runs per batch size; 0 = by time (below)
  int min_iterations = 10;     // by time: at least this many (>= 1)
  int max_iterations = 1000;   // by time: at most this many
  int64_t min_time_ms = 2000;  // by time: timed runs until this much time has passed
  int warmup_iterations = 2;   // untimed runs per batch size (>= 0)
};

class EngineProfiler {
 public:
  // Builds the backend with CreateBackend(config.backend) unless `backend`
  // is given (tests inject one; config.backend is then only descriptive).
  // `clock` may be null (a RealClock is used). Errors: the backend's, or
  // InvalidArgument for a bad config.
  static StatusOr<std::unique_ptr<EngineProfiler>> Create(
      const EngineProfilerConfig& config, Clock* clock = nullptr,
      std::unique_ptr<Backend> backend = nullptr);
  ~EngineProfiler();

  // Measures every batch size; `on_point` (optional) is called after each.
  // Batch sizes above the backend's max_batch() are skipped.
  StatusOr<EngineCurve> Run(const std::function<void(const CurvePoint&)>& on_point = nullptr);

  const Backend& backend() const { return *backend_; }

 private:
  EngineProfiler() = default;

  EngineProfilerConfig config_;
  std::unique_ptr<Clock> owned_clock_;
  Clock* clock_ = nullptr;
  std::unique_ptr<Backend> backend_;
};

// The process's peak resident set (VmHWM) in MiB, or nullopt when
// /proc/self/status cannot be read.
std::optional<double> ProcessPeakRssMb();
// Resets the peak resident set (writes "5" to /proc/self/clear_refs); false
// when the kernel refuses.
bool ResetProcessPeakRss();

}  // namespace yoloscope
