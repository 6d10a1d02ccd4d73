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
// same seed for device-time draws, so comparisons are like for like.
//
// Thread-safety: Predict is const and may run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "whatif/arrival_replay.h"
#include "whatif/batch_latency_fit.h"
#include "whatif/pipeline_simulator.h"
#include "whatif/profile_builder.h"
#include "whatif/what_if_setting.h"

namespace yoloscope {

struct Prediction {
  WhatIfSetting setting;
  double rate_scale = 1;  // the effective scale (rate_per_s resolved)
  SimulationResult result;
  bool extrapolated = false;
  std::vector<std::string> assumptions;  // one line per extrapolation / estimate
};

class WhatIfEngine {
 public:
  // FailedPrecondition "cannot predict: needs ..." for a profile the model
  // cannot use (see BatchLatencyFit, ArrivalReplay).
  static StatusOr<std::unique_ptr<WhatIfEngine>> Create(PipelineProfile profile, uint64_t seed = 1);

  // InvalidArgument for an invalid setting; FailedPrecondition "cannot
  // predict: ..." when the setting needs what the log cannot give.
  StatusOr<Prediction> Predict(const WhatIfSetting& setting) const;

  const PipelineProfile& profile() const { return profile_; }
  const BatchLatencyFit& curve() const { return curve_; }
  const ArrivalReplay& arrivals() const { return arrivals_; }
  // The devices the log shows: its distinct gpu_id, else (a CPU backend,
  // or not logged) one per logged instance; at least 1.
  int logged_devices() const;

 private:
  WhatIfEngine(PipelineProfile profile, BatchLatencyFit curve, ArrivalReplay arrivals,
               uint64_t seed);

  PipelineProfile profile_;
  BatchLatencyFit curve_;
  ArrivalReplay arrivals_;
  uint64_t seed_;
  // Per request (arrival order): its own or a drawn service time, ns.
  std::vector<int64_t> pre_ns_, post_ns_, other_ns_;
};

}  // namespace yoloscope
