#include "bench/engine_profiler.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/measurement_window.h"

namespace yoloscope {

std::optional<double> ProcessPeakRssMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      long long kb = 0;  // NOLINT(runtime/int)
      if (std::sscanf(line.c_str() + 6, "%lld", &kb) == 1) return static_cast<double>(kb) / 1024.0;
    }
  }
  return std::nullopt;
}

bool ResetProcessPeakRss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  bool ok = std::fputs("5", f) >= 0;
  ok = std::fclose(f) == 0 && ok;
  return ok;
}

EngineProfiler::~EngineProfiler() = default;

StatusOr<std::unique_ptr<EngineProfiler>> EngineProfiler::Create(const EngineProfilerConfig& config,
                                                                 Clock* clock,
                                                                 std::unique_ptr<Backend> backend) {
  if (config.batch_sizes.empty()) return InvalidArgumentError("no batch size given");
  for (int b : config.batch_sizes) {
    if (b < 1 || b > 4096) return InvalidArgumentError("batch sizes must be 1..4096");
  }
  if (config.iterations < 0) return InvalidArgumentError("iterations must be >= 0");
  if (config.min_iterations < 1 || config.max_iterations < config.min_iterations) {
    return InvalidArgumentError("need 1 <= min_iterations <= max_iterations");
  }
  if (config.warmup_iterations < 0) return InvalidArgumentError("warm-up iterations must be >= 0");
  std::unique_ptr<EngineProfiler> p(new EngineProfiler());
  p->config_ = config;
  std::sort(p->config_.batch_sizes.begin(), p->config_.batch_sizes.end());
  p->config_.batch_sizes.erase(
      std::unique(p->config_.batch_sizes.begin(), p->config_.batch_sizes.end()),
      p->config_.batch_sizes.end());
  p->config_.backend.max_batch = p->config_.batch_sizes.back();
  if (clock == nullptr) {
    p->owned_clock_ = std::make_unique<RealClock>();
    clock = p->owned_clock_.get();
  }
  p->clock_ = clock;
  if (backend == nullptr) {
    YS_ASSIGN_OR_RETURN(backend, CreateBackend(p->config_.backend));
  }
  p->backend_ = std::move(backend);
  return p;
}

StatusOr<EngineCurve> EngineProfiler::Run(const std::function<void(const CurvePoint&)>& on_point) {
  const ModelInfo& info = backend_->info();
  const int h = info.input_h, w = info.input_w;
  std::vector<int> sizes;
  for (int b : config_.batch_sizes) {
    if (b <= backend_->max_batch()) sizes.push_back(b);
  }
  if (sizes.empty()) return InvalidArgumentError("every batch size exceeds the backend's maximum");
  const size_t per_image = static_cast<size_t>(3) * h * w;
  std::vector<float> input(per_image * static_cast<size_t>(sizes.back()));
  uint32_t x = 2463534242u;  // xorshift32: cheap, deterministic
  for (float& v : input) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<float>(x & 0xffff) / 65535.0f;
  }

  EngineCurve curve;
  curve.model = config_.backend.model_path.empty() ? info.name : config_.backend.model_path;
  curve.backend = backend_->name();
  curve.device = backend_->device();
  curve.input_w = w;
  curve.input_h = h;
  curve.threads = config_.backend.num_threads;
  OutputTensor out;
  for (int b : sizes) {
    for (int i = 0; i < config_.warmup_iterations; ++i) {
      BatchTiming timing;
      YS_RETURN_IF_ERROR(backend_->Run(input.data(), b, h, w, &out, &timing)
                             .WithContext("batch " + std::to_string(b) + " warm-up"));
    }
    const bool rss_reset = ResetProcessPeakRss();
    (void)rss_reset;  // the peak is still reported when the reset is refused
    std::vector<double> ms;
    std::optional<double> device_peak;
    std::string device_kind;
    const int64_t start = clock_->NowNs();
    const int64_t min_ns = config_.min_time_ms * 1'000'000;
    while (true) {
      const int n = static_cast<int>(ms.size());
      if (config_.iterations > 0) {
        if (n >= config_.iterations) break;
      } else if (n >= config_.max_iterations ||
                 (n >= config_.min_iterations && clock_->NowNs() - start >= min_ns)) {
        break;
      }
      BatchTiming timing;
      const int64_t t0 = clock_->NowNs();
      YS_RETURN_IF_ERROR(backend_->Run(input.data(), b, h, w, &out, &timing)
                             .WithContext("batch " + std::to_string(b)));
      ms.push_back(static_cast<double>(clock_->NowNs() - t0) / 1e6);
      const DeviceMemoryStats& m = timing.memory;
      std::optional<double> v = m.reserved_mb ? m.reserved_mb : m.used_mb;
      if (v && (!device_peak || *v > *device_peak)) {
        device_peak = v;
        device_kind = m.reserved_mb ? "device_reserved" : "device_used";
      }
    }
    CurvePoint p;
    p.batch_size = b;
    p.iterations = static_cast<int>(ms.size());
    double sum = 0;
    for (double v : ms) sum += v;
    p.mean_ms = sum / static_cast<double>(ms.size());
    std::sort(ms.begin(), ms.end());
    p.p50_ms = NearestRank(ms, 0.50);
    p.p99_ms = NearestRank(ms, 0.99);
    p.per_image_ms = p.p50_ms / b;
    p.throughput_ips = p.mean_ms > 0 ? b * 1000.0 / p.mean_ms : 0;
    if (device_peak) {
      p.peak_memory_mb = device_peak;
      p.memory_kind = device_kind;
    } else if (auto rss = ProcessPeakRssMb()) {
      p.peak_memory_mb = rss;
      p.memory_kind = "rss_peak";
    }
    if (on_point) on_point(p);
    curve.points.push_back(p);
  }
  return curve;
}

}  // namespace yoloscope
