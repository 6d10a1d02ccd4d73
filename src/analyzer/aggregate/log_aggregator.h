// LogAggregator: the streaming, mergeable state behind `yoloscope analyze`.
// It is a RecordSink: readers feed it normalized LogRecords (one aggregator
// per reading thread) and the per-thread aggregators are merged afterwards.
//
// It never keeps records. Memory is bounded by the configuration, not by the
// log's size: per-stage log-linear histograms (<= 0.4% quantile error), per
// gpu_id / model / status / equal-work-key summaries (each capped), fine time
// buckets that coarsen when there are too many (TimeBucketStore), exact small
// distributions of batch size and queue length, and bounded example sets of
// request ids for every finding candidate. About 20-40 MB per aggregator at
// the default caps, whatever the log's size.
//
// Merge(other) gives the same state as feeding both streams to one aggregator
// (integer counts are identical; floating sums may differ in the last bits),
// whatever the split and order of the records -- as long as the caps on
// models, statuses and equal-work keys are not reached (beyond them, which
// entries get lumped into "(other)" depends on arrival order).
//
// Thread-safety: none. Use one aggregator per thread and Merge afterwards.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analyzer/aggregate/example_set.h"
#include "analyzer/aggregate/latency_histogram.h"
#include "analyzer/aggregate/running_stat.h"
#include "analyzer/aggregate/time_bucket_store.h"
#include "analyzer/aggregate/work_key.h"
#include "reqlog/record_sink.h"

namespace yoloscope {

struct AggregatorConfig {
  // Fine time buckets kept before the resolution coarsens, and equal-work
  // cells over all of them (64 bytes each): the bounds on their memory.
  int max_time_buckets = 2048;
  int64_t max_time_cells = 131072;
  // Example request ids kept per finding candidate.
  int examples_per_finding = 8;
  // Slowest requests kept (for latency_outliers and their stage breakdown).
  int slowest_requests = 64;
  // Earliest samples kept per equal-work key (for cold_start).
  int first_samples_per_key = 4;
  // Caps on distinct models, statuses and equal-work keys; the rest are
  // lumped into "(other)" entries.
  int max_models = 64;
  int max_statuses = 64;
  int max_work_keys = 1024;
  // Distinct gpu ids tracked (per log and per time bucket); more are "other".
  int max_gpus = 32;
  // A record is "at high memory" when mem_used_mb / mem_total_mb >= this.
  double mem_high_ratio = 0.90;
  // Dominance thresholds for the per-request stage flags (share of total_ms).
  double queue_dominant_share = 0.5;
  double stage_dominant_share = 0.4;
  // Queue length from which a request is "queued behind others".
  int64_t loaded_queue_len = 2;
};

// Request stages, in pipeline order; kTotal is the end-to-end latency.
enum class LogStage {
  kQueue,
  kDecode,
  kPreprocess,
  kH2d,
  kInference,
  kD2h,
  kPostprocess,
  kTotal,
};
inline constexpr int kNumLogStages = 8;
// "queue", "decode", ... "total".
std::string_view LogStageName(LogStage stage);
// "queue_ms", ... "total_ms".
std::string_view LogStageField(LogStage stage);

// Schema fields whose presence decides which checks can run.
enum class LogField {
  kTs,
  kRequestId,
  kModel,
  kGpuId,
  kInputSize,
  kBatchSize,
  kQueueLen,
  kQueueMs,
  kDecodeMs,
  kPreprocessMs,
  kH2dMs,
  kInferenceMs,
  kD2hMs,
  kPostprocessMs,
  kTotalMs,
  kDetections,
  kStatus,
  kError,
  kGpuUtil,
  kMemUsed,
  kMemTotal,
  kMemReserved,
  kMemAllocated,
  kMemInactiveSplit,
  kMemOther,
  kSmClock,
  kThrottleReasons,
  kTemp,
  kAllocRetries,
  kOom,
};
inline constexpr int kNumLogFields = 30;
// The schema name, e.g. "mem_used_mb" ("input_w/input_h" for kInputSize).
std::string_view LogFieldName(LogField field);

// Summary of one gpu_id or one model.
struct GroupStats {
  int64_t requests = 0;
  int64_t errors = 0;
  RunningStat ts_us;  // min/max arrival.
  LatencyHistogram total{LatencyHistogram::kFineBits};
  LatencyHistogram inference{LatencyHistogram::kFineBits};
  RunningStat batch_size, mem_used, mem_total, gpu_util;
  // 1 / batch_size per request: n / sum is the mean size per batch (a batch
  // of b is logged by b requests), the definition Summary::mean_batch_size uses.
  RunningStat inverse_batch_size;

  void Merge(const GroupStats& o);
};

// One video stream (docs/streams.md): its frames' request records, and the
// latest of its `stream` records (whose counts are cumulative).
struct StreamStats {
  int64_t frames = 0;  // request records carrying the stream's name
  int64_t errors = 0;
  RunningStat ts_us;                                    // capture times of its frames
  LatencyHistogram total{LatencyHistogram::kFineBits};  // capture to result, served frames
  RunningStat decode_ms, queue_ms, inference_ms, batch_size;
  RunningStat preprocess_ms, postprocess_ms;  // served frames (work per frame in flight)
  // Served frames per device (ResolveGpu's id; at most kMaxGpus ids, the
  // rest not counted): which devices ran the stream's batches.
  static constexpr size_t kMaxGpus = 8;
  std::map<int64_t, int64_t> gpus;
  // Presentation time per frame read, from pairs of frames that follow each
  // other in the records (frame_index and pts_ms both advance, by at most
  // kMaxStepMs of pts): sums of their index and pts steps. Skipped and
  // dropped frames keep their index, so pts_steps_ms / index_steps is the
  // source's frame interval -- larger when frames were lost before the
  // reader (a camera or socket buffer overrun while the reader was busy).
  static constexpr double kMaxStepMs = 5000;
  int64_t index_steps = 0, step_pairs = 0;
  double pts_steps_ms = 0;
  // The capture-time steps of the same pairs: pts_steps_ms / ts_steps_ms is
  // the pace at which the reader delivers the source's time (1 = real time).
  // A source on the wall clock (a camera, a realtime file) read slower than
  // that is lagging further and further behind it.
  double ts_steps_ms = 0;
  // Stalls: consecutive frames whose capture times are >= kStallMs apart
  // (and >= 4x their pts step): the source went silent (a read timeout, a
  // paused sender). Their gaps, and the decode_ms of the frames that ended
  // them (the wait), so that rates and means can leave them out.
  static constexpr double kStallMs = 1000;
  int64_t stalls = 0;
  double stall_ms = 0, stall_decode_ms = 0;
  // The last frame seen by this aggregator (not merged).
  int64_t last_index = -1, last_ts_us = 0;
  double last_pts_ms = 0;
  bool last_has_pts = false;
  // The earliest `stream` record that had read frames (none: INT64_MAX):
  // counts after it leave out the opening, where FFmpeg delivers the frames
  // it buffered while probing a live source in one burst.
  int64_t first_counters_ts_us = INT64_MAX;
  std::optional<int64_t> first_frames_read, first_frames_dropped, first_frames_skipped;
  // From the stream record with the latest ts (none: INT64_MIN).
  int64_t counters_ts_us = INT64_MIN;
  std::optional<int64_t> frames_read, frames_dropped, frames_skipped;
  std::optional<double> target_fps, source_fps;
  std::string source_kind;       // "file", "network", "device"; empty: not in the log
  std::optional<bool> realtime;  // files: delivered at their own frame rate

  // Runs on the wall clock (its reader must keep pace): a network or device
  // source, or a realtime file. False when the log does not say.
  bool Paced() const {
    return source_kind == "network" || source_kind == "device" ||
           (source_kind == "file" && realtime.value_or(false));
  }

  void AddCounters(const LogRecord& r);
  void Merge(const StreamStats& o);
};

// Everything known about one equal-work key.
struct WorkStats {
  WorkKey key;        // this key (the "(other)" key for keys over the cap).
  std::string model;  // the name behind key.model_hash.
  LatencyHistogram inference{LatencyHistogram::kFineBits};
  LatencyHistogram total{LatencyHistogram::kFineBits};
  // Split by memory pressure of the record itself (mem_used/mem_total).
  LatencyHistogram inference_mem_high{LatencyHistogram::kCoarseBits};
  LatencyHistogram inference_mem_normal{LatencyHistogram::kCoarseBits};
  LatencyHistogram total_mem_high{LatencyHistogram::kCoarseBits};
  LatencyHistogram total_mem_normal{LatencyHistogram::kCoarseBits};
  RunningStat mem_ratio, mem_used;
  int64_t ooms = 0;
  int64_t alloc_retries = 0;
  ExampleSet first{4, ExampleSet::Order::kEarliest};  // value: inference, else total.

  // Where this key's cell was last found (a lookup cache; not merged).
  const TimeBucket* cell_bucket = nullptr;
  size_t cell_index = 0;

  void Merge(const WorkStats& o);
};

// A per-record condition: how many records could show it (eligible: the
// fields were there), how many did, and examples of those that did.
struct FlagCounter {
  int64_t eligible = 0;
  int64_t hits = 0;
  ExampleSet examples;

  double fraction() const {
    return eligible ? static_cast<double>(hits) / static_cast<double>(eligible) : 0.0;
  }
  void Merge(const FlagCounter& o) {
    eligible += o.eligible;
    hits += o.hits;
    examples.Merge(o.examples);
  }
};

// One change of a cumulative counter (alloc_retries) of one source.
struct CounterPoint {
  int64_t ts_us = 0;  // INT64_MAX when the record had no timestamp.
  int64_t line = 0;
  int64_t value = 0;
};

// The changes of a cumulative counter, per source (file, gpu, instance):
// what a running total "so far" needs to become per-interval deltas,
// whatever order and split the records were aggregated in.
struct CounterTrack {
  std::vector<CounterPoint> points;  // in arrival order; sorted when read.
  int64_t last = -1;                 // last value seen by this aggregator.
  // Sum of the values of every record, and how often the value changed and
  // dropped: a source whose value keeps dropping is not a running total but
  // a count per record (yoloscope serve writes the retries of each batch),
  // and its retries are the plain sum.
  int64_t raw_sum = 0, changes = 0, drops = 0;
  // Records with a value above 0 (a per-record source's records that retried).
  int64_t positive = 0;
  // From batch records (else request records). The requests of a batch
  // repeat its value: when batch records carry the counter, only their
  // tracks count.
  bool batch = false;
  bool PerRecord() const { return drops >= 3 && drops * 10 > changes; }
};

// A positive step of a cumulative counter: `delta` more at `ts_us`.
struct CounterIncrement {
  int64_t ts_us = 0;
  int64_t delta = 0;
};

// Per-record finding candidates.
enum class RecordFlag {
  kOom,               // oom == true, or an out-of-memory status/error.
  kAllocRetry,        // alloc_retries went up since the source's previous record.
  kMemHigh,           // mem_used / mem_total >= mem_high_ratio.
  kQueueDominant,     // queue_ms >= queue_dominant_share of total.
  kQueueLoaded,       // ... and queue_len >= loaded_queue_len (eligible: queue_len known).
  kRejected,          // status says the queue was full / overloaded (503, 429, ...).
  kUnderbatched,      // batch_size <= 1 while queue_len >= loaded_queue_len.
  kPreDominant,       // decode + preprocess >= stage_dominant_share of total.
  kTransferDominant,  // h2d + d2h >= stage_dominant_share of total.
  kPostDominant,      // postprocess >= stage_dominant_share of total.
  kError,             // status not ok.
  kThrottled,         // gpu sample with an active slowdown reason.
  kLowLoadWait,       // at low load (see LowLoadStats), queue_ms >= 30% of total.
};
inline constexpr int kNumRecordFlags = 13;

// Requests at low load (queue_len <= 1; batch_size <= 1 when queue_len is
// not logged): what the batch window costs when nobody else is waiting.
struct LowLoadStats {
  int64_t requests = 0;
  LatencyHistogram queue_ms{LatencyHistogram::kFineBits};
  RunningStat total_ms, batch_size, inference_ms;

  void Merge(const LowLoadStats& o) {
    requests += o.requests;
    queue_ms.Merge(o.queue_ms);
    total_ms.Merge(o.total_ms);
    batch_size.Merge(o.batch_size);
    inference_ms.Merge(o.inference_ms);
  }
};

class ClickHousePushDown;

class LogAggregator : public RecordSink {
 public:
  explicit LogAggregator(AggregatorConfig config = {});
  LogAggregator(const LogAggregator&) = delete;
  LogAggregator& operator=(const LogAggregator&) = delete;

  void OnRecord(const LogRecord& record) override;

  // Adds `other`'s state; both must use the same configuration.
  void Merge(const LogAggregator& other);

  const AggregatorConfig& config() const { return config_; }

  // Record counts by kind.
  int64_t records() const { return records_; }
  int64_t requests() const { return requests_; }
  int64_t batches() const { return batches_; }
  int64_t gpu_samples() const { return gpu_samples_; }
  int64_t other_records() const { return other_records_; }
  // Records whose ts_us is from a clock with no epoch (Triton traces).
  int64_t monotonic_ts_records() const { return monotonic_ts_records_; }
  // Stage values that were negative or not finite (ignored).
  int64_t invalid_values() const { return invalid_values_; }

  // Records carrying each field (any record kind).
  int64_t field_count(LogField f) const { return field_counts_[static_cast<size_t>(f)]; }

  // Request timestamps (min/max, n = requests with ts) and all timestamps.
  const RunningStat& request_ts() const { return request_ts_; }
  const RunningStat& any_ts() const { return any_ts_; }

  const LatencyHistogram& stage(LogStage s) const { return stages_[static_cast<size_t>(s)]; }
  // Batch records' inference time.
  const LatencyHistogram& batch_inference() const { return batch_inference_; }

  int64_t errors() const { return errors_; }
  // Requests by outcome: served (completed: status ok, or no status logged),
  // refused (turned away: queue full, 429/503, overloaded, ...) and failed
  // (any other error). The stage histograms, the per-GPU/model latencies,
  // the windows' latencies and the equal-work baselines hold served requests
  // only; refused and failed ones have their own counts and latency here.
  int64_t served() const { return requests_ - errors_; }
  int64_t refused() const { return refused_; }
  int64_t failed() const { return errors_ - refused_; }
  // End-to-end latency (total_ms, else inference_ms) of refused / failed requests.
  const LatencyHistogram& refused_latency() const { return refused_latency_; }
  const LatencyHistogram& failed_latency() const { return failed_latency_; }
  // Arrival times of served requests (n = served requests with a timestamp).
  const RunningStat& served_ts() const { return served_ts_; }
  const std::map<std::string, int64_t>& errors_by_status() const { return errors_by_status_; }

  // by gpu_id (-1 = CPU, -2 = unknown) and by model ("" = unknown, "(other)").
  const std::map<int64_t, GroupStats>& by_gpu() const { return by_gpu_; }
  const std::map<std::string, GroupStats>& by_model() const { return by_model_; }
  // By fleet origin "host/replica" (records from the fleet tables only).
  const std::map<std::string, GroupStats>& by_replica() const { return by_replica_; }
  // By video stream name (request records with `stream`, and `stream`
  // records); at most max_models streams, the rest under "(other)".
  const std::map<std::string, StreamStats>& by_stream() const { return by_stream_; }
  int64_t stream_records() const { return stream_records_; }
  // Distinct `instance` values of the batch records per gpu_id (ResolveGpu's
  // id), at most 64 per device: the instances sharing a device.
  const std::map<int64_t, std::set<int64_t>>& batch_instances() const { return batch_instances_; }

  // Exact distributions: index = value (the last slot collects larger ones).
  // batch_size_requests[b]: requests served in a batch of b; batch_size_batches:
  // batch records of size b; queue_len[q]: requests that arrived at queue_len q.
  const std::vector<int64_t>& batch_size_requests() const { return batch_size_requests_; }
  const std::vector<int64_t>& batch_size_batches() const { return batch_size_batches_; }
  const std::vector<int64_t>& queue_len() const { return queue_len_; }
  // Every queue_len (exact mean / max; the histogram for percentiles beyond
  // the exact distribution's last slot).
  const RunningStat& queue_len_stat() const { return queue_len_stat_; }
  const LatencyHistogram& queue_len_hist() const { return queue_len_hist_; }

  const std::map<WorkKey, WorkStats>& work() const { return work_; }
  const FlagCounter& flag(RecordFlag f) const { return flags_[static_cast<size_t>(f)]; }
  const LowLoadStats& low_load() const { return low_load_; }
  // alloc_retries is a running total per process (docs/log-schema.md): the
  // retries in the log are the sum over sources (file, gpu_id, instance) of
  // its increases, a drop to less than half the previous value being a
  // restart (counting from 0 again); smaller drops are records written out
  // of order. Exact whatever the split and order of aggregation. A source
  // whose value keeps dropping (CounterTrack::PerRecord: a count per record,
  // as yoloscope serve writes it today) counts the plain sum instead.
  int64_t alloc_retries_total() const;
  // The increases of the running-total sources, each at the record that
  // showed it (for the time series).
  std::vector<CounterIncrement> alloc_retry_increments() const;
  // Records that needed retries: the increases of the running-total sources
  // (each counted once, in time order over the merged log) plus the records
  // of per-record sources with a count above 0 -- batch records only when
  // they carry the counter. Unlike flag(kAllocRetry).hits, which compares a
  // record with the source's previous record in the same aggregator, this is
  // the same whatever the split of the log over threads.
  int64_t alloc_retry_records() const;
  // Whether some source's alloc_retries is a count per record: the windows
  // then keep the plain per-record sums of the buckets.
  bool alloc_retries_per_record() const;
  // Whether batch records carry alloc_retries (then request records' copies
  // of the same counter are not counted again).
  bool alloc_retries_from_batches() const;
  // (detections, postprocess_ms) pairs.
  const PairMoments& detections_vs_post() const { return detections_vs_post_; }
  const RunningStat& detections() const { return detections_; }
  // Input megapixels and bytes per request.
  const RunningStat& input_megapixels() const { return input_mp_; }
  const RunningStat& input_bytes() const { return input_bytes_; }
  const ExampleSet& slowest() const { return slowest_; }
  const TimeBucketStore& time_buckets() const { return time_; }

 private:
  // Fills the state from SQL aggregates instead of records
  // (analyzer/clickhouse_pushdown.h).
  friend class ClickHousePushDown;

  void CountFields(const LogRecord& r);
  void AddDeviceState(const LogRecord& r, int64_t gpu, TimeBucket* bucket);
  void AddRequest(const LogRecord& r, int64_t gpu, TimeBucket* bucket);
  void AddBatch(const LogRecord& r, int64_t gpu, TimeBucket* bucket);
  void AddGpuSample(const LogRecord& r, int64_t gpu, TimeBucket* bucket);
  StreamStats& Stream(std::string_view name);
  WorkStats& Work(const WorkKey& key, std::string_view model);
  WorkStats& FindOrAddWork(const WorkKey& key, std::string_view model);
  void AddToCell(TimeBucket* bucket, const WorkKey& key, WorkStats* w, double inference,
                 double total);
  void Flagged(RecordFlag f, const LogRecord& r, double value);
  // OOM / allocation-retry / memory-high flags of a request or batch record;
  // mem_ratio is NaN when unknown.
  void FlagDeviceMemory(const LogRecord& r, bool has_status, bool is_oom, double mem_ratio,
                        int64_t retry_delta);
  RequestExample MakeExample(const LogRecord& r, double value) const;

  AggregatorConfig config_;
  int64_t records_ = 0, requests_ = 0, batches_ = 0, gpu_samples_ = 0, other_records_ = 0;
  int64_t monotonic_ts_records_ = 0;
  int64_t invalid_values_ = 0;
  std::array<int64_t, kNumLogFields> field_counts_{};
  RunningStat request_ts_, any_ts_;
  std::array<LatencyHistogram, kNumLogStages> stages_;
  LatencyHistogram batch_inference_;
  int64_t errors_ = 0, refused_ = 0;
  LatencyHistogram refused_latency_{LatencyHistogram::kFineBits};
  LatencyHistogram failed_latency_{LatencyHistogram::kFineBits};
  RunningStat served_ts_;
  std::map<std::string, int64_t> errors_by_status_;
  std::map<int64_t, GroupStats> by_gpu_;
  std::map<std::string, GroupStats> by_model_;
  std::map<std::string, GroupStats> by_replica_;
  GroupStats* last_replica_stats_ = nullptr;
  std::string last_replica_key_;
  std::map<std::string, StreamStats> by_stream_;
  int64_t stream_records_ = 0;
  std::map<int64_t, std::set<int64_t>> batch_instances_;
  std::vector<int64_t> batch_size_requests_, batch_size_batches_, queue_len_;
  RunningStat queue_len_stat_;
  LatencyHistogram queue_len_hist_;
  std::map<WorkKey, WorkStats> work_;
  std::unordered_map<WorkKey, WorkStats*, WorkKeyHash> work_index_;  // lookup into work_.
  std::array<std::pair<WorkKey, WorkStats*>, 256> work_cache_{};     // in front of work_index_.
  std::array<FlagCounter, kNumRecordFlags> flags_;
  LowLoadStats low_load_;
  // Cumulative alloc_retries, per source key (see RetryTrack).
  std::map<std::string, CounterTrack> retry_tracks_;
  std::string retry_key_;  // scratch (no allocation per record once grown).
  // The tracks of the last few sources (records of a couple of GPUs and
  // instances interleave): skips building the key and the map lookup on the
  // hot path.
  struct RetrySource {
    CounterTrack* track = nullptr;  // nullptr: an empty entry
    RecordKind kind = RecordKind::kRequest;
    int64_t gpu = 0, instance = 0;
    std::string source;
  };
  std::array<RetrySource, 8> retry_sources_;
  size_t retry_hit_ = 0;   // the entry that matched last
  size_t retry_next_ = 0;  // round-robin replacement
  int64_t retry_points_ = 0;
  // The track of `r`'s source, and the increase since that source's previous
  // record in this aggregator (0 when unknown).
  int64_t RetryDelta(const LogRecord& r, int64_t gpu);
  PairMoments detections_vs_post_;
  RunningStat detections_, input_mp_, input_bytes_;
  ExampleSet slowest_;
  TimeBucketStore time_;

  // Lookup caches (records of one model/gpu/key tend to come in runs).
  std::string last_model_;
  GroupStats* last_model_stats_ = nullptr;
  int64_t last_gpu_ = 0;
  GroupStats* last_gpu_stats_ = nullptr;
  WorkKey last_key_;
  WorkStats* last_work_ = nullptr;
};

}  // namespace yoloscope
