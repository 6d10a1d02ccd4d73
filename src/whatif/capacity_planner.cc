#include "whatif/capacity_planner.h"

#include <algorithm>
#include <fmt/format.h>
#include <tuple>

namespace yoloscope {

StatusOr<PlanResult> CapacityPlanner::Plan(const WhatIfEngine& engine, const PlanConfig& config) {
  if (!(config.slo_p99_ms > 0)) return InvalidArgumentError("--slo-p99 must be > 0 ms");
  if (!(config.max_rejection_rate >= 0 && config.max_rejection_rate < 1)) {
    return InvalidArgumentError("--max-rejection must be in [0, 100) percent");
  }
  if (config.max_instances < 1 || config.max_instances > 64) {
    return InvalidArgumentError("--max-instances must be in [1, 64]");
  }
  YS_RETURN_IF_ERROR(ValidateWhatIfSetting(config.base));
  std::vector<int> sizes = config.max_batch_sizes;
  if (sizes.empty()) {
    const int limit = std::clamp(2 * engine.curve().largest_observed(), 8, 64);
    for (int b = 1; b <= limit; b *= 2) sizes.push_back(b);
    sizes.push_back(config.base.max_batch_size);
  }
  std::vector<int64_t> windows = config.windows_us;
  if (windows.empty()) {
    windows = {0, 500, 1000, 2000, 5000, 10000, 20000};
    windows.push_back(config.base.max_queue_delay_us);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  std::sort(windows.begin(), windows.end());
  windows.erase(std::unique(windows.begin(), windows.end()), windows.end());

  PlanResult out;
  for (int n = 1; n <= config.max_instances; ++n) {
    for (int b : sizes) {
      // With batches of one the window changes nothing: try it once.
      const std::vector<int64_t> ws = b == 1 ? std::vector<int64_t>{0} : windows;
      for (int64_t w : ws) {
        PlanCandidate c;
        c.setting = config.base;
        c.setting.instances = n;
        c.setting.devices = n;  // each on its own device: what adds capacity
        c.setting.max_batch_size = b;
        c.setting.max_queue_delay_us = w;
        c.setting.label =
            fmt::format("max_batch={},max_queue_delay_us={},instances={},devices={}", b, w, n, n);
        // The sensitivity only for the recommendation (below): it doubles
        // each prediction's work.
        PredictOptions po;
        po.sensitivity = false;
        auto p = engine.Predict(c.setting, po);
        if (!p.ok()) {
          c.error = p.status().message();
        } else {
          c.prediction = std::move(p).value();
          const SimulationResult& r = c.prediction->result;
          c.meets = r.served > 0 && r.p99_ms <= config.slo_p99_ms &&
                    r.rejection_rate <= config.max_rejection_rate;
        }
        out.candidates.push_back(std::move(c));
      }
    }
  }
  auto key = [](const PlanCandidate& c) {
    return std::make_tuple(c.setting.instances, c.prediction->extrapolated ? 1 : 0,
                           c.prediction->result.p99_ms, c.setting.max_batch_size,
                           c.setting.max_queue_delay_us);
  };
  for (size_t i = 0; i < out.candidates.size(); ++i) {
    const PlanCandidate& c = out.candidates[i];
    if (!c.meets) continue;
    if (!out.recommended || key(c) < key(out.candidates[*out.recommended])) out.recommended = i;
  }
  if (out.recommended) {
    // Same seeds, so the figures stay those compared above; the sensitivity
    // (and its assumption line) is added.
    PlanCandidate& c = out.candidates[*out.recommended];
    auto p = engine.Predict(c.setting);
    if (p.ok()) c.prediction = std::move(p).value();
  }
  return out;
}

}  // namespace yoloscope
