// PipelineSimulator: a discrete-event model of yoloscope's serving pipeline
// (InferenceService, docs/ARCHITECTURE.md "Life of a request in serve"):
//
//   arrival -> admission -> preprocess pool (W_pre workers, FIFO)
//           -> dynamic batcher -> device instances (N, one batch at a time)
//           -> postprocess pool (W_post workers, FIFO) -> completion
//
// - Admission: as InferenceService::Admit, a request is refused (queue_full)
//   when the requests waiting for a preprocess worker plus those in the
//   batcher queue are not admitted by BatchPlanner::Admits (max_queue_size).
// - Batcher: the server's own BatchPlanner (src/batching/) takes every
//   decision -- dispatch now (full, preferred, window expired, adaptive), or
//   wait until a wake time or the next arrival -- and refuses an Enqueue the
//   same way (Admits). As in DynamicBatcher, a batch is only formed when an
//   instance is idle, and a waiting instance decides again at each arrival
//   and at the decision's wake time. Adaptive-policy state is fed exactly as
//   the server feeds it (RecordArrival at Enqueue, RecordBatchLatency when a
//   batch finishes).
// - Devices: instance i runs on device i % devices. A batch of b holds its
//   device for a time drawn from the BatchLatencyFit, starting when the
//   device is free (instances on one device run their batches one at a
//   time on it, as the simulated GPU does and as a saturated GPU does).
//   With the instance's host work per batch logged (the fit's overhead,
//   from busy_ms), the instance is busy for device wait + device time +
//   a drawn overhead, and hands the requests to postprocessing at its end.
//   Without it, the requests go on at the end of the device time and the
//   instance asks for its next batch `turnaround_ns` later.
// - Wake-up: with wake_ns samples, an instance that is waiting (idle, the
//   queue empty or its window open) takes a decision only a drawn latency
//   after what would wake it -- an enqueue, or its window's end -- as the
//   real instance thread wakes from its condition variable late; requests
//   that arrive meanwhile can still join the batch. An instance that has
//   just finished a batch decides at once (its thread is running).
// - Latency of a served request = its completion (end of postprocessing)
//   plus its `other_ns` (work outside the modelled stages) minus its arrival.
// Not modelled: deadlines/timeouts, priorities, CPU contention between the
// pools and the device (beyond what the logged times and wake-ups carry),
// failures.
//
// Thread-safety: Run is a pure function of its inputs (seeded).
#pragma once

#include <cstdint>
#include <vector>

#include "batching/batch_planner.h"
#include "batching/batcher_config.h"
#include "common/status.h"
#include "whatif/batch_latency_fit.h"

namespace yoloscope {

// One offered request. Times in nanoseconds; arrivals ascending.
struct SimulatedRequest {
  int64_t arrival_ns = 0;
  int64_t preprocess_ns = 0;   // decode + letterbox on a preprocess worker
  int64_t postprocess_ns = 0;  // YOLO decode + NMS on a postprocess worker
  int64_t other_ns = 0;        // unmodelled time added to the latency (HTTP, ...)
};

struct SimulationConfig {
  BatcherConfig batcher;  // must be valid (ValidateBatcherConfig)
  int instances = 1;      // >= 1
  int devices = 1;        // >= 1, <= instances; instance i runs on device i % devices
  int preprocess_workers = 2;   // >= 1
  int postprocess_workers = 1;  // >= 1
  int64_t turnaround_ns = 0;    // >= 0: per batch, instance busy after the device time
                                // (used only when the fit has no overhead samples)
  // Results count only requests arriving at or after this time (earlier
  // ones are simulated, so the queue state at the window's start is right):
  // a warm-up excluded from the measurement.
  int64_t measure_from_ns = 0;
  uint64_t seed = 1;            // device-time draws
  // Multiplies every batch's drawn device time and host work (and the
  // turnaround): > 0. 1.01 asks what 1 % slower service would do
  // (WhatIfEngine's sensitivity).
  double service_scale = 1.0;
  bool record_batches = false;  // fill SimulationResult::batches
  // Wake-up latencies of a waiting instance, ns >= 0, drawn uniformly
  // (PipelineProfile::wake_us); empty = it decides at once. Not scaled by
  // service_scale. Drawn from their own stream (seeded from `seed`), so the
  // device-time draws stay those of a run without them.
  std::vector<int64_t> wake_ns;
};

struct SimulatedBatch {
  int64_t dispatch_ns = 0;
  int size = 0;
  BatchReason reason = BatchReason::kNone;
  int instance = 0;
  int64_t service_ns = 0;       // device time
  int64_t device_start_ns = 0;  // >= dispatch_ns: when its device was free
  int64_t overhead_ns = 0;      // the instance's host work for it
};

// Counts, percentiles and rates cover the requests arriving at or after
// measure_from_ns (batches: those dispatched then); smallest/largest_batch
// cover every batch.
struct SimulationResult {
  int64_t offered = 0, served = 0, rejected = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0;  // served requests
  // Served latency at DistributionQuantiles() (whatif/quantile.h), ms;
  // empty when none was served.
  std::vector<double> distribution_ms;
  double span_s = 0;             // first measured arrival to last completion (or arrival)
  double throughput_per_s = 0;   // served / span
  double rejection_rate = 0;     // rejected / offered
  double device_busy_fraction = 0;  // device time / (devices x span)
  double mean_batch_size = 0;       // over batches
  double mean_queue_length = 0;     // waiting requests seen by each arrival (log's queue_len)
  int64_t batches = 0;
  int smallest_batch = 0, largest_batch = 0;
  std::vector<SimulatedBatch> batch_trace;  // when record_batches
};

class PipelineSimulator {
 public:
  // InvalidArgument for a bad config or unsorted arrivals; FailedPrecondition
  // "cannot predict: ..." when a batch size is formed that `curve` cannot
  // estimate (a log with a single batch size).
  static StatusOr<SimulationResult> Run(const std::vector<SimulatedRequest>& requests,
                                        const BatchLatencyFit& curve,
                                        const SimulationConfig& config);
};

}  // namespace yoloscope
