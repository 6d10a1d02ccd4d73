// ProfileBuilder: reads what the what-if model needs from a request log
// (any format LogReader reads), as a RecordSink, and hands it over as a
// PipelineProfile:
//   - per offered request: its arrival (ts) and, when logged, its own
//     preprocess (decode_ms + preprocess_ms), postprocess and unmodelled
//     (total_ms minus every logged stage) times;
//   - empirical samples of those three service times (drawn for requests
//     that lack their own, e.g. refused ones);
//   - per-batch device times by batch size: h2d_ms + inference_ms + d2h_ms
//     of `batch` records, else of request records (one per batch_id when
//     batch ids are logged); from batch records with ts and instance, the
//     instance's turnaround between two batches, and from busy_ms the
//     instance's host work per batch beyond the device time;
//   - what the log itself shows (ObservedRun): percentiles, throughput,
//     rejections, batch sizes, queue lengths, instances.
// "Offered" = every request record except those the HTTP layer refused
// before the pipeline (payload_too_large, header_too_large, unauthorized,
// bad_request, read_timeout, log_unavailable).
//
// Degenerate logs are refused at Finish with FailedPrecondition "cannot
// predict: needs ...": no arrivals, no batch device times (e.g. a Triton
// trace or a table without batch_size), several models without a choice.
//
// Thread-safety: one builder per reading thread (RecordSink contract);
// Merge them, then Finish once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/readers/log_reader.h"
#include "common/status.h"
#include "reqlog/record_sink.h"
#include "whatif/arrival_replay.h"
#include "whatif/batch_latency_fit.h"

namespace yoloscope {

inline constexpr double kUnknownMs = std::numeric_limits<double>::quiet_NaN();

struct ProfiledRequest {
  int64_t arrival_us = 0;       // Unix microseconds (the log's ts)
  double preprocess_ms = kUnknownMs;   // decode + preprocess; NaN = not logged
  double postprocess_ms = kUnknownMs;
  double other_ms = kUnknownMs;        // total - logged stages (>= 0)
};

// What the log itself shows about the logged run.
struct ObservedRun {
  int64_t offered = 0, served = 0, rejected = 0, timed_out = 0, failed = 0;
  int64_t refused_by_http = 0;  // not offered to the pipeline
  int64_t without_ts = 0;       // request records without arrival time (skipped)
  bool has_latency = false;     // served requests with total_ms
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, mean_ms = 0;
  std::vector<double> distribution_ms;  // at DistributionQuantiles(); empty without latency
  double span_s = 0;            // first arrival to last completion
  double throughput_per_s = 0;  // served / span
  double rejection_rate = 0;    // queue_full / offered
  bool has_device_busy = false;
  // Sum of batch device times / (devices x span); devices = the distinct
  // gpu_id, else (CPU) the instances.
  double device_busy_fraction = 0;
  double mean_batch_size = 0;       // over batches
  bool has_queue_len = false;
  double mean_queue_length = 0;     // mean of queue_len over offered requests
  // The queue's bound as the log shows it: the most common queue_len of a
  // queue_full rejection (serve logs the queue's length when it refuses),
  // over every offered request, warm-up included; 0 = no such rejection.
  int queue_bound = 0;
  int64_t queue_full_with_len = 0;  // queue_full rejections that carry queue_len
  int64_t batches = 0;
  int largest_batch = 0;
  int instances = 0;  // distinct `instance` of batch records; 0 = not logged
  int devices = 0;    // distinct non-null `gpu_id` of batch records; 0 = none (CPU, not logged)
  // The devices the instances share: `devices`, else (a CPU backend, or
  // not logged) one per logged instance; at least 1.
  int device_count() const { return devices > 0 ? devices : std::max(1, instances); }
};

// A model's serving setting as a `config` record states it (written by
// yoloscope serve at start and after each log reopen; docs/log-schema.md).
// Each field is empty when the record lacks it.
struct LoggedConfig {
  int64_t ts_us = 0;
  std::optional<int64_t> instances, max_batch_size, max_queue_delay_us, max_queue_size,
      preprocess_workers, postprocess_workers;
  std::string batch_policy;  // "" = not stated
  int records = 0;           // config records of the model in the log
  int distinct = 0;          // of which different settings
};

struct PipelineProfile {
  std::string model;                      // "" when the log names none
  std::vector<ProfiledRequest> requests;  // offered, ascending arrival
  std::vector<double> preprocess_ms, postprocess_ms, other_ms;  // samples
  std::map<int, std::vector<double>> device_us;  // batch size -> device times
  std::string device_source;  // "batch records" / "request records"
  // The instance's time between the end of one batch and the start of the
  // next when it is backlogged: the floor cluster of (start gap - device
  // time) over consecutive batches of one instance (profile_builder.cc,
  // EstimateTurnaroundMs); 0 when batch records do not show one.
  double turnaround_ms = 0;
  // The instance's host work per batch beyond the device time, by batch
  // size: busy_ms - (h2d + inference + d2h) of batch records that carry
  // busy_ms (from yoloscope serve since busy_ms was added). Empty when the
  // log has none; the model then uses turnaround_ms.
  std::map<int, std::vector<double>> overhead_us;
  // How late an idle instance starts a batch, microseconds >= 0: the batch's
  // start minus the moment the batcher's fixed policy would dispatch it
  // (the last member ready for a full batch, else the first member ready +
  // max_queue_delay_us; ready = arrival + decode + preprocess), over batches
  // whose instance had finished its previous batch before that moment. It
  // is the threads' wake-up (the instance's timer or the enqueue's notify,
  // the preprocess worker's) that no stage time covers, and on a busy host
  // it is worth a few percent of latency. Needs the config record
  // (max_batch_size, max_queue_delay_us, a fixed policy), batch records
  // with ts, instance and batch_id, and requests with batch_id; empty
  // otherwise or with fewer than kMinWakeSamples such batches. Samples above
  // 3x their median (host stalls, a member that waited for a preprocess
  // worker) are left out.
  std::vector<double> wake_us;
  ObservedRun observed;           // over the measurement window
  // The latest `config` record of the model (by ts); empty when none.
  std::optional<LoggedConfig> logged_config;
  int64_t measure_from_us = 0;    // start of the measurement window (Unix us)
  std::vector<std::string> notes;  // what was missing and how it is modelled
};

inline constexpr int kMinTurnaroundPairs = 20;
inline constexpr int kMinWakeSamples = 20;

struct ProfileOptions {
  std::string model;  // keep only this model ("" = the only one in the log)
  // Warm-up excluded from the measurement: ObservedRun (and the what-if
  // predictions, WhatIfEngine) count only requests arriving >= skip_s after
  // the first. Every request is still replayed. >= 0.
  double skip_s = 0;
};

class ProfileBuilder : public RecordSink {
 public:
  ProfileBuilder();
  ~ProfileBuilder() override;
  void OnRecord(const LogRecord& record) override;
  // Moves `other`'s records into this one.
  void Merge(ProfileBuilder&& other);
  // The profile, or FailedPrecondition "cannot predict: needs ..." /
  // InvalidArgument (unknown --model).
  StatusOr<PipelineProfile> Finish(const ProfileOptions& options) &&;

  // Reads `paths` with LogReader (one builder per thread) and finishes.
  static StatusOr<PipelineProfile> Load(const std::vector<std::string>& paths,
                                        const ReadOptions& read_options,
                                        const ProfileOptions& options);

 private:
  struct Data;
  std::unique_ptr<Data> data_;
};

}  // namespace yoloscope
