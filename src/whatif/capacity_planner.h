// CapacityPlanner: `yoloscope plan` -- searches settings (max batch size x
// batching window x instances, one per device) on the what-if model and recommends the
// cheapest one that meets a p99 goal.
//
// A candidate meets the goal when its predicted p99 of served requests is
// <= slo_p99_ms and its predicted rejection rate is <= max_rejection_rate.
// "Cheapest" = fewest instances; among those, a prediction that needs no
// extrapolation beats one that does, then the lower p99 wins (then the
// smaller batch, then the shorter window: the setting closest to "no
// batching" that already meets the goal). Candidates the log cannot
// predict are listed with the reason, never recommended.
//
// Thread-safety: Plan is a pure function of the engine and the config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "whatif/what_if_engine.h"

namespace yoloscope {

struct PlanConfig {
  double slo_p99_ms = 0;             // > 0
  double max_rejection_rate = 0.001;  // in [0, 1)
  // >= 1; instances tried: 1 .. max_instances, each on its own device
  // (instances sharing one device add no device capacity).
  int max_instances = 4;
  // Max batch sizes tried; empty = 1, 2, 4, ... up to 2x the largest logged
  // batch (at least 8, at most 64), plus the logged one.
  std::vector<int> max_batch_sizes;
  // Windows tried (us); empty = 0, 500, 1000, 2000, 5000, 10000, 20000 plus
  // the logged one.
  std::vector<int64_t> windows_us;
  // Every other field (queue size, workers, policy, rate) comes from here.
  WhatIfSetting base;
};

struct PlanCandidate {
  WhatIfSetting setting;
  std::optional<Prediction> prediction;  // empty when it cannot be predicted
  std::string error;                     // why not
  bool meets = false;
};

struct PlanResult {
  std::vector<PlanCandidate> candidates;  // search order
  std::optional<size_t> recommended;      // index into candidates
};

class CapacityPlanner {
 public:
  // InvalidArgument for a bad config.
  static StatusOr<PlanResult> Plan(const WhatIfEngine& engine, const PlanConfig& config);
};

}  // namespace yoloscope
