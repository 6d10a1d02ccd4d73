#include "bench/loggen/log_generator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>

#include "reqlog/json_line_serializer.h"
#include "reqlog/log_records.h"

namespace yoloscope {
namespace {

constexpr size_t kFlushBytes = 1 << 20;
constexpr double kMaxWaitUs = 10000;  // batch window: 10 ms

// splitmix64: small, fast and the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed ^ 0x9E3779B97F4A7C15ULL) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  int UniformInt(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  double Normal() {
    const double u1 = std::max(Uniform(), 1e-12);
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  double Exponential(double mean) { return -mean * std::log(std::max(1.0 - Uniform(), 1e-12)); }
  bool Chance(double p) { return Uniform() < p; }

 private:
  uint64_t state_;
};

struct PendingRequest {
  int64_t arrival_us;
  int64_t ready_us;  // after decode + preprocess
  int model;
  int input;
  double decode_ms, preprocess_ms;
  int64_t queue_len;
};

struct GpuState {
  int64_t busy_until_us = 0;
  double busy_us_in_interval = 0;
  std::vector<PendingRequest> pending;
  double last_util = 0;
  double mem_reserved_mb = 0;
  double mem_allocated_mb = 0;
};

struct InputShape {
  int w, h;
  int64_t bytes;
};

constexpr InputShape kInputs[] = {
    {640, 480, 48000}, {1280, 720, 160000}, {1920, 1080, 420000}, {4032, 3024, 2900000}};

struct ActiveConditions {
  bool squeeze = false, leak = false, saturation = false, cpu = false, throttle = false,
       contention = false, errors = false;
  double cold_factor = 1.0;
  double leak_fraction = 0;  // 0..1 through the leak window (stays 1 after it)
};

}  // namespace

StatusOr<LogConditionWindow> ParseLogCondition(std::string_view text) {
  const size_t at = text.find('@');
  const size_t plus = text.find('+', at == std::string_view::npos ? 0 : at);
  if (at == std::string_view::npos || plus == std::string_view::npos) {
    return InvalidArgumentError("condition '" + std::string(text) +
                                "': expected kind@start_s+duration_s");
  }
  const std::string_view kind = text.substr(0, at);
  LogConditionWindow w;
  struct Name {
    std::string_view name;
    LogCondition kind;
  };
  constexpr Name kNames[] = {{"memory_squeeze", LogCondition::kMemorySqueeze},
                             {"memory_leak", LogCondition::kMemoryLeak},
                             {"queue_saturation", LogCondition::kQueueSaturation},
                             {"cpu_preprocess", LogCondition::kCpuPreprocess},
                             {"throttling", LogCondition::kThrottling},
                             {"gpu_contention", LogCondition::kGpuContention},
                             {"error_burst", LogCondition::kErrorBurst},
                             {"cold_start", LogCondition::kColdStart}};
  bool found = false;
  for (const Name& n : kNames) {
    if (n.name == kind) {
      w.kind = n.kind;
      found = true;
    }
  }
  if (!found) return InvalidArgumentError("unknown condition '" + std::string(kind) + "'");
  auto number = [](std::string_view s, double* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
  };
  if (!number(text.substr(at + 1, plus - at - 1), &w.start_s) ||
      !number(text.substr(plus + 1), &w.duration_s)) {
    return InvalidArgumentError("condition '" + std::string(text) + "': bad start or duration");
  }
  return w;
}

StatusOr<std::unique_ptr<LogGenerator>> LogGenerator::Create(const LogGeneratorConfig& config) {
  if (config.models.empty()) return InvalidArgumentError("loggen: no models");
  if (!(config.rps > 0)) return InvalidArgumentError("loggen: rps must be > 0");
  if (config.gpus < 1 || config.gpus > 64) return InvalidArgumentError("loggen: gpus in 1..64");
  if (config.max_batch < 1) return InvalidArgumentError("loggen: max_batch must be >= 1");
  if (config.target_bytes <= 0 && config.requests <= 0) {
    return InvalidArgumentError("loggen: give a size or a request count");
  }
  if (!(config.gpu_sample_interval_s > 0)) {
    return InvalidArgumentError("loggen: gpu sample interval must be > 0");
  }
  return std::unique_ptr<LogGenerator>(new LogGenerator(config));
}

Status LogGenerator::Generate(const std::function<Status(std::string_view)>& write,
                              LogGeneratorStats* stats) {
  const LogGeneratorConfig& c = config_;
  Rng rng(c.seed);
  std::vector<GpuState> gpus(static_cast<size_t>(c.gpus));
  std::string out;
  out.reserve(kFlushBytes + 64 * 1024);
  LogGeneratorStats s;
  int64_t records = 0;
  int64_t next_batch_id = 1;
  int64_t next_request = 1;
  const double interval_us = c.gpu_sample_interval_s * 1e6;
  int64_t next_sample_us = c.start_us;
  int64_t t = c.start_us;
  Status status;

  auto flush = [&](bool force) {
    if (out.size() >= kFlushBytes || (force && !out.empty())) {
      s.bytes += static_cast<int64_t>(out.size());
      status = write(out);
      out.clear();
    }
  };
  auto after_record = [&]() -> int64_t {
    ++records;
    if (c.malformed_every > 0 && records % c.malformed_every == 0) {
      switch (records / c.malformed_every % 3) {
        case 0:
          out.append(
              "{\"event\":\"request\",\"schema\":\"yoloscope.v1\",\"ts\":\"2026-01-01T00:0\n");
          break;
        case 1:
          out.append("this is not json at all\n");
          break;
        default:
          out.append("[1,2,3]\n");
          break;
      }
      ++s.malformed;
    }
    return (c.drop_every > 0 && records % c.drop_every == 0) ? 3 : 0;
  };
  auto conditions_at = [&](int64_t now) {
    ActiveConditions a;
    const double ts = static_cast<double>(now - c.start_us) / 1e6;
    for (const LogConditionWindow& w : c.conditions) {
      const bool in = ts >= w.start_s && ts < w.start_s + w.duration_s;
      switch (w.kind) {
        case LogCondition::kMemorySqueeze:
          a.squeeze = a.squeeze || in;
          break;
        case LogCondition::kMemoryLeak:
          if (ts >= w.start_s) {
            a.leak = true;
            a.leak_fraction = std::min(1.0, (ts - w.start_s) / std::max(w.duration_s, 1e-9));
          }
          break;
        case LogCondition::kQueueSaturation:
          a.saturation = a.saturation || in;
          break;
        case LogCondition::kCpuPreprocess:
          a.cpu = a.cpu || in;
          break;
        case LogCondition::kThrottling:
          a.throttle = a.throttle || in;
          break;
        case LogCondition::kGpuContention:
          a.contention = a.contention || in;
          break;
        case LogCondition::kErrorBurst:
          a.errors = a.errors || in;
          break;
        case LogCondition::kColdStart:
          if (in) a.cold_factor *= 1.0 + 3.0 * std::exp(-(ts - w.start_s) / (w.duration_s / 3.0));
          break;
      }
    }
    return a;
  };
  auto emit_gpu_samples = [&](int64_t until) {
    while (next_sample_us <= until && status.ok()) {
      const ActiveConditions a = conditions_at(next_sample_us);
      for (int g = 0; g < c.gpus; ++g) {
        GpuState& gs = gpus[static_cast<size_t>(g)];
        GpuLogRecord r;
        r.ts_us = next_sample_us;
        r.gpu_id = g;
        double util = std::min(100.0, gs.busy_us_in_interval / interval_us * 100.0);
        if (a.contention) util = std::min(100.0, util + 35.0);
        gs.busy_us_in_interval = 0;
        gs.last_util = util;
        r.gpu_util = util;
        const double other = a.contention ? 8192.0 : 0.0;
        double used = gs.mem_reserved_mb + 480.0 + other;
        if (a.squeeze) used = c.mem_total_mb - 40.0 - rng.Uniform() * 40.0;
        r.mem_used_mb = std::min(c.mem_total_mb, used);
        r.mem_total_mb = c.mem_total_mb;
        r.mem_other_processes_mb = other;
        r.sm_clock_mhz = a.throttle ? 1095.0 + rng.Uniform() * 30 : 1980.0;
        r.temp_c = a.throttle ? 88.0 + rng.Uniform() * 3 : 62.0 + util / 10.0;
        r.power_w = 90.0 + util * 2.3;
        r.pcie_tx_mbs = 40.0 + util * 6.0;
        r.pcie_rx_mbs = 20.0 + util * 2.0;
        r.throttle_reasons = a.throttle ? "hw_thermal_slowdown,sw_thermal_slowdown" : "";
        r.dropped_records = after_record();
        AppendJsonLine(r, &out);
        ++s.gpu_samples;
      }
      next_sample_us += static_cast<int64_t>(interval_us);
      flush(false);
    }
  };
  // Runs the pending requests of GPU g as one batch starting no earlier than `not_before`.
  auto run_batch = [&](int g, int64_t not_before) {
    GpuState& gs = gpus[static_cast<size_t>(g)];
    if (gs.pending.empty()) return;
    int64_t ready = 0;
    for (const PendingRequest& p : gs.pending) ready = std::max(ready, p.ready_us);
    const int64_t start = std::max({ready, gs.busy_until_us, not_before});
    const ActiveConditions a = conditions_at(start);
    const int bs = static_cast<int>(gs.pending.size());
    const int model = gs.pending.front().model;
    const double model_scale = 1.0 + 0.8 * model;
    double inference = 4.5 * model_scale * (0.55 + 0.45 * bs) * rng.LogNormal(1.0, 0.08);
    if (a.squeeze) inference *= 3.0 * rng.LogNormal(1.0, 0.25);
    if (a.throttle) inference *= 1.7;
    if (a.contention) inference *= 1.5;
    inference *= a.cold_factor;
    const double h2d = 0.25 * bs * rng.LogNormal(1.0, 0.15);
    const double d2h = 0.12 * bs * rng.LogNormal(1.0, 0.15);
    gs.mem_allocated_mb = 1400.0 * model_scale + 380.0 * bs * model_scale;
    gs.mem_reserved_mb = gs.mem_allocated_mb * 1.2 + 256.0;
    if (a.leak) {
      gs.mem_reserved_mb += a.leak_fraction * (c.mem_total_mb - gs.mem_reserved_mb - 1500.0);
    }
    int64_t retries = 0;
    bool oom = false;
    double inactive_split = gs.mem_reserved_mb - gs.mem_allocated_mb;
    if (a.squeeze) {
      gs.mem_reserved_mb = c.mem_total_mb - 600.0 - rng.Uniform() * 100;
      inactive_split = gs.mem_reserved_mb - gs.mem_allocated_mb - 300.0;
      retries = 1 + rng.UniformInt(4);
      oom = rng.Chance(0.05);
    }
    const int64_t gpu_us = static_cast<int64_t>((h2d + inference + d2h) * 1000.0);
    gs.busy_until_us = start + gpu_us;
    gs.busy_us_in_interval += static_cast<double>(gpu_us);

    const int64_t batch_id = next_batch_id++;
    BatchLogRecord b;
    b.ts_us = start;
    b.batch_id = batch_id;
    b.batch_size = bs;
    b.model = c.models[static_cast<size_t>(model)];
    b.instance = 0;
    b.gpu_id = g;
    b.h2d_ms = h2d;
    if (!oom) {
      b.inference_ms = inference;
      b.d2h_ms = d2h;
    }
    b.mem_used_mb = std::min(c.mem_total_mb, gs.mem_reserved_mb + 480.0);
    b.mem_total_mb = c.mem_total_mb;
    b.mem_reserved_mb = gs.mem_reserved_mb;
    b.mem_allocated_mb = gs.mem_allocated_mb;
    b.mem_inactive_split_mb = std::max(0.0, inactive_split);
    b.alloc_retries = retries;
    b.oom = oom;
    b.dropped_records = after_record();
    AppendJsonLine(b, &out);
    ++s.batches;

    char id[32];
    for (const PendingRequest& p : gs.pending) {
      RequestLogRecord r;
      r.ts_us = p.arrival_us;
      const int n = std::snprintf(id, sizeof(id), "req-%010llx",
                                  static_cast<unsigned long long>(next_request++));
      r.request_id.assign(id, static_cast<size_t>(n));
      r.model = c.models[static_cast<size_t>(p.model)];
      r.backend = "torch";
      r.device = "cuda:" + std::to_string(g);
      r.gpu_id = g;
      const InputShape& in = kInputs[p.input];
      r.input_w = in.w;
      r.input_h = in.h;
      r.input_bytes = in.bytes;
      r.batch_id = batch_id;
      r.batch_size = bs;
      r.queue_len = p.queue_len;
      r.queue_ms = static_cast<double>(start - p.ready_us) / 1000.0;
      r.decode_ms = p.decode_ms;
      r.preprocess_ms = p.preprocess_ms;
      r.h2d_ms = h2d;
      double total = r.queue_ms.value() + p.decode_ms + p.preprocess_ms + h2d;
      const bool failed_error = a.errors && rng.Chance(0.2);
      if (oom) {
        r.status = "oom";
        r.error = "CUDA out of memory. Tried to allocate 1.20 GiB";
      } else if (failed_error) {
        r.status = rng.Chance(0.5) ? "timeout" : "decode_error";
        r.error = r.status == "timeout" ? "deadline exceeded after 1000 ms"
                                        : "cannot decode image: \"truncated JPEG\"";
      } else {
        r.inference_ms = inference;
        r.d2h_ms = d2h;
        const int64_t dets = static_cast<int64_t>(rng.Exponential(8.0));
        r.postprocess_ms = 0.6 + 0.03 * static_cast<double>(dets) + rng.Exponential(0.2);
        r.detections = dets;
        total += inference + d2h + r.postprocess_ms.value();
      }
      r.total_ms = total;
      r.gpu_util = gs.last_util;
      r.mem_used_mb = b.mem_used_mb;
      r.mem_total_mb = c.mem_total_mb;
      r.mem_reserved_mb = gs.mem_reserved_mb;
      r.mem_allocated_mb = gs.mem_allocated_mb;
      r.alloc_retries = retries;
      r.oom = oom;
      r.dropped_records = after_record();
      AppendJsonLine(r, &out);
      ++s.requests;
    }
    gs.pending.clear();
    flush(false);
  };

  auto done = [&] {
    if (c.target_bytes > 0) return s.bytes + static_cast<int64_t>(out.size()) >= c.target_bytes;
    return s.requests >= c.requests;
  };

  while (!done() && status.ok()) {
    const ActiveConditions a = conditions_at(t);
    const double rate = c.rps * (a.saturation ? 2.2 : 1.0);
    t += static_cast<int64_t>(rng.Exponential(1e6 / rate)) + 1;
    emit_gpu_samples(t);
    // Batches whose window expired before this arrival.
    for (int g = 0; g < c.gpus; ++g) {
      GpuState& gs = gpus[static_cast<size_t>(g)];
      if (!gs.pending.empty() && gs.pending.front().ready_us + kMaxWaitUs <= t) {
        run_batch(g, gs.pending.front().ready_us + static_cast<int64_t>(kMaxWaitUs));
      }
    }
    const int g = rng.UniformInt(c.gpus);
    GpuState& gs = gpus[static_cast<size_t>(g)];
    PendingRequest p;
    p.arrival_us = t;
    p.model = gs.pending.empty() ? rng.UniformInt(static_cast<int>(c.models.size()))
                                 : gs.pending.front().model;
    p.input = rng.UniformInt(4);
    const double size_scale = std::sqrt(static_cast<double>(kInputs[p.input].bytes) / 160000.0);
    p.decode_ms = rng.LogNormal(2.2, 0.25) * size_scale;
    p.preprocess_ms = rng.LogNormal(1.6, 0.2) * (a.cpu ? 6.0 : 1.0);
    p.ready_us = t + static_cast<int64_t>((p.decode_ms + p.preprocess_ms) * 1000.0);
    const double backlog_us = static_cast<double>(std::max<int64_t>(0, gs.busy_until_us - t));
    p.queue_len =
        static_cast<int64_t>(gs.pending.size()) + static_cast<int64_t>(backlog_us / 2500.0);
    gs.pending.push_back(p);
    if (static_cast<int>(gs.pending.size()) >= c.max_batch) run_batch(g, 0);
  }
  for (int g = 0; g < c.gpus && status.ok(); ++g) run_batch(g, 0);
  flush(true);
  s.end_us = t;
  if (stats != nullptr) *stats = s;
  return status;
}

}  // namespace yoloscope
