#include "telemetry/telemetry_sampler.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace yoloscope {
namespace {

bool SameDevice(const DeviceSample& a, const DeviceSample& b) {
  if (a.gpu_id.has_value() || b.gpu_id.has_value()) return a.gpu_id == b.gpu_id;
  return a.device == b.device;
}

}  // namespace

TelemetrySampler::TelemetrySampler(const TelemetrySamplerConfig& config, Clock* clock,
                                   std::unique_ptr<TelemetrySource> source, Sink sink)
    : config_(config),
      clock_(clock),
      source_(std::move(source)),
      sink_(std::move(sink)),
      latest_(std::make_shared<const std::vector<DeviceSample>>()) {}

StatusOr<std::unique_ptr<TelemetrySampler>> TelemetrySampler::Create(
    const TelemetrySamplerConfig& config, Clock* clock, std::unique_ptr<TelemetrySource> source,
    Sink sink) {
  if (clock == nullptr) return InvalidArgumentError("telemetry sampler: no clock");
  if (source == nullptr) return InvalidArgumentError("telemetry sampler: no source");
  if (config.period_ms <= 0) {
    return InvalidArgumentError("telemetry period must be > 0 ms (got " +
                                std::to_string(config.period_ms) + ")");
  }
  if (config.max_wait_ms <= 0) {
    return InvalidArgumentError("telemetry max_wait_ms must be > 0");
  }
  return std::unique_ptr<TelemetrySampler>(
      new TelemetrySampler(config, clock, std::move(source), std::move(sink)));
}

TelemetrySampler::~TelemetrySampler() { Stop(); }

Status TelemetrySampler::Start() {
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) return FailedPreconditionError("telemetry sampler already running");
  stop_ = false;
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void TelemetrySampler::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stop_ = true;
    t = std::move(thread_);
  }
  stop_cv_.notify_all();
  if (t.joinable()) t.join();
  running_.store(false, std::memory_order_release);
}

void TelemetrySampler::Loop() {
  const int64_t period_ns = config_.period_ms * 1'000'000;
  const int64_t max_wait_ns = config_.max_wait_ms * 1'000'000;
  int64_t next_ns = clock_->NowNs();
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(thread_mu_);
      if (stop_) return;
    }
    int64_t now = clock_->NowNs();
    if (now >= next_ns) {
      (void)RunRound();  // errors are counted and kept in last_error_.
      next_ns += period_ns;
      if (next_ns <= now) next_ns = now + period_ns;  // late: skip missed slots.
      continue;
    }
    int64_t wait_ns = std::min(next_ns - now, max_wait_ns);
    std::unique_lock<std::mutex> lock(thread_mu_);
    stop_cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns), [this] { return stop_; });
  }
}

Status TelemetrySampler::SampleNow() { return RunRound(); }

Status TelemetrySampler::RunRound() {
  std::lock_guard<std::mutex> lock(round_mu_);
  auto samples = source_->Sample();
  if (!samples.ok()) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    last_error_ = samples.status();
    return samples.status();
  }
  int64_t ts_us = clock_->WallNowUs();
  for (DeviceSample& s : *samples) s.ts_us = ts_us;

  // Merge into a new immutable snapshot: replace each device's entry, keep
  // devices this round did not report.
  auto merged = std::make_shared<std::vector<DeviceSample>>(*LatestSnapshot());
  for (const DeviceSample& s : *samples) {
    auto it = std::find_if(merged->begin(), merged->end(),
                           [&](const DeviceSample& old) { return SameDevice(old, s); });
    if (it != merged->end()) {
      *it = s;
    } else {
      merged->push_back(s);
    }
  }
  {
    std::lock_guard<std::mutex> latest_lock(latest_mu_);
    latest_ = std::move(merged);
  }
  rounds_.fetch_add(1, std::memory_order_relaxed);
  if (sink_) {
    for (const DeviceSample& s : *samples) sink_(s);
  }
  return Status::Ok();
}

std::shared_ptr<const std::vector<DeviceSample>> TelemetrySampler::LatestSnapshot() const {
  std::lock_guard<std::mutex> lock(latest_mu_);
  return latest_;
}

std::vector<DeviceSample> TelemetrySampler::Latest() const { return *LatestSnapshot(); }

std::optional<DeviceSample> TelemetrySampler::LatestFor(std::optional<int64_t> gpu_id) const {
  auto snap = LatestSnapshot();
  for (const DeviceSample& s : *snap) {
    if (s.gpu_id == gpu_id) return s;
  }
  return std::nullopt;
}

Status TelemetrySampler::last_error() const {
  std::lock_guard<std::mutex> lock(round_mu_);
  return last_error_;
}

}  // namespace yoloscope
