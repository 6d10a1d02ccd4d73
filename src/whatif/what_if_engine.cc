#include "whatif/what_if_engine.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "whatif/quantile.h"

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

// Figure by figure, the median over the replays (see the header).
SimulationResult MedianOfReplays(const std::vector<SimulationResult>& runs) {
  SimulationResult m;
  std::vector<double> v(runs.size());
  auto median = [&](auto field) {
    for (size_t i = 0; i < runs.size(); ++i) v[i] = static_cast<double>(runs[i].*field);
    std::sort(v.begin(), v.end());
    return QuantileOfSorted(v, 0.5);
  };
  for (auto f :
       {&SimulationResult::p50_ms, &SimulationResult::p90_ms, &SimulationResult::p99_ms,
        &SimulationResult::mean_ms, &SimulationResult::span_s, &SimulationResult::throughput_per_s,
        &SimulationResult::rejection_rate, &SimulationResult::device_busy_fraction,
        &SimulationResult::mean_batch_size, &SimulationResult::mean_queue_length}) {
    m.*f = median(f);
  }
  for (auto f : {&SimulationResult::offered, &SimulationResult::served, &SimulationResult::rejected,
                 &SimulationResult::batches}) {
    m.*f = std::llround(median(f));
  }
  // The distribution point by point (each replay's is ascending, and so is
  // the point-wise median).
  const size_t points = runs.front().distribution_ms.size();
  bool same_size = true;
  for (const SimulationResult& r : runs)
    same_size = same_size && r.distribution_ms.size() == points;
  if (same_size) {
    for (size_t k = 0; k < points; ++k) {
      for (size_t i = 0; i < runs.size(); ++i) v[i] = runs[i].distribution_ms[k];
      std::sort(v.begin(), v.end());
      m.distribution_ms.push_back(QuantileOfSorted(v, 0.5));
    }
  }
  m.smallest_batch = runs.front().smallest_batch;
  m.largest_batch = runs.front().largest_batch;
  for (const SimulationResult& r : runs) {
    if (r.smallest_batch > 0 && (m.smallest_batch == 0 || r.smallest_batch < m.smallest_batch)) {
      m.smallest_batch = r.smallest_batch;
    }
    m.largest_batch = std::max(m.largest_batch, r.largest_batch);
  }
  return m;
}

std::string SizeRange(int lo, int hi) {
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
}

}  // namespace

WhatIfEngine::WhatIfEngine(PipelineProfile profile, BatchLatencyFit curve, ArrivalReplay arrivals,
                           uint64_t seed, int replays)
    : profile_(std::move(profile)),
      curve_(std::move(curve)),
      arrivals_(std::move(arrivals)),
      seed_(seed),
      replays_(replays > 0 ? replays : DefaultReplays(profile_.requests.size())) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (const ProfiledRequest& q : profile_.requests) {
    pre_ns_.push_back(OwnOrDrawnNs(q.preprocess_ms, profile_.preprocess_ms, rng));
    post_ns_.push_back(OwnOrDrawnNs(q.postprocess_ms, profile_.postprocess_ms, rng));
    other_ns_.push_back(OwnOrDrawnNs(q.other_ms, profile_.other_ms, rng));
  }
  for (double w : profile_.wake_us) {
    wake_ns_.push_back(std::max<int64_t>(0, std::llround(w * 1000)));
  }
}

int WhatIfEngine::DefaultReplays(size_t requests) {
  constexpr size_t kAll = 20'000, kBudget = 140'000;
  if (requests <= kAll) return 7;
  int n = static_cast<int>(kBudget / requests);
  if (n % 2 == 0) --n;  // odd: the median is one replay's figure.
  return std::max(1, n);
}

StatusOr<std::unique_ptr<WhatIfEngine>> WhatIfEngine::Create(PipelineProfile profile, uint64_t seed,
                                                             int replays) {
  if (replays < 0) return InvalidArgumentError("replays must be >= 0");
  YS_ASSIGN_OR_RETURN(BatchLatencyFit curve, BatchLatencyFit::Create(profile.device_us));
  curve.SetOverheadUs(profile.overhead_us);
  std::vector<int64_t> times;
  times.reserve(profile.requests.size());
  for (const ProfiledRequest& q : profile.requests) times.push_back(q.arrival_us);
  // Already sorted by the builder, so the order (and each request's
  // service times) is kept.
  YS_ASSIGN_OR_RETURN(ArrivalReplay arrivals, ArrivalReplay::Create(std::move(times)));
  return std::unique_ptr<WhatIfEngine>(
      new WhatIfEngine(std::move(profile), std::move(curve), std::move(arrivals), seed, replays));
}

int WhatIfEngine::logged_devices() const { return profile_.observed.device_count(); }

StatusOr<Prediction> WhatIfEngine::Predict(const WhatIfSetting& setting,
                                           const PredictOptions& options) const {
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
  config.wake_ns = wake_ns_;
  config.measure_from_ns = std::llround(
      static_cast<double>(profile_.measure_from_us - profile_.requests.front().arrival_us) * 1000.0 /
      p.rate_scale);
  std::string sensitive_note;  // the last assumption line, when sensitive
  auto replay = [&](double service_scale) -> StatusOr<SimulationResult> {
    config.service_scale = service_scale;
    std::vector<SimulationResult> runs;
    runs.reserve(static_cast<size_t>(replays_));
    for (int i = 0; i < replays_; ++i) {
      // The first replay keeps the engine's seed, so one replay is what a
      // single-replay engine predicts.
      config.seed = seed_ + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ULL;
      auto result = PipelineSimulator::Run(requests, curve_, config);
      if (!result.ok()) return result.status();
      runs.push_back(std::move(result).value());
    }
    return MedianOfReplays(runs);
  };
  YS_ASSIGN_OR_RETURN(p.result, replay(1.0));
  p.replays = replays_;
  if (options.sensitivity) {
    Sensitivity sens;
    YS_ASSIGN_OR_RETURN(SimulationResult slower, replay(1.0 + sens.service_pct / 100));
    auto pct = [](double now, double then) { return then > 0 ? 100 * (now / then - 1) : 0.0; };
    sens.p50_pct = pct(slower.p50_ms, p.result.p50_ms);
    sens.mean_pct = pct(slower.mean_ms, p.result.mean_ms);
    sens.p99_pct = pct(slower.p99_ms, p.result.p99_ms);
    sens.throughput_pct = pct(slower.throughput_per_s, p.result.throughput_per_s);
    sens.sensitive = p.result.served > 0 && (std::fabs(sens.p50_pct) >= kSensitivePct ||
                                             std::fabs(sens.mean_pct) >= kSensitivePct);
    if (sens.sensitive) {
      // The range: service 1 % faster to 1 % slower.
      YS_ASSIGN_OR_RETURN(SimulationResult faster, replay(1.0 - sens.service_pct / 100));
      sens.p50_range_ms = {std::min(faster.p50_ms, slower.p50_ms),
                           std::max(faster.p50_ms, slower.p50_ms)};
      sens.p99_range_ms = {std::min(faster.p99_ms, slower.p99_ms),
                           std::max(faster.p99_ms, slower.p99_ms)};
      sensitive_note = fmt::format(
          "sensitive: near capacity, 1 % longer device time and host work per batch moves p50 by "
          "{:+.0f} %, the mean by {:+.0f} % and p99 by {:+.0f} %; two runs of one server can "
          "differ by that much in their service times, so read these latencies as a range: with "
          "service 1 % faster to 1 % slower, p50 {:.1f}-{:.1f} ms, p99 {:.1f}-{:.1f} ms",
          sens.p50_pct, sens.mean_pct, sens.p99_pct, sens.p50_range_ms[0], sens.p50_range_ms[1],
          sens.p99_range_ms[0], sens.p99_range_ms[1]);
    }
    p.sensitivity = sens;
  }

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
  if (!sensitive_note.empty()) p.assumptions.push_back(std::move(sensitive_note));
  return p;
}

}  // namespace yoloscope
