// BatchPlanner: the timing rules of the dynamic batcher as a pure function of
// (queue state, now). Given how many requests are queued and when the oldest
// arrived, Decide() says "dispatch N now", "wait until T (or the next
// arrival)", or "idle (queue empty)"; Admits() says whether the queue
// takes one more request. DynamicBatcher calls it under its lock;
// tests call it directly with made-up times. docs/batching.md states the
// rules and the adaptive model with its formula.
//
// State: besides the config, the planner keeps what the adaptive policy
// learns (the batch-latency curve and the EWMA of inter-arrival gaps); both
// change only through RecordArrival / RecordBatchLatency, never in Decide.
//
// Units: times are the Clock's monotonic nanoseconds; latencies microseconds.
// Thread-safety: thread-compatible (DynamicBatcher guards it). Decide never
// allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "batching/batch_latency_curve.h"
#include "batching/batcher_config.h"

namespace yoloscope {

// What the queue looks like to the planner. Expired requests must already be
// removed.
struct QueueSnapshot {
  int queued = 0;                 // requests waiting, both priorities.
  int64_t oldest_enqueue_ns = 0;  // arrival time of the oldest; ignored when queued == 0.
  bool draining = false;          // Shutdown() was called: dispatch without waiting.
};

enum class BatchAction {
  kIdle,      // nothing queued: wait for an arrival.
  kWait,      // wait until wake_at_ns or the next arrival, then decide again.
  kDispatch,  // take batch_size requests now.
};

enum class BatchReason {
  kNone,
  kFull,          // max_batch_size requests queued.
  kPreferred,     // a preferred batch size could be formed.
  kQueueDelay,    // the oldest request waited max_queue_delay_us (or the delay is 0).
  kDrain,         // shutting down: dispatch what is queued.
  kAdaptiveNow,   // adaptive: waiting is not predicted to lower latency.
  kWindow,        // kWait (fixed): until the oldest request's window ends.
  kAdaptiveWait,  // kWait (adaptive): until the predicted arrivals fill target_size.
};

const char* BatchReasonName(BatchReason reason);  // "full", "preferred", ...

struct BatchDecision {
  BatchAction action = BatchAction::kIdle;
  BatchReason reason = BatchReason::kNone;
  int batch_size = 0;      // kDispatch: how many requests to take (1..max_batch_size).
  int64_t wake_at_ns = 0;  // kWait: decide again at this time at the latest.
  int target_size = 0;     // kWait/kAdaptiveWait: the batch size the wait aims for.
};

// The adaptive policy's prediction for one decision (exposed for tests and
// for the docs' worked example).
struct AdaptivePlan {
  int64_t wait_ns = 0;       // 0 = dispatch now.
  int target_size = 0;       // the batch size the wait expects to form.
  double mean_gain_us = 0;   // predicted cut in mean latency per request.
  double gain_fraction = 0;  // mean_gain_us / mean latency when dispatching now.
};

class BatchPlanner {
 public:
  // `config` must be valid (ValidateBatcherConfig).
  explicit BatchPlanner(const BatcherConfig& config);

  // The rules, in order: empty -> idle; full -> dispatch max; draining ->
  // dispatch all; a preferred size reachable -> dispatch the largest one;
  // the oldest waited the delay -> dispatch all; otherwise fixed waits for the
  // window and adaptive waits only if PlanAdaptiveWait says so.
  BatchDecision Decide(const QueueSnapshot& queue, int64_t now_ns) const;

  // Admission: whether one more request may join a queue that already holds
  // `queued` requests (both priorities) -- false once max_queue_size are
  // queued, where Enqueue answers ResourceExhausted. The what-if simulator
  // (src/whatif/) asks the same question, so both reject at the same depth.
  bool Admits(int queued) const { return queued < config_.max_queue_size; }

  // Adaptive prediction for `queued` requests with at most `max_wait_ns` left
  // in the oldest request's window.
  AdaptivePlan PlanAdaptiveWait(int queued, int64_t now_ns, int64_t max_wait_ns) const;

  // One request arrived at `now_ns` (feeds the arrival-rate EWMA).
  void RecordArrival(int64_t now_ns);
  // A batch of `batch_size` took `latency_us` to execute (feeds the curve).
  void RecordBatchLatency(int batch_size, double latency_us);

  // Estimated arrivals per microsecond at `now_ns`; 0 until two arrivals were
  // seen. The gap since the last arrival counts once it exceeds the EWMA, so
  // the rate decays when traffic stops instead of staying at its last value.
  double ArrivalRatePerUs(int64_t now_ns) const;

  const BatchLatencyCurve& curve() const { return curve_; }
  const BatcherConfig& config() const { return config_; }

 private:
  BatcherConfig config_;
  std::vector<int> preferred_desc_;  // preferred sizes, sorted descending, unique.
  BatchLatencyCurve curve_;
  int64_t last_arrival_ns_ = 0;
  bool has_arrival_ = false;
  bool has_gap_ = false;  // set at the second arrival.
  double ewma_gap_ns_ = 0;
};

}  // namespace yoloscope
