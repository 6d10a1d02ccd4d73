// BatchQueueModel: the queueing model behind `bench --engine`'s batching
// recommendation. It predicts throughput and latency percentiles of a
// server configuration (instances, max_batch_size, max_queue_delay_us) at
// an arrival rate by simulating it, event by event, on a measured curve:
//
// - Arrivals: Poisson at `arrival_rate` (seeded: every configuration sees
//   the same arrivals, so comparisons are fair).
// - Queue: one FIFO shared by all instances (the dynamic batcher).
// - Batching, as the fixed policy of DynamicBatcher / Triton: when an
//   instance is free and requests wait, a full batch (max_batch_size) goes
//   at once; otherwise, with max_queue_delay_us = 0 whatever is queued goes
//   at once, and with a delay the batch goes when the oldest request has
//   waited max_queue_delay_us or the batch is full, whichever is first.
// - Service: a batch of b takes a random time whose median is the curve's
//   latency at b and whose 99th percentile is the curve's p99 at b (a
//   log-normal); sizes between measured ones are linearly interpolated,
//   sizes beyond the largest extrapolated with the last segment's slope.
// - Instances run independently at the curve's speed (true for one
//   instance per device or per core set, optimistic for several instances
//   sharing one device).
// Latency = completion - arrival (queueing + batch wait + execution);
// pre-/post-processing and HTTP are not included.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>

#include "bench/engine_curve.h"

namespace yoloscope {

struct BatchQueueConfig {
  int instances = 1;               // >= 1
  int max_batch_size = 1;          // >= 1
  int64_t max_queue_delay_us = 0;  // >= 0
  double arrival_rate = 100;       // requests per second, > 0
  int num_requests = 0;            // 0 = 20 s of arrivals, clamped to [5000, 50000]
  uint64_t seed = 1;
};

struct BatchQueuePrediction {
  double throughput = 0;  // completed requests per second over the run
  double mean_ms = 0, p50_ms = 0, p99_ms = 0;
  double mean_batch_size = 0;
  double utilization = 0;  // busy fraction of the instances
  // False when the configuration cannot keep up (the queue grows without
  // bound: served throughput < 97% of the arrival rate).
  bool stable = false;
};

class BatchQueueModel {
 public:
  // `curve` must have at least one point.
  static BatchQueuePrediction Simulate(const EngineCurve& curve, const BatchQueueConfig& config);

  // Median and p99 batch latency at batch size b by the interpolation above.
  static double MedianMs(const EngineCurve& curve, int b);
  static double P99Ms(const EngineCurve& curve, int b);
};

}  // namespace yoloscope
