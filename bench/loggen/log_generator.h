// LogGenerator: writes large, realistic yoloscope.v1 JSON Lines request logs
// (docs/log-schema.md) for the analyzer's throughput benchmark and for tests:
// a simulated multi-GPU YOLO service with dynamic batching, emitting `batch`
// records followed by their `request` records (in completion order), and a
// `gpu` telemetry sample per GPU every `gpu_sample_interval_s`. Conditions
// can be injected in time windows (a memory squeeze, queue saturation, ...).
//
// Deterministic: the same config (seed included) gives the same bytes.
// Thread-safety: one Generate call at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

enum class LogCondition {
  kMemorySqueeze,    // memory at ~99% of total, allocator retries, some OOMs, inference x3
  kMemoryLeak,       // memory used grows steadily through the window
  kQueueSaturation,  // arrivals outpace service: queue length and queue_ms grow
  kCpuPreprocess,    // preprocessing 6x slower (CPU starved)
  kThrottling,       // thermal throttling: SM clock down, inference x1.7
  kGpuContention,    // another process holds 8 GB and compute: inference x1.5
  kErrorBurst,       // 20% of requests fail ("timeout", "decode_error")
  kColdStart,        // inference x4 at the window's start, decaying to normal
};

struct LogConditionWindow {
  LogCondition kind;
  double start_s = 0;  // seconds after the log's start
  double duration_s = 0;
};

// Parses "kind@start_s+duration_s" ("memory_squeeze@600+120"); kinds:
// memory_squeeze, memory_leak, queue_saturation, cpu_preprocess, throttling,
// gpu_contention, error_burst, cold_start.
StatusOr<LogConditionWindow> ParseLogCondition(std::string_view text);

struct LogGeneratorConfig {
  uint64_t seed = 1;
  int64_t target_bytes = 0;             // stop once this many bytes are written (0: use `requests`)
  int64_t requests = 100000;            // stop after this many requests when target_bytes is 0
  int64_t start_us = 1767225600000000;  // 2026-01-01T00:00:00Z
  double rps = 400;                     // mean arrival rate, requests per second
  int gpus = 2;
  std::vector<std::string> models = {"yolov8n", "yolov8s"};
  double gpu_sample_interval_s = 1.0;
  double mem_total_mb = 24564;  // a 24 GB card
  int max_batch = 8;
  std::vector<LogConditionWindow> conditions;
  int64_t malformed_every = 0;  // a malformed line after every N records (0: none)
  int64_t drop_every = 0;       // dropped_records on every N-th record (0: none)
};

struct LogGeneratorStats {
  int64_t bytes = 0, requests = 0, batches = 0, gpu_samples = 0, malformed = 0;
  int64_t end_us = 0;  // simulated time of the last record
};

class LogGenerator {
 public:
  // InvalidArgument for a config that cannot work (no models, rps <= 0, ...).
  static StatusOr<std::unique_ptr<LogGenerator>> Create(const LogGeneratorConfig& config);

  // Generates the log, handing it to `write` in pieces of about 1 MiB; stops
  // at the first error `write` returns.
  Status Generate(const std::function<Status(std::string_view)>& write, LogGeneratorStats* stats);

 private:
  explicit LogGenerator(const LogGeneratorConfig& config) : config_(config) {}
  LogGeneratorConfig config_;
};

}  // namespace yoloscope
