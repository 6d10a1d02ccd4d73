// WhatIfEngine: predicts how the logged traffic would be served under
// another setting. Built once from a PipelineProfile (the curve fit, the
// arrival replay, each request's service times), then Predict(setting)
// runs the discrete-event model (PipelineSimulator) and says which parts of
// the answer are extrapolated, with the assumption used:
//   - batch sizes above (or below) every observed size: the fitted curve
//     continued linearly (BatchLatencyFit);
//   - a rate scale > 1: arrivals faster than anything in the log, assuming
//     service times do not change with load;
//   - more devices than the log shows: each added device runs batches at
//     the logged speed;
//   - more instances than the log shows on the same devices: they take
//     turns on the device; only their host work per batch overlaps.
// Every setting sees the same requests with the same service times, and the
// same seeds for device-time draws, so comparisons are like for like.
//
// Replays: the model draws each batch's device time and host work from the
// logged spread, so one replay carries the luck of its draws: in a short log
// a host stall of 20-30 ms, drawn twice instead of once, moves the p99 by
// 20-30 %. A prediction is therefore the median, figure by figure, of
// several replays with different seeds (DefaultReplays: 7 for logs of up to
// 20,000 requests, fewer above, one from 140,000 on, where one replay
// already holds many draws of every rare event).
//
// Thread-safety: Predict is const and may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "whatif/arrival_replay.h"
#include "whatif/batch_latency_fit.h"
#include "whatif/pipeline_simulator.h"
#include "whatif/profile_builder.h"
#include "whatif/what_if_setting.h"

namespace yoloscope {

// How much the prediction moves when every batch's device time and host
// work is 1 % longer (the same replays, the same seeds). Near capacity a
// queue's waiting time grows as 1 / (1 - load), so a 1 % error in the mean
// service time -- about what two runs of one server differ by on a busy
// host (docs/what-if.md, "Sensitivity") -- can move the latency by tens of
// percent; then the prediction is a range, not a number.
struct Sensitivity {
  double service_pct = 1;                               // the service-time change tried, %
  // The prediction's change, %.
  double p50_pct = 0, mean_pct = 0, p99_pct = 0, throughput_pct = 0;
  // |p50_pct| or |mean_pct| >= kSensitivePct: a 1 % error in the service
  // times alone would break the lab's p50 goal (within 10 %). Not the p99:
  // in a short log it is one of a few slowest requests, and one batching
  // decision that flips under the 1 % moves it (a light-load lab log of 600
  // requests: p50 +1 %, p99 +23 %) without any queue near capacity.
  bool sensitive = false;
  // When sensitive: p50 and p99 (ms) with service 1 % faster to 1 % slower,
  // lowest first; {0, 0} otherwise.
  std::array<double, 2> p50_range_ms{}, p99_range_ms{};
};
inline constexpr double kSensitivePct = 10;

struct Prediction {
  WhatIfSetting setting;
  double rate_scale = 1;  // the effective scale (rate_per_s resolved)
  SimulationResult result;
  bool extrapolated = false;
  std::vector<std::string> assumptions;  // one line per extrapolation / estimate
  // Seeded replays behind `result`: its percentiles, rates, means and counts
  // are their medians; smallest/largest_batch the extremes over all of them
  // (so a batch size formed in any replay is flagged); batch_trace is empty.
  int replays = 1;
  // Set when Predict was asked for it (PredictOptions::sensitivity).
  std::optional<Sensitivity> sensitivity;
};

struct PredictOptions {
  // Also replay with 1 % slower service (doubles the work) and fill
  // Prediction::sensitivity; a sensitive prediction gets an assumption line.
  bool sensitivity = true;
};

class WhatIfEngine {
 public:
  // FailedPrecondition "cannot predict: needs ..." for a profile the model
  // cannot use (see BatchLatencyFit, ArrivalReplay).
  // `replays`: seeded replays per prediction, >= 1; 0 = DefaultReplays.
  static StatusOr<std::unique_ptr<WhatIfEngine>> Create(PipelineProfile profile, uint64_t seed = 1,
                                                        int replays = 0);

  // 7 up to 20,000 requests, then the odd number nearest below
  // 140,000 / requests, at least 1.
  static int DefaultReplays(size_t requests);

  // InvalidArgument for an invalid setting; FailedPrecondition "cannot
  // predict: ..." when the setting needs what the log cannot give.
  StatusOr<Prediction> Predict(const WhatIfSetting& setting,
                               const PredictOptions& options = PredictOptions()) const;

  const PipelineProfile& profile() const { return profile_; }
  const BatchLatencyFit& curve() const { return curve_; }
  const ArrivalReplay& arrivals() const { return arrivals_; }
  // The devices the log shows: its distinct gpu_id, else (a CPU backend,
  // or not logged) one per logged instance; at least 1.
  int logged_devices() const;
  // Seeded replays per prediction (>= 1).
  int replays() const { return replays_; }

 private:
  WhatIfEngine(PipelineProfile profile, BatchLatencyFit curve, ArrivalReplay arrivals,
               uint64_t seed, int replays);

  PipelineProfile profile_;
  BatchLatencyFit curve_;
  ArrivalReplay arrivals_;
  uint64_t seed_;
  int replays_;  // >= 1
  // Per request (arrival order): its own or a drawn service time, ns.
  std::vector<int64_t> pre_ns_, post_ns_, other_ns_;
  std::vector<int64_t> wake_ns_;  // profile_.wake_us in ns
};

}  // namespace yoloscope
