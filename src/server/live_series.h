// LiveSeries: the last minutes of `serve`, second by second, for the live
// page (`/`) and its JSON (`/api/live`). A ring of one slot per second, fed
// by every completed request (the InferenceService annotate_request hook
// hands over the finished `request` record) and every telemetry sample.
//
// Each slot keeps counts (requests, errors, OOMs, allocation retries), per-
// stage time sums, queue length and batch size sums, a log-scale latency
// histogram of total_ms (8 buckets per octave from 10 us: p50/p99 within
// about 5%), device memory (max of what requests and samples saw: used,
// total, reserved, allocated, other processes), mean GPU utilisation, and
// per batch size the requests and summed inference time. A slot is reused
// when its second comes round again, so memory is fixed: about 3 KB per
// second of window (900 KB for the default 5 minutes).
//
// Records are binned by the time they are added (Clock::WallNowUs), not by
// their arrival `ts`, so a slow request shows up when it completes. Charts
// and the summary cover complete seconds only (up to now - 1 s); charts
// start at the first second with data when that is later than the window's
// start (at least 30 seconds shown).
//
// Thread-safety: Add* and the readers are thread-safe (one mutex; Add* hold
// it for a few hundred nanoseconds). The Clock must outlive the series.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/clock.h"
#include "report/chart_set.h"
#include "reqlog/log_records.h"
#include "telemetry/device_sample.h"

namespace yoloscope {

struct LiveSeriesConfig {
  int window_s = 300;  // seconds kept and charted (clamped to 10..3600).
  int summary_s = 10;  // seconds the summary numbers cover (clamped to 1..window_s).
};

class LiveSeries {
 public:
  static constexpr int kStages = 7;  // queue, decode, preprocess, h2d, inference, d2h, postprocess
  static constexpr int kMaxBatch = 128;  // larger batch sizes count as kMaxBatch
  static constexpr int kLatencyBuckets = 192;

  LiveSeries(const LiveSeriesConfig& config, Clock* clock);

  // Adds one finished request (any status). Latency, stages and batch sizes
  // count served requests (status "ok") only: a refusal answered in
  // microseconds is no latency sample (issue 16). Refused = the server said
  // no before doing the work (queue_full, unavailable, log_unavailable);
  // failed = everything else that is not ok.
  void AddRequest(const RequestLogRecord& record);
  // Adds one telemetry sample (GPU or host; fields it lacks are ignored).
  void AddGpuSample(const DeviceSample& sample);

  // The charts over the window (ids as in the HTML report, chart_set.h).
  ChartSet Charts() const;
  // {"schema": "yoloscope.live.v1", "now_us", "window_s", "summary_s",
  //  "summary": {requests_per_s (arriving), served_per_s, refused_per_s,
  //              failed_per_s, p50_ms, p99_ms (served), error_rate, queue_len,
  //              batch_size, mem_used_mb, mem_total_mb, gpu_util, requests,
  //              served, refused, failed},
  //  "charts": ChartSet::ToJson(options)}. Unknown numbers are null.
  nlohmann::json Snapshot(const ChartSetOptions& options = {}) const;

  const LiveSeriesConfig& config() const { return config_; }

 private:
  struct Slot {
    int64_t second = -1;  // Unix second held; -1 = never used.
    // requests = served + refused + failed; errors = refused + failed.
    int64_t requests = 0, served = 0, refused = 0, errors = 0, ooms = 0, alloc_retries = 0;
    std::array<double, kStages> stage_sum{};
    std::array<int64_t, kStages> stage_count{};
    double queue_len_sum = 0, batch_size_sum = 0;
    int64_t queue_len_count = 0, batch_size_count = 0;
    std::array<uint32_t, kLatencyBuckets> total_hist{};
    int64_t total_count = 0;
    double mem_used = -1, mem_total = -1, mem_reserved = -1, mem_allocated = -1, mem_other = -1;
    double gpu_util_sum = 0;
    int64_t gpu_util_count = 0;
    std::array<int64_t, kMaxBatch + 1> batch_requests{};
    std::array<double, kMaxBatch + 1> batch_inference_sum{};
  };

  // The slot of Unix second `second`, reset if it held an older one. mu_ held.
  Slot& SlotFor(int64_t second);
  // The slots of [from, to] in order; nullptr for seconds with no data. mu_ held.
  std::vector<const Slot*> Range(int64_t from, int64_t to) const;
  int64_t NowSecond() const;

  static int LatencyBucket(double ms);
  static double BucketValue(int bucket);
  // The q-quantile of a histogram with `count` samples; NaN when empty.
  static double Quantile(const std::array<uint32_t, kLatencyBuckets>& hist, int64_t count,
                         double q);

  LiveSeriesConfig config_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::vector<Slot> slots_;
};

}  // namespace yoloscope
