#include "batching/batch_planner.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace yoloscope {

const char* BatchReasonName(BatchReason reason) {
  switch (reason) {
    case BatchReason::kNone:
      return "none";
    case BatchReason::kFull:
      return "full";
    case BatchReason::kPreferred:
      return "preferred";
    case BatchReason::kQueueDelay:
      return "queue_delay";
    case BatchReason::kDrain:
      return "drain";
    case BatchReason::kAdaptiveNow:
      return "adaptive_now";
    case BatchReason::kWindow:
      return "window";
    case BatchReason::kAdaptiveWait:
      return "adaptive_wait";
  }
  return "unknown";
}

BatchPlanner::BatchPlanner(const BatcherConfig& config)
    : config_(config),
      preferred_desc_(config.preferred_batch_sizes),
      curve_(config.max_batch_size, config.latency_ewma_alpha, config.latency_curve_us) {
  std::sort(preferred_desc_.begin(), preferred_desc_.end(), std::greater<int>());
  preferred_desc_.erase(std::unique(preferred_desc_.begin(), preferred_desc_.end()),
                        preferred_desc_.end());
}

BatchDecision BatchPlanner::Decide(const QueueSnapshot& queue, int64_t now_ns) const {
  BatchDecision d;
  const int max_batch = config_.max_batch_size;
  if (queue.queued <= 0) return d;  // kIdle

  auto dispatch = [&d](int size, BatchReason reason) {
    d.action = BatchAction::kDispatch;
    d.reason = reason;
    d.batch_size = size;
    return d;
  };
  // A full batch cannot get better by waiting, whatever the policy.
  if (queue.queued >= max_batch) return dispatch(max_batch, BatchReason::kFull);
  // Shutting down: the remaining requests should finish, not wait for company.
  if (queue.draining) return dispatch(queue.queued, BatchReason::kDrain);
  // Triton never holds back a batch of a preferred size; the largest one that
  // the queue can fill wins (preferred_desc_ is sorted descending).
  for (int size : preferred_desc_) {
    if (size <= queue.queued) return dispatch(size, BatchReason::kPreferred);
  }
  const int64_t window_end_ns = queue.oldest_enqueue_ns + config_.max_queue_delay_us * 1000;
  if (now_ns >= window_end_ns) return dispatch(queue.queued, BatchReason::kQueueDelay);

  if (config_.policy == BatchPolicy::kFixed) {
    d.action = BatchAction::kWait;
    d.reason = BatchReason::kWindow;
    d.wake_at_ns = window_end_ns;
    d.target_size = max_batch;
    return d;
  }
  const AdaptivePlan plan = PlanAdaptiveWait(queue.queued, now_ns, window_end_ns - now_ns);
  if (plan.wait_ns <= 0) return dispatch(queue.queued, BatchReason::kAdaptiveNow);
  d.action = BatchAction::kWait;
  d.reason = BatchReason::kAdaptiveWait;
  // The plan's wait is capped by the window already; min() keeps that true
  // even if rounding pushed it a nanosecond over.
  d.wake_at_ns = std::min(now_ns + plan.wait_ns, window_end_ns);
  d.target_size = plan.target_size;
  return d;
}

AdaptivePlan BatchPlanner::PlanAdaptiveWait(int queued, int64_t now_ns, int64_t max_wait_ns) const {
  AdaptivePlan best;
  best.target_size = queued;
  const double rate_per_us = ArrivalRatePerUs(now_ns);
  // Without a curve or an arrival rate there is nothing to predict from, and
  // the safe default for an idle instance is to start at once.
  if (!curve_.HasData() || rate_per_us <= 0 || max_wait_ns <= 0 || queued <= 0) return best;

  // Model (docs/batching.md, "adaptive policy"): compare, for the n queued
  // requests plus the k = b - n expected to arrive within w = k / rate,
  //   now:  dispatch n at once (done at L(n)); the k arrivals form the next
  //         batch, which starts when both they and the instance are there,
  //         at max(L(n), w), and ends L(k) later;
  //   wait: dispatch all b at w, done at w + L(b).
  // Summed latencies (arrival offsets, identical in both, cancel):
  //   S_now  = n L(n) + k (max(L(n), w) + L(k))
  //   S_wait = b (w + L(b))
  // Waiting pays off when S_now - S_wait > 0. We pick the target b with the
  // largest cut in mean latency, (S_now - S_wait) / b.
  const int n = queued;
  const double l_now = curve_.LatencyUs(n);
  const double max_wait_us = max_wait_ns / 1000.0;
  for (int b = n + 1; b <= config_.max_batch_size; ++b) {
    const int k = b - n;
    const double w = k / rate_per_us;
    if (w > max_wait_us) break;  // later targets need even longer waits.
    const double s_now = n * l_now + k * (std::max(l_now, w) + curve_.LatencyUs(k));
    const double s_wait = b * (w + curve_.LatencyUs(b));
    const double mean_gain = (s_now - s_wait) / b;
    if (mean_gain <= best.mean_gain_us) continue;
    // Mean latency of the same b requests when dispatching now, including the
    // arrivals' own wait for the second batch: S_now minus their arrival
    // offsets (on average w / 2 each).
    const double mean_now = (s_now - k * w / 2) / b;
    best.mean_gain_us = mean_gain;
    best.gain_fraction = mean_now > 0 ? mean_gain / mean_now : 0;
    best.target_size = b;
    best.wait_ns = std::llround(w * 1000.0);
  }
  if (best.mean_gain_us <= 0 || best.gain_fraction < config_.adaptive_min_gain) {
    best.wait_ns = 0;
    best.target_size = n;
  }
  best.wait_ns = std::min(best.wait_ns, max_wait_ns);
  return best;
}

void BatchPlanner::RecordArrival(int64_t now_ns) {
  if (has_arrival_) {
    const double gap = static_cast<double>(std::max<int64_t>(0, now_ns - last_arrival_ns_));
    const double alpha = config_.arrival_ewma_alpha;
    ewma_gap_ns_ = has_gap_ ? alpha * gap + (1 - alpha) * ewma_gap_ns_ : gap;
    has_gap_ = true;
  }
  has_arrival_ = true;
  last_arrival_ns_ = std::max(last_arrival_ns_, now_ns);
}

void BatchPlanner::RecordBatchLatency(int batch_size, double latency_us) {
  curve_.Record(batch_size, latency_us);
}

double BatchPlanner::ArrivalRatePerUs(int64_t now_ns) const {
  if (!has_gap_) return 0;
  const double since_last = static_cast<double>(now_ns - last_arrival_ns_);
  // A burst can make the EWMA gap 0; one nanosecond keeps the rate finite.
  const double gap_ns = std::max({ewma_gap_ns_, since_last, 1.0});
  return 1000.0 / gap_ns;
}

}  // namespace yoloscope
