#include "whatif/what_if_engine.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace yoloscope {
namespace {

// Its own value when logged, else a draw from the samples, else 0.
int64_t OwnOrDrawnNs(double own_ms, const std::vector<double>& samples, std::mt19937_64& rng) {
  double ms = own_ms;
  if (std::isnan(ms)) {
    if (samples.empty()) return 0;
    std::uniform_int_distribution<size_t> pick(0, samples.size() - 1);
    ms = samples[pick(rng)];
  }
  return std::max<int64_t>(0, std::llround(ms * 1e6));
}

std::string SizeRange(int lo, int hi) {
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
}

}  // namespace

WhatIfEngine::WhatIfEngine(PipelineProfile profile, BatchLatencyFit curve, ArrivalReplay arrivals,
                           uint64_t seed)
    : profile_(std::move(profile)),
      curve_(std::move(curve)),
      arrivals_(std::move(arrivals)),
      seed_(seed) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (const ProfiledRequest& q : profile_.requests) {
    pre_ns_.push_back(OwnOrDrawnNs(q.preprocess_ms, profile_.preprocess_ms, rng));
    post_ns_.push_back(OwnOrDrawnNs(q.postprocess_ms, profile_.postprocess_ms, rng));
    other_ns_.push_back(OwnOrDrawnNs(q.other_ms, profile_.other_ms, rng));
  }
}

StatusOr<std::unique_ptr<WhatIfEngine>> WhatIfEngine::Create(PipelineProfile profile,
                                                             uint64_t seed) {
  YS_ASSIGN_OR_RETURN(BatchLatencyFit curve, BatchLatencyFit::Create(profile.device_us));
  curve.SetOverheadUs(profile.overhead_us);
  std::vector<int64_t> times;
  times.reserve(profile.requests.size());
  for (const ProfiledRequest& q : profile.requests) times.push_back(q.arrival_us);
  // Already sorted by the builder, so the order (and each request's
  // service times) is kept.
  YS_ASSIGN_OR_RETURN(ArrivalReplay arrivals, ArrivalReplay::Create(std::move(times)));
  return std::unique_ptr<WhatIfEngine>(
      new WhatIfEngine(std::move(profile), std::move(curve), std::move(arrivals), seed));
}

int WhatIfEngine::logged_devices() const { return profile_.observed.device_count(); }

StatusOr<Prediction> WhatIfEngine::Predict(const WhatIfSetting& setting) const {
  YS_RETURN_IF_ERROR(ValidateWhatIfSetting(setting));
  Prediction p;
  p.setting = setting;
  const double mean_rate = arrivals_.MeanRatePerS();
  p.rate_scale = setting.rate_per_s > 0 ? setting.rate_per_s / mean_rate : setting.rate_scale;

  const std::vector<int64_t> arrival_ns = arrivals_.ScaledNs(p.rate_scale);
  std::vector<SimulatedRequest> requests(arrival_ns.size());
  for (size_t i = 0; i < arrival_ns.size(); ++i) {
    requests[i] = SimulatedRequest{arrival_ns[i], pre_ns_[i], post_ns_[i], other_ns_[i]};
  }
  SimulationConfig config;
  config.batcher = ToBatcherConfig(setting);
  config.instances = setting.instances;
  const int devices = setting.devices > 0 ? setting.devices : logged_devices();
  config.devices = std::min(devices, setting.instances);
  config.preprocess_workers = setting.preprocess_workers;
  config.postprocess_workers = setting.postprocess_workers;
  config.turnaround_ns = std::llround(profile_.turnaround_ms * 1e6);
  config.measure_from_ns = std::llround(
      static_cast<double>(profile_.measure_from_us - profile_.requests.front().arrival_us) * 1000.0 /
      p.rate_scale);
  config.seed = seed_;
  auto result = PipelineSimulator::Run(requests, curve_, config);
  if (!result.ok()) return result.status();
  p.result = std::move(result).value();

  const SimulationResult& r = p.result;
  const int lo = curve_.smallest_observed(), hi = curve_.largest_observed();
  if (r.largest_batch > hi) {
    p.extrapolated = true;
    p.assumptions.push_back(fmt::format(
        "extrapolated: batches of size {} were never logged (largest: {}); their device time "
        "continues the fitted curve linearly, +{:.3f} ms per image beyond {}",
        SizeRange(hi + 1, r.largest_batch), hi, curve_.upper_slope_us() / 1000, hi));
  }
  if (r.smallest_batch > 0 && r.smallest_batch < lo) {
    p.extrapolated = true;
    p.assumptions.push_back(fmt::format(
        "extrapolated: batches of size {} were never logged (smallest: {}); their device time "
        "continues the fitted curve linearly below {} (-{:.3f} ms per image), never under a "
        "constant per-image cost",
        SizeRange(r.smallest_batch, lo - 1), lo, lo, curve_.lower_slope_us() / 1000));
  }
  std::vector<int> interpolated;
  for (int b = std::max(lo, r.smallest_batch); b <= std::min(hi, r.largest_batch); ++b) {
    if (!curve_.IsObserved(b)) interpolated.push_back(b);
  }
  if (!interpolated.empty()) {
    p.assumptions.push_back(fmt::format(
        "interpolated: batch sizes {} were not logged; their median lies on the line between the "
        "logged neighbours",
        fmt::join(interpolated, ", ")));
  }
  const double peak = arrivals_.PeakRatePerS();
  if (p.rate_scale > 1.0 + 1e-9) {
    p.extrapolated = true;
    p.assumptions.push_back(fmt::format(
        "extrapolated: arrivals x{:.3g} (mean {:.1f} req/s, 1 s peak {:.1f}) exceed the highest "
        "rate in the log ({:.1f} req/s over 1 s); assumes device, preprocess and postprocess times "
        "do not change with load",
        p.rate_scale, mean_rate * p.rate_scale, peak * p.rate_scale, peak));
  }
  const int logged_instances = std::max(1, profile_.observed.instances);
  if (config.devices > logged_devices()) {
    p.extrapolated = true;
    p.assumptions.push_back(fmt::format(
        "extrapolated: {} devices, the log shows {}; each added device is assumed to run batches "
        "at the logged speed",
        config.devices, logged_devices()));
  }
  if (setting.instances > logged_instances && setting.instances > config.devices) {
    p.extrapolated = true;
    const std::string host_work =
        curve_.has_overhead()
            ? fmt::format("{:.2f} ms median, busy_ms minus device time",
                          curve_.median_overhead_us() / 1000)
            : fmt::format("the log has no busy_ms: {:.2f} ms, the turnaround estimate",
                          profile_.turnaround_ms);
    p.assumptions.push_back(fmt::format(
        "extrapolated: {} instances on {} device(s), the log shows {}; instances on one device "
        "run their batches one at a time on it, and only their host work per batch overlaps "
        "({}); a GPU that overlaps two instances' kernels or copies does better",
        setting.instances, config.devices, logged_instances, host_work));
  }
  return p;
}

}  // namespace yoloscope
