// AnalysisReport: what `yoloscope analyze` found in a log -- plain data,
// produced by Analyzer and rendered by ReportWriter (text, JSON, Markdown).
// The JSON form is documented in docs/diagnosis.md; field names here match
// it. An unknown value is an empty optional (null in JSON), never a made-up 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace yoloscope {

enum class FindingSeverity { kInfo = 0, kWarning = 1, kCritical = 2 };
// "info", "warning", "critical".
std::string_view SeverityName(FindingSeverity s);

// The fixed vocabulary of finding kinds (docs/diagnosis.md describes each).
inline constexpr std::string_view kFindingKinds[] = {
    "oom",
    "gpu_memory_pressure",
    "memory_fragmentation",
    "memory_leak",
    "queue_saturation",
    "underbatching",
    "batch_window_too_long",
    "cpu_preprocess_bound",
    "transfer_bound",
    "postprocess_bound",
    "gpu_contention",
    "gpu_throttling",
    "cold_start",
    "error_burst",
    "latency_outliers",
    "stream_falling_behind",
};

struct TimeRange {
  int64_t start_us = 0;  // inclusive, Unix microseconds.
  int64_t end_us = 0;    // exclusive.
};

// Numbers of one serving setting, as the what-if model (src/whatif) gives
// them; unknown values are empty (null in JSON).
struct PredictedNumbers {
  std::optional<double> p50_ms, p90_ms, p99_ms, throughput_per_s, rejection_rate,
      device_busy_fraction, mean_batch_size;
};

// The predicted effect of a finding's fix (docs/what-if.md, "Findings with
// a predicted fix"). Filled by ys_whatif through AnalyzeOptions::extension
// -- the analyzer itself never predicts. Either `what_if` is set (the fix,
// in --what-if syntax, and its prediction) or `cannot_predict` says what the
// log lacks.
struct PredictedFix {
  std::string what_if;  // "max_batch=8,max_queue_delay_us=2000"
  // One line for people: "max_batch=8,...: p99 1.2 s -> 140 ms (predicted; ...)".
  std::string summary;
  PredictedNumbers observed;   // the log itself
  PredictedNumbers logged;     // the logged setting through the model
  PredictedNumbers predicted;  // the fix through the model
  bool extrapolated = false;
  std::vector<std::string> assumptions;
  // Every candidate fix simulated (the chosen one included): spec and its
  // predicted p99 / rejection rate, or its "cannot predict" reason.
  struct Candidate {
    std::string what_if;
    std::optional<double> p99_ms, rejection_rate;
    std::string error;
  };
  std::vector<Candidate> candidates;
  std::string cannot_predict;  // "cannot predict: needs ..." (the rest empty)
};

struct Finding {
  std::string kind;  // one of kFindingKinds.
  FindingSeverity severity = FindingSeverity::kInfo;
  std::string title;
  std::vector<TimeRange> time_ranges;                   // empty: the whole log / not time-bound.
  int64_t affected_count = 0;                           // requests (or records) showing it.
  double affected_fraction = 0.0;                       // of the records that could show it.
  std::vector<std::string> request_ids;                 // examples.
  std::vector<std::string> evidence;                    // human-readable, with the numbers.
  std::vector<std::pair<std::string, double>> metrics;  // the same numbers, by name.
  std::string recommendation;
  std::optional<PredictedFix> predicted_fix;  // empty: not attempted.
};

// A check that could not run, and what would enable it.
struct SkippedCheck {
  std::string check;                        // a finding kind.
  std::vector<std::string> missing_fields;  // any one of a group is enough: "a|b".
  std::string reason;
};

struct StageSummary {
  std::string stage;  // "queue", ..., "total".
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  // Share of the mean end-to-end latency (total = 1); "other" is total minus
  // the logged stages.
  std::optional<double> share;
};

struct GroupSummary {
  std::string name;  // "cuda:0", "cpu", model name.
  std::optional<int64_t> gpu_id;
  int64_t requests = 0;
  int64_t errors = 0;
  double error_rate = 0;
  std::optional<double> throughput_rps;
  std::optional<double> total_p50_ms, total_p99_ms, inference_p50_ms, inference_p99_ms;
  std::optional<double> mean_batch_size, max_mem_used_mb, mem_total_mb, mean_gpu_util;
};

// One video stream (docs/streams.md): its frames' `request` records and its
// latest `stream` record.
struct StreamSummary {
  std::string name;
  int64_t frames = 0;  // request records of the stream
  int64_t errors = 0;
  std::optional<double> fps;  // achieved: frames over the span of their capture times
  std::optional<double> target_fps, source_fps;
  std::optional<int64_t> frames_read, frames_dropped, frames_skipped;
  std::optional<double> drop_fraction;                   // dropped / read
  std::optional<double> latency_p50_ms, latency_p99_ms;  // capture to result, served frames
  std::optional<double> decode_mean_ms, queue_mean_ms, inference_mean_ms, mean_batch_size;
};

struct CountEntry {
  std::string key;
  int64_t count = 0;
};

struct BatchSizeEntry {
  int64_t batch_size = 0;  // the last entry may be ">=1024".
  int64_t requests = 0;
  int64_t batches = 0;
};

struct Summary {
  int64_t records = 0;
  int64_t requests = 0;
  int64_t batches = 0;
  int64_t gpu_samples = 0;
  int64_t errors = 0;
  double error_rate = 0;
  // Requests by outcome (served + refused + failed = requests; refused +
  // failed = errors). Latency figures elsewhere (stages, by_gpu, windows,
  // baselines) are for served requests only.
  int64_t served = 0, refused = 0, failed = 0;
  std::optional<double> refused_total_p50_ms, refused_total_p99_ms;
  std::optional<double> failed_total_p50_ms, failed_total_p99_ms;
  std::optional<int64_t> first_ts_us, last_ts_us;
  // throughput_rps: requests arriving per second (the offered load, all
  // outcomes); served_rps: completed per second (the capacity shown);
  // refused_rps / failed_rps: the rest.
  std::optional<double> span_s, throughput_rps, served_rps, refused_rps, failed_rps;
  std::optional<double> mean_batch_size, mean_queue_len, p90_queue_len;
  std::optional<int64_t> max_queue_len, max_batch_size;
  std::vector<GroupSummary> by_gpu, by_model;
  std::vector<GroupSummary> by_replica;  // fleet: "host/replica" (from the fleet tables)
  std::vector<StreamSummary> by_stream;  // empty when the log has no video streams
  std::vector<CountEntry> errors_by_status;
  std::vector<BatchSizeEntry> batch_sizes;
};

// One window of the time series. Empty optionals: nothing logged in it.
struct WindowStats {
  int64_t start_us = 0, end_us = 0;
  int64_t records = 0, requests = 0, errors = 0, rejections = 0, ooms = 0, alloc_retries = 0;
  double throughput_rps = 0;
  double error_rate = 0;
  std::optional<double> total_p50_ms, total_p99_ms, inference_p50_ms, inference_p99_ms;
  std::optional<double> queue_ms_mean, queue_len_mean, batch_size_mean;
  // Mean time per stage over the window's requests that logged it (inference:
  // served requests only), in pipeline
  // order ("queue", "decode+preprocess", "h2d+d2h", "inference",
  // "postprocess"; stages not logged are left out): the "Latency by stage"
  // chart of the HTML report and the live page.
  std::vector<std::pair<std::string, double>> stage_means_ms;
  // Inference time over the equal-work baseline (1 = as fast as usual).
  std::optional<double> inflation;
  // Device state (means over samples; summed over GPUs for memory, max ratio).
  std::optional<double> mem_used_mb, mem_total_mb, mem_used_ratio, mem_reserved_mb,
      mem_allocated_mb, mem_inactive_split_mb, mem_other_processes_mb, gpu_util, sm_clock_mhz,
      temp_c;
  std::optional<double> throttled_fraction;
  std::string slowest_request_id;
};

struct ChangePoint {
  std::string metric;   // "total_p99_ms", "inflation", "error_rate", ...
  std::string kind;     // "spike" or "level_shift".
  TimeRange range;      // spike: the flagged windows; level_shift: from the shift to the end.
  double value = 0;     // spike: peak; level_shift: mean after.
  double baseline = 0;  // median (spike) or mean before (shift).
  double score = 0;     // robust z (spike) or CUSUM t-statistic (shift).
};

struct TimeSeries {
  double window_s = 0;
  std::vector<WindowStats> windows;
  std::vector<ChangePoint> changes;
};

// Inference time at one equal-work key.
struct BaselineEntry {
  std::string model;
  std::optional<int64_t> gpu_id;
  std::optional<int64_t> batch_size;
  std::string input_size;  // size class, "" unknown.
  std::string source;      // "request" or "batch" records.
  std::string metric;      // "inference_ms" or "total_ms".
  int64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0, max_ms = 0;
  double steady_ms = 0;  // the baseline used for inflation.
};

// Filled from the readers' statistics by the caller (AnalyzeCommand).
struct InputSummary {
  std::vector<std::string> files;
  std::vector<CountEntry> formats;  // records per detected input format.
  int64_t bytes = 0;                // content bytes (after decompression).
  int64_t raw_bytes = 0;            // bytes read from disk or pipe.
  int64_t records = 0;
  int64_t malformed = 0;                        // lines / rows skipped as unreadable.
  int64_t field_errors = 0;                     // records with an unreadable field left unknown.
  int64_t writer_dropped = 0;                   // records the server failed to log.
  std::vector<std::string> malformed_examples;  // "file:line: why".
  std::vector<std::string> warnings;
  int64_t invalid_values = 0;  // negative / non-finite stage times ignored.
  bool ts_monotonic = false;   // timestamps have no epoch (Triton traces).
  int threads = 1;
  double seconds = 0;  // wall time of reading + aggregation.
};

struct AnalysisReport {
  InputSummary input;
  Summary summary;
  std::vector<StageSummary> stages;
  std::vector<Finding> findings;  // most severe first.
  std::vector<SkippedCheck> skipped_checks;
  TimeSeries time_series;
  std::vector<BaselineEntry> baselines;

  // The most severe finding's severity, or nullopt when there are none.
  std::optional<FindingSeverity> MaxSeverity() const;
};

}  // namespace yoloscope
