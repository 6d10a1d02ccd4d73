// HeapTrimmer: a housekeeping thread that returns the allocator's free pages
// to the kernel every `interval` (common/heap_usage.h says why serve needs
// it: without it a load burst that touches one more malloc arena leaves RSS
// higher for good, which reads as a leak to anyone watching the process).
//
// The trim walks every arena under its lock, so it runs rarely (serve's
// default: every 10 s) and never on a request's path. Counts what it did for
// /metrics.
//
// Thread-safety: Start/Stop from one owner thread; the counters from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace yoloscope {

class HeapTrimmer {
 public:
  explicit HeapTrimmer(std::chrono::milliseconds interval) : interval_(interval) {}
  ~HeapTrimmer() { Stop(); }
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Starts the thread; a no-op for a non-positive interval or when running.
  void Start();
  // Stops and joins the thread (idempotent).
  void Stop();

  uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }
  // Trims that handed memory back.
  uint64_t released() const { return released_.load(std::memory_order_relaxed); }

 private:
  void Run();

  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
  std::atomic<uint64_t> trims_{0};
  std::atomic<uint64_t> released_{0};
};

}  // namespace yoloscope
