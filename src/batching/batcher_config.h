// BatcherConfig: the settings of a DynamicBatcher, plain data with documented
// defaults, plus the small enums shared by the batching classes. See
// docs/batching.md for the semantics of each field.
//
// Units: every duration is in microseconds (suffix _us), as in Triton's
// model configuration; the batcher converts to the Clock's nanoseconds.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

// How a partial batch (fewer than max_batch_size queued, no preferred size
// reachable) is timed.
enum class BatchPolicy {
  // Triton's dynamic batcher: wait until the oldest request has waited
  // max_queue_delay_us, then dispatch what is queued.
  kFixed,
  // Dispatch at once when an instance asks, unless the live batch-latency
  // curve and the arrival rate predict that waiting lowers mean latency; never
  // waits beyond max_queue_delay_us from the oldest request.
  kAdaptive,
};

// "fixed" / "adaptive".
std::string_view BatchPolicyName(BatchPolicy policy);
// Inverse of BatchPolicyName; InvalidArgument for anything else.
StatusOr<BatchPolicy> ParseBatchPolicy(std::string_view name);

// Two priority levels: every queued kHigh request is batched before any
// kNormal one; FIFO within a level.
enum class Priority : int { kHigh = 0, kNormal = 1 };
inline constexpr int kNumPriorities = 2;

struct BatcherConfig {
  // Largest batch handed to a model instance. Must be >= 1.
  int max_batch_size = 8;
  // Longest time the oldest queued request waits for a batch to fill before a
  // partial batch is dispatched. 0 = never wait. Must be >= 0.
  int64_t max_queue_delay_us = 10'000;
  // Batch sizes dispatched at once as soon as they can be formed (the largest
  // one available wins). Each must be in [1, max_batch_size]; order and
  // duplicates do not matter.
  std::vector<int> preferred_batch_sizes;
  // Requests queued (both priorities together) beyond which Enqueue fails
  // with ResourceExhausted. Must be >= 1.
  int max_queue_size = 256;
  // Deadline given to a request enqueued without one, counted from Enqueue.
  // 0 = no deadline. Must be >= 0.
  int64_t default_timeout_us = 0;
  BatchPolicy policy = BatchPolicy::kFixed;

  // --- adaptive policy only ---
  // Seed of the batch-latency curve: entry i is the execution latency of a
  // batch of size i + 1 in microseconds; 0 = unknown. May be shorter than
  // max_batch_size; live measurements (RecordBatchLatency) replace it.
  std::vector<double> latency_curve_us;
  // Weight of a new latency sample in the per-size EWMA, in (0, 1].
  double latency_ewma_alpha = 0.2;
  // Weight of a new inter-arrival gap in the arrival-rate EWMA, in (0, 1].
  double arrival_ewma_alpha = 0.1;
  // Wait only when it is predicted to cut the mean latency of the requests
  // involved by at least this fraction (0.05 = 5%); guards against waiting on
  // noise. Must be in [0, 1).
  double adaptive_min_gain = 0.05;
};

// OK, or InvalidArgument naming the first bad field.
Status ValidateBatcherConfig(const BatcherConfig& config);

}  // namespace yoloscope
