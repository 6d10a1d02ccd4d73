// MeasurementWindow: the raw samples of one measurement window of a load
// level (every response that completed during the window), and the
// summaries computed from one or several windows.
//
// Latency statistics are over successful (2xx) responses; every response,
// successful or not, is counted by HTTP status (0 = no HTTP response: a
// connection error or a request the level ended before it was answered).
// Throughput is successful responses per second of window time.
// Percentiles use the nearest-rank method.
//
// Units: latencies in nanoseconds in, milliseconds out; durations in ns.
// Thread-safety: thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "bench/server_timing.h"

namespace yoloscope {

struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0;
};

struct StageStats {
  double mean_ms = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

struct WindowSummary {
  double duration_s = 0;
  int64_t responses = 0;                 // all statuses
  int64_t ok = 0;                        // 2xx
  double throughput = 0;                 // ok / duration_s
  LatencySummary latency;                // 2xx only
  std::map<int, int64_t> status_counts;  // HTTP status (0 = connection error) -> count
  // Server-side breakdown from the responses' `timing` (2xx responses that
  // carried one); empty when none did.
  int64_t server_timed = 0;
  StageStats stages[kNumStages];
  std::map<int, int64_t> batch_sizes;  // batch size -> responses
};

class MeasurementWindow {
 public:
  // One response: `latency_ns` from the request's scheduled send time (open
  // loop) or its send time (closed loop) to the end of the response.
  void Record(int64_t latency_ns, int http_status, const std::optional<ServerTiming>& timing);

  int64_t responses() const { return responses_; }
  int64_t ok() const { return static_cast<int64_t>(latency_ns_.size()); }

  // The summary of this window over `duration_ns`.
  WindowSummary Summarize(int64_t duration_ns) const;
  // The summary of several windows together (their samples pooled) over
  // `duration_ns` (the sum of their durations).
  // The level result of a run of windows: the last `n` of `windows` pooled
  // (Merge over their summed durations) and the send rate over them.
  // `window_ns[k]` / `sent[k]`: window k's duration and requests sent.
  struct Pooled {
    WindowSummary summary;
    double send_rate = 0;  // requests sent per second over those windows
  };
  static Pooled PoolLast(const std::vector<std::unique_ptr<MeasurementWindow>>& windows,
                         const std::vector<int64_t>& window_ns, const std::vector<int64_t>& sent,
                         size_t n);
  static WindowSummary Merge(const std::vector<const MeasurementWindow*>& windows,
                             int64_t duration_ns);

 private:
  int64_t responses_ = 0;
  std::vector<int64_t> latency_ns_;
  std::vector<ServerTiming> timings_;
  std::map<int, int64_t> status_counts_;
};

// Nearest-rank percentile of `sorted` (ascending), q in [0, 1]; 0 when empty.
double NearestRank(const std::vector<double>& sorted, double q);

}  // namespace yoloscope
