// ProgressBar: a one-line progress bar on a terminal stream (stderr), redrawn
// by its own thread from a byte counter that another thread advances:
//   [#########...........]  45%  1.2 GB / 2.6 GB  1.1 GB/s  ETA 1s
// With total_bytes <= 0 it shows the bytes read and the rate only.
//
// Thread-safety: the counter is atomic; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>

namespace yoloscope {

struct ProgressBarConfig {
  int64_t total_bytes = 0;    // <= 0: unknown.
  int64_t interval_ms = 100;  // redraw period.
  int width = 30;             // bar cells.
};

class ProgressBar {
 public:
  // `stream` and `bytes` must outlive the bar.
  ProgressBar(std::FILE* stream, const std::atomic<int64_t>* bytes, ProgressBarConfig config = {});
  ~ProgressBar();  // Stops.

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Start();
  // Stops the thread and erases the line.
  void Stop();

  // The line for `done` bytes after `seconds` (exposed for tests).
  static std::string Render(int64_t done, int64_t total, double seconds, int width);

 private:
  void Loop();

  std::FILE* stream_;
  const std::atomic<int64_t>* bytes_;
  ProgressBarConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace yoloscope
