#include "analyzer/aggregate/log_aggregator.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace yoloscope {
namespace {

constexpr size_t kMaxBatchSlot = 1024;
constexpr size_t kMaxQueueLenSlot = 4096;
constexpr int64_t kNoTs = std::numeric_limits<int64_t>::max();

constexpr std::string_view kStageNames[kNumLogStages] = {
    "queue", "decode", "preprocess", "h2d", "inference", "d2h", "postprocess", "total"};
constexpr std::string_view kStageFields[kNumLogStages] = {
    "queue_ms",     "decode_ms", "preprocess_ms",  "h2d_ms",
    "inference_ms", "d2h_ms",    "postprocess_ms", "total_ms"};
constexpr std::string_view kFieldNames[kNumLogFields] = {
    "ts",
    "request_id",
    "model",
    "gpu_id",
    "input_w/input_h",
    "batch_size",
    "queue_len",
    "queue_ms",
    "decode_ms",
    "preprocess_ms",
    "h2d_ms",
    "inference_ms",
    "d2h_ms",
    "postprocess_ms",
    "total_ms",
    "detections",
    "status",
    "error",
    "gpu_util",
    "mem_used_mb",
    "mem_total_mb",
    "mem_reserved_mb",
    "mem_allocated_mb",
    "mem_inactive_split_mb",
    "mem_other_processes_mb",
    "sm_clock_mhz",
    "throttle_reasons",
    "temp_c",
    "alloc_retries",
    "oom",
};

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool EqualsCi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

size_t FindCi(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && Lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool ContainsCi(std::string_view hay, std::string_view lower_needle) {
  return FindCi(hay, lower_needle) != std::string_view::npos;
}

// `lower_token` bounded by non-alphanumerics (so "oom" does not match "room").
bool ContainsTokenCi(std::string_view hay, std::string_view lower_token) {
  size_t from = 0;
  while (from < hay.size()) {
    const size_t at = FindCi(hay.substr(from), lower_token);
    if (at == std::string_view::npos) return false;
    const size_t pos = from + at;
    const bool left_ok = pos == 0 || !std::isalnum(static_cast<unsigned char>(hay[pos - 1]));
    const size_t end = pos + lower_token.size();
    const bool right_ok = end >= hay.size() || !std::isalnum(static_cast<unsigned char>(hay[end]));
    if (left_ok && right_ok) return true;
    from = pos + 1;
  }
  return false;
}

bool IsOkStatus(std::string_view s) {
  if (s == "ok") return true;  // the common case, before the case-insensitive scans
  return EqualsCi(s, "ok") || EqualsCi(s, "success") || s == "200" || EqualsCi(s, "succeeded") ||
         EqualsCi(s, "successful") || s == "\xE6\x88\x90\xE5\x8A\x9F" /* 成功 */ ||
         s == "\xE6\xAD\xA3\xE5\xB8\xB8" /* 正常 */;
}

bool IsOomText(std::string_view s) {
  if (s.size() < 3) return false;  // "ok", "": the common case (every served request)
  return ContainsTokenCi(s, "oom") || ContainsCi(s, "out of memory") ||
         ContainsCi(s, "out_of_memory") || ContainsCi(s, "outofmemory");
}

bool IsRejection(std::string_view s) {
  return s == "503" || s == "429" || ContainsCi(s, "queue_full") || ContainsCi(s, "queue full") ||
         ContainsCi(s, "overload") || ContainsCi(s, "reject") || ContainsCi(s, "too_many") ||
         ContainsCi(s, "too many") || ContainsCi(s, "resource_exhausted") ||
         ContainsCi(s, "unavailable") || ContainsCi(s, "busy");
}

// nvidia-smi clocks_throttle_reasons: 0x4 SW power cap, 0x8 HW slowdown,
// 0x20 SW thermal, 0x40 HW thermal, 0x80 HW power brake. Idle (0x1),
// application clocks (0x2) and sync boost (0x10) are not slowdowns.
bool IsThrottled(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return false;
  constexpr uint64_t kSlowdownBits = 0x4 | 0x8 | 0x20 | 0x40 | 0x80;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    uint64_t mask = 0;
    auto res = std::from_chars(s.data() + 2, s.data() + s.size(), mask, 16);
    if (res.ec == std::errc()) return (mask & kSlowdownBits) != 0;
  }
  if (std::all_of(s.begin(), s.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    uint64_t mask = 0;
    auto res = std::from_chars(s.data(), s.data() + s.size(), mask, 10);
    return res.ec == std::errc() && (mask & kSlowdownBits) != 0;
  }
  if (ContainsCi(s, "not active") || EqualsCi(s, "none") || EqualsCi(s, "idle") ||
      EqualsCi(s, "gpuidle") || EqualsCi(s, "gpu_idle")) {
    return false;
  }
  return ContainsCi(s, "thermal") || ContainsCi(s, "power") || ContainsCi(s, "slowdown") ||
         ContainsCi(s, "brake") || ContainsTokenCi(s, "hw") || ContainsCi(s, "throttl");
}

// gpu_id, from `gpu_id` or a "cuda:N" device; -1 = CPU, -2 = unknown, -3 =
// an id >= max_gpus (bounded state whatever the log says).
int64_t ResolveGpu(const LogRecord& r, int max_gpus) {
  const auto cap = [max_gpus](int64_t id) { return id < max_gpus ? id : int64_t{-3}; };
  if (r.gpu_id && *r.gpu_id >= 0) return cap(*r.gpu_id);
  std::string_view d = r.device;
  if (d.empty()) return -2;
  if (EqualsCi(d, "cpu")) return -1;
  const size_t colon = d.find(':');
  if (colon != std::string_view::npos) {
    int64_t id = 0;
    auto res = std::from_chars(d.data() + colon + 1, d.data() + d.size(), id);
    if (res.ec == std::errc() && id >= 0) return cap(id);
  }
  if (ContainsCi(d, "cuda") || ContainsCi(d, "gpu")) return 0;
  return -2;
}

void Bump(std::vector<int64_t>* v, int64_t index, size_t slots) {
  if (v->empty()) v->assign(slots + 1, 0);
  const size_t i = index < 0 ? 0 : std::min(static_cast<size_t>(index), slots);
  ++(*v)[i];
}

void MergeVec(std::vector<int64_t>* into, const std::vector<int64_t>& from) {
  if (from.empty()) return;
  if (into->empty()) {
    *into = from;
    return;
  }
  for (size_t i = 0; i < from.size() && i < into->size(); ++i) (*into)[i] += from[i];
}

}  // namespace

std::string_view LogStageName(LogStage stage) { return kStageNames[static_cast<int>(stage)]; }
std::string_view LogStageField(LogStage stage) { return kStageFields[static_cast<int>(stage)]; }
std::string_view LogFieldName(LogField field) { return kFieldNames[static_cast<int>(field)]; }

void GroupStats::Merge(const GroupStats& o) {
  requests += o.requests;
  errors += o.errors;
  ts_us.Merge(o.ts_us);
  total.Merge(o.total);
  inference.Merge(o.inference);
  batch_size.Merge(o.batch_size);
  inverse_batch_size.Merge(o.inverse_batch_size);
  mem_used.Merge(o.mem_used);
  mem_total.Merge(o.mem_total);
  gpu_util.Merge(o.gpu_util);
}

void StreamStats::AddCounters(const LogRecord& r) {
  const int64_t ts = r.ts_us.value_or(INT64_MIN + 1);
  if (r.frames_read && *r.frames_read > 0 && r.ts_us && ts < first_counters_ts_us) {
    first_counters_ts_us = ts;
    first_frames_read = r.frames_read;
    first_frames_dropped = r.frames_dropped;
    first_frames_skipped = r.frames_skipped;
  }
  if (ts < counters_ts_us) return;  // an older record than the one kept
  counters_ts_us = ts;
  frames_read = r.frames_read;
  frames_dropped = r.frames_dropped;
  frames_skipped = r.frames_skipped;
  target_fps = r.target_fps;
  source_fps = r.source_fps;
  if (!r.source_kind.empty()) source_kind = std::string(r.source_kind);
  if (r.realtime) realtime = r.realtime;
}

void StreamStats::Merge(const StreamStats& o) {
  frames += o.frames;
  errors += o.errors;
  ts_us.Merge(o.ts_us);
  total.Merge(o.total);
  decode_ms.Merge(o.decode_ms);
  queue_ms.Merge(o.queue_ms);
  inference_ms.Merge(o.inference_ms);
  batch_size.Merge(o.batch_size);
  preprocess_ms.Merge(o.preprocess_ms);
  postprocess_ms.Merge(o.postprocess_ms);
  for (const auto& [gpu, n] : o.gpus) {
    auto it = gpus.find(gpu);
    if (it != gpus.end()) {
      it->second += n;
    } else if (gpus.size() < kMaxGpus) {
      gpus.emplace(gpu, n);
    }
  }
  index_steps += o.index_steps;
  step_pairs += o.step_pairs;
  pts_steps_ms += o.pts_steps_ms;
  ts_steps_ms += o.ts_steps_ms;
  stalls += o.stalls;
  stall_ms += o.stall_ms;
  stall_decode_ms += o.stall_decode_ms;
  if (o.first_counters_ts_us < first_counters_ts_us) {
    first_counters_ts_us = o.first_counters_ts_us;
    first_frames_read = o.first_frames_read;
    first_frames_dropped = o.first_frames_dropped;
    first_frames_skipped = o.first_frames_skipped;
  }
  if (o.counters_ts_us > counters_ts_us) {
    counters_ts_us = o.counters_ts_us;
    frames_read = o.frames_read;
    frames_dropped = o.frames_dropped;
    frames_skipped = o.frames_skipped;
    target_fps = o.target_fps;
    source_fps = o.source_fps;
  }
  if (source_kind.empty()) source_kind = o.source_kind;
  if (!realtime) realtime = o.realtime;
}

void WorkStats::Merge(const WorkStats& o) {
  if (model.empty()) model = o.model;
  inference.Merge(o.inference);
  total.Merge(o.total);
  inference_mem_high.Merge(o.inference_mem_high);
  inference_mem_normal.Merge(o.inference_mem_normal);
  total_mem_high.Merge(o.total_mem_high);
  total_mem_normal.Merge(o.total_mem_normal);
  mem_ratio.Merge(o.mem_ratio);
  mem_used.Merge(o.mem_used);
  ooms += o.ooms;
  alloc_retries += o.alloc_retries;
  first.Merge(o.first);
}

LogAggregator::LogAggregator(AggregatorConfig config)
    : config_(config),
      slowest_(config.slowest_requests, ExampleSet::Order::kLargest),
      time_(config.max_time_buckets, config.max_time_cells) {
  const int n = config_.examples_per_finding;
  for (int f = 0; f < kNumRecordFlags; ++f) {
    const RecordFlag flag = static_cast<RecordFlag>(f);
    const bool earliest = flag == RecordFlag::kOom || flag == RecordFlag::kAllocRetry ||
                          flag == RecordFlag::kRejected || flag == RecordFlag::kError ||
                          flag == RecordFlag::kThrottled;
    flags_[static_cast<size_t>(f)].examples =
        ExampleSet(n, earliest ? ExampleSet::Order::kEarliest : ExampleSet::Order::kLargest);
  }
}

void LogAggregator::CountFields(const LogRecord& r) {
  auto count = [this](LogField f, bool present) {
    if (present) ++field_counts_[static_cast<size_t>(f)];
  };
  count(LogField::kTs, r.ts_us.has_value());
  count(LogField::kRequestId, !r.request_id.empty());
  count(LogField::kModel, !r.model.empty());
  count(LogField::kGpuId, r.gpu_id.has_value() || !r.device.empty());
  count(LogField::kInputSize, r.input_w.has_value() && r.input_h.has_value());
  count(LogField::kBatchSize, r.batch_size.has_value());
  count(LogField::kQueueLen, r.queue_len.has_value());
  count(LogField::kQueueMs, r.queue_ms.has_value());
  count(LogField::kDecodeMs, r.decode_ms.has_value());
  count(LogField::kPreprocessMs, r.preprocess_ms.has_value());
  count(LogField::kH2dMs, r.h2d_ms.has_value());
  count(LogField::kInferenceMs, r.inference_ms.has_value());
  count(LogField::kD2hMs, r.d2h_ms.has_value());
  count(LogField::kPostprocessMs, r.postprocess_ms.has_value());
  count(LogField::kTotalMs, r.total_ms.has_value());
  count(LogField::kDetections, r.detections.has_value());
  count(LogField::kStatus, !r.status.empty());
  count(LogField::kError, !r.error.empty());
  count(LogField::kGpuUtil, r.gpu_util.has_value());
  count(LogField::kMemUsed, r.mem_used_mb.has_value());
  count(LogField::kMemTotal, r.mem_total_mb.has_value());
  count(LogField::kMemReserved, r.mem_reserved_mb.has_value());
  count(LogField::kMemAllocated, r.mem_allocated_mb.has_value());
  count(LogField::kMemInactiveSplit, r.mem_inactive_split_mb.has_value());
  count(LogField::kMemOther, r.mem_other_processes_mb.has_value());
  count(LogField::kSmClock, r.sm_clock_mhz.has_value());
  count(LogField::kThrottleReasons, !r.throttle_reasons.empty());
  count(LogField::kTemp, r.temp_c.has_value());
  count(LogField::kAllocRetries, r.alloc_retries.has_value());
  count(LogField::kOom, r.oom.has_value());
}

RequestExample LogAggregator::MakeExample(const LogRecord& r, double value) const {
  RequestExample e;
  if (!r.request_id.empty()) {
    e.id.assign(r.request_id);
  } else {
    e.id.assign(r.source.empty() ? std::string_view("line") : r.source);
    e.id += ':';
    e.id += std::to_string(r.line);
  }
  e.ts_us = r.ts_us.value_or(kNoTs);
  e.line = r.line;
  e.value = value;
  e.stage_ms.fill(std::numeric_limits<float>::quiet_NaN());
  return e;
}

void LogAggregator::Flagged(RecordFlag f, const LogRecord& r, double value) {
  FlagCounter& c = flags_[static_cast<size_t>(f)];
  ++c.hits;
  if (c.examples.WouldKeep(r.ts_us.value_or(kNoTs), r.line, value)) {
    c.examples.Offer(MakeExample(r, value));
  }
}

WorkStats& LogAggregator::Work(const WorkKey& key, std::string_view model) {
  if (last_work_ != nullptr && key == last_key_) return *last_work_;
  // A small direct-mapped cache in front of the hash index: records of a
  // handful of keys interleave.
  auto& slot = work_cache_[WorkKeyHash()(key) & (work_cache_.size() - 1)];
  if (slot.second != nullptr && slot.first == key) {
    last_key_ = key;
    last_work_ = slot.second;
    return *slot.second;
  }
  if (auto hit = work_index_.find(key); hit != work_index_.end()) {
    slot = {key, hit->second};
    last_key_ = key;
    last_work_ = hit->second;
    return *hit->second;
  }
  WorkStats& w = FindOrAddWork(key, model);
  work_index_[key] = &w;
  last_key_ = key;
  last_work_ = &w;
  return w;
}

// Past max_work_keys, new keys share one "(other)" entry per record kind so
// the map stays bounded.
WorkStats& LogAggregator::FindOrAddWork(const WorkKey& key, std::string_view model) {
  auto it = work_.find(key);
  if (it != work_.end()) return it->second;
  if (static_cast<int>(work_.size()) >= config_.max_work_keys) {
    WorkKey other;
    other.batch_size = -1;
    other.from_batch_record = key.from_batch_record;
    it = work_.try_emplace(other).first;
    it->second.key = other;
    if (it->second.model.empty()) it->second.model = "(other)";
    return it->second;
  }
  it = work_.try_emplace(key).first;
  it->second.key = key;
  it->second.model.assign(model);
  it->second.first = ExampleSet(config_.first_samples_per_key, ExampleSet::Order::kEarliest);
  return it->second;
}

// The OOM, allocation-retry and memory-high flags, the same for request and
// batch records. A record can say "no OOM" through `oom` or through a status.
void LogAggregator::FlagDeviceMemory(const LogRecord& r, bool has_status, bool is_oom,
                                     double mem_ratio, int64_t retry_delta) {
  auto eligible = [this](RecordFlag f) { ++flags_[static_cast<size_t>(f)].eligible; };
  if (r.oom || has_status) {
    eligible(RecordFlag::kOom);
    if (is_oom) Flagged(RecordFlag::kOom, r, 1.0);
  }
  if (r.alloc_retries) {
    eligible(RecordFlag::kAllocRetry);
    if (retry_delta > 0) Flagged(RecordFlag::kAllocRetry, r, static_cast<double>(retry_delta));
  }
  if (!std::isnan(mem_ratio)) {
    eligible(RecordFlag::kMemHigh);
    if (mem_ratio >= config_.mem_high_ratio) Flagged(RecordFlag::kMemHigh, r, mem_ratio);
  }
}

void LogAggregator::AddToCell(TimeBucket* bucket, const WorkKey& key, WorkStats* w,
                              double inference, double total) {
  // The cached index is checked against the key: a cell appended since, or a
  // coarsening that rebuilt the bucket, simply misses and searches again.
  WorkCell* c = nullptr;
  bool added = false;
  if (w->cell_bucket == bucket && w->cell_index < bucket->work.size() &&
      bucket->work[w->cell_index].key == key) {
    c = &bucket->work[w->cell_index];
  } else {
    c = &bucket->Cell(key, &added);
    w->cell_bucket = bucket;
    w->cell_index = static_cast<size_t>(c - bucket->work.data());
  }
  if (!std::isnan(inference)) {
    ++c->inference_n;
    c->inference_sum += inference;
  } else if (!std::isnan(total)) {
    ++c->total_n;
    c->total_sum += total;
  }
  if (added) time_.CellAdded();  // May coarsen: `bucket` is stale after this.
}

int64_t LogAggregator::RetryDelta(const LogRecord& r, int64_t gpu) {
  if (!r.alloc_retries) return 0;
  const int64_t v = std::max<int64_t>(0, *r.alloc_retries);
  const int64_t instance = r.instance.value_or(-1);
  auto same = [&](const RetrySource& e) {
    return e.track != nullptr && e.gpu == gpu && e.instance == instance && e.kind == r.kind &&
           e.source == r.source;
  };
  if (!same(retry_sources_[retry_hit_])) {
    size_t i = 0;
    while (i < retry_sources_.size() && !same(retry_sources_[i])) ++i;
    if (i == retry_sources_.size()) {
      retry_key_.assign(r.kind == RecordKind::kBatch ? "b\x1f" : "r\x1f");
      retry_key_ += r.source;
      retry_key_ += '\x1f';
      retry_key_ += std::to_string(gpu);
      retry_key_ += '\x1f';
      retry_key_ += std::to_string(instance);
      auto it = retry_tracks_.find(retry_key_);
      if (it == retry_tracks_.end()) {
        it = retry_tracks_.try_emplace(retry_key_).first;
        it->second.batch = r.kind == RecordKind::kBatch;
      }
      i = retry_next_++ % retry_sources_.size();
      RetrySource& e = retry_sources_[i];
      e.track = &it->second;  // std::map nodes stay put.
      e.kind = r.kind;
      e.gpu = gpu;
      e.instance = instance;
      e.source.assign(r.source);
    }
    retry_hit_ = i;
  }
  CounterTrack& t = *retry_sources_[retry_hit_].track;
  int64_t delta = 0;
  if (t.last < 0) {
    delta = v;  // counted from the process start.
  } else if (v >= t.last) {
    delta = v - t.last;
  } else if (2 * v < t.last) {
    delta = v;  // restarted.
  }
  t.raw_sum += v;
  if (v > 0) ++t.positive;
  if (t.last >= 0 && v != t.last) {
    ++t.changes;
    if (v < t.last) ++t.drops;
  }
  if (v != t.last) {
    // Bounded: past the cap a source keeps its running maximum only.
    constexpr int64_t kMaxRetryPoints = 1 << 20;
    if (retry_points_ < kMaxRetryPoints || t.points.empty()) {
      t.points.push_back({r.ts_us.value_or(kNoTs), r.line, v});
      ++retry_points_;
    } else if (v > t.points.back().value) {
      t.points.back().value = v;
    }
  }
  if (t.last < 0 || v >= t.last || 2 * v < t.last) t.last = v;
  return delta;
}

namespace {

// Positive steps of one source's counter, in time order.
void TrackIncrements(const CounterTrack& t, std::vector<CounterIncrement>* out) {
  std::vector<CounterPoint> p = t.points;
  std::sort(p.begin(), p.end(), [](const CounterPoint& a, const CounterPoint& b) {
    return a.ts_us != b.ts_us ? a.ts_us < b.ts_us : a.line < b.line;
  });
  int64_t last = -1;
  for (const CounterPoint& c : p) {
    int64_t delta = 0;
    if (last < 0) {
      delta = c.value;
    } else if (c.value >= last) {
      delta = c.value - last;
    } else if (2 * c.value < last) {
      delta = c.value;
    } else {
      continue;  // out of order: an older value written late.
    }
    last = c.value;
    if (delta > 0) out->push_back({c.ts_us, delta});
  }
}

}  // namespace

bool LogAggregator::alloc_retries_from_batches() const {
  return std::any_of(retry_tracks_.begin(), retry_tracks_.end(),
                     [](const auto& kv) { return kv.second.batch; });
}

std::vector<CounterIncrement> LogAggregator::alloc_retry_increments() const {
  std::vector<CounterIncrement> out;
  const bool batches = alloc_retries_from_batches();
  for (const auto& [key, t] : retry_tracks_) {
    if (t.batch == batches && !t.PerRecord()) TrackIncrements(t, &out);
  }
  return out;
}

bool LogAggregator::alloc_retries_per_record() const {
  const bool batches = alloc_retries_from_batches();
  return std::any_of(retry_tracks_.begin(), retry_tracks_.end(), [batches](const auto& kv) {
    return kv.second.batch == batches && kv.second.PerRecord();
  });
}

int64_t LogAggregator::alloc_retry_records() const {
  int64_t records = 0;
  const bool batches = alloc_retries_from_batches();
  std::vector<CounterIncrement> increments;
  for (const auto& [key, t] : retry_tracks_) {
    if (t.batch != batches) continue;
    if (t.PerRecord()) {
      records += t.positive;
    } else {
      increments.clear();
      TrackIncrements(t, &increments);
      records += static_cast<int64_t>(increments.size());
    }
  }
  return records;
}

int64_t LogAggregator::alloc_retries_total() const {
  int64_t total = 0;
  const bool batches = alloc_retries_from_batches();
  for (const auto& [key, t] : retry_tracks_) {
    if (t.batch == batches && t.PerRecord()) total += t.raw_sum;
  }
  for (const CounterIncrement& i : alloc_retry_increments()) total += i.delta;
  return total;
}

void LogAggregator::OnRecord(const LogRecord& r) {
  ++records_;
  CountFields(r);
  TimeBucket* bucket = nullptr;
  if (r.ts_us) {
    if (r.ts_monotonic) ++monotonic_ts_records_;
    any_ts_.Add(static_cast<double>(*r.ts_us));
    bucket = &time_.At(*r.ts_us);
    ++bucket->records;
  }
  const int64_t gpu = ResolveGpu(r, config_.max_gpus);
  switch (r.kind) {
    case RecordKind::kRequest:
      AddDeviceState(r, gpu, bucket);
      AddRequest(r, gpu, bucket);
      break;
    case RecordKind::kBatch:
      AddDeviceState(r, gpu, bucket);
      AddBatch(r, gpu, bucket);
      break;
    case RecordKind::kGpu:
      AddDeviceState(r, gpu, bucket);
      AddGpuSample(r, gpu, bucket);
      break;
    case RecordKind::kStream:
      ++stream_records_;
      ++other_records_;
      if (!r.stream.empty()) Stream(r.stream).AddCounters(r);
      break;
    case RecordKind::kAlert:
    case RecordKind::kConfig:  // read by the what-if model (ProfileBuilder)
    case RecordKind::kOther:
      ++other_records_;
      break;
  }
}

StreamStats& LogAggregator::Stream(std::string_view name) {
  auto it = by_stream_.find(std::string(name));
  if (it != by_stream_.end()) return it->second;
  if (static_cast<int>(by_stream_.size()) >= config_.max_models) {
    return by_stream_.try_emplace("(other)").first->second;
  }
  return by_stream_.try_emplace(std::string(name)).first->second;
}

void LogAggregator::AddDeviceState(const LogRecord& r, int64_t gpu, TimeBucket* bucket) {
  const bool any = r.mem_used_mb || r.mem_total_mb || r.mem_reserved_mb || r.mem_allocated_mb ||
                   r.mem_inactive_split_mb || r.mem_other_processes_mb || r.gpu_util ||
                   r.sm_clock_mhz || r.temp_c || r.power_w || !r.throttle_reasons.empty();
  if (!any) return;
  if (r.kind != RecordKind::kRequest) {
    GroupStats& g = by_gpu_[gpu];
    if (r.mem_used_mb) g.mem_used.Add(*r.mem_used_mb);
    if (r.mem_total_mb) g.mem_total.Add(*r.mem_total_mb);
    if (r.gpu_util) g.gpu_util.Add(*r.gpu_util);
  }
  if (bucket == nullptr) return;
  DeviceWindow& d = bucket->Device(gpu);
  if (r.mem_used_mb) d.mem_used.Add(*r.mem_used_mb);
  if (r.mem_total_mb) d.mem_total.Add(*r.mem_total_mb);
  if (r.mem_used_mb && r.mem_total_mb && *r.mem_total_mb > 0) {
    d.mem_ratio.Add(*r.mem_used_mb / *r.mem_total_mb);
  }
  if (r.mem_reserved_mb) d.mem_reserved.Add(*r.mem_reserved_mb);
  if (r.mem_allocated_mb) d.mem_allocated.Add(*r.mem_allocated_mb);
  if (r.mem_inactive_split_mb) d.mem_inactive_split.Add(*r.mem_inactive_split_mb);
  if (r.mem_other_processes_mb) d.mem_other.Add(*r.mem_other_processes_mb);
  if (r.gpu_util) d.gpu_util.Add(*r.gpu_util);
  if (r.sm_clock_mhz) d.sm_clock.Add(*r.sm_clock_mhz);
  if (r.temp_c) d.temp.Add(*r.temp_c);
  if (r.power_w) d.power.Add(*r.power_w);
  // An empty throttle_reasons means "none active" or "unknown" alike, so every
  // gpu sample counts and only non-empty, slowing reasons count as throttled.
  if (r.kind == RecordKind::kGpu) ++d.throttle_samples;
  if (!r.throttle_reasons.empty() && IsThrottled(r.throttle_reasons)) ++d.throttled;
}

void LogAggregator::AddRequest(const LogRecord& r, int64_t gpu, TimeBucket* bucket) {
  ++requests_;
  const int64_t retry_delta = RetryDelta(r, gpu);
  if (r.ts_us) request_ts_.Add(static_cast<double>(*r.ts_us));

  // Stage values; negative or non-finite ones are counted and ignored.
  constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
  const std::optional<double>* fields[kNumLogStages] = {
      &r.queue_ms,     &r.decode_ms, &r.preprocess_ms,  &r.h2d_ms,
      &r.inference_ms, &r.d2h_ms,    &r.postprocess_ms, &r.total_ms};
  double v[kNumLogStages];
  int stages_present = 0;
  double stage_sum = 0.0;
  for (int s = 0; s < kNumLogStages; ++s) {
    v[s] = kNan;
    if (!fields[s]->has_value()) continue;
    const double x = **fields[s];
    if (!std::isfinite(x) || x < 0) {
      ++invalid_values_;
      continue;
    }
    v[s] = x;
    if (s != static_cast<int>(LogStage::kTotal)) {
      ++stages_present;
      stage_sum += x;
    }
  }
  // A video frame's decode_ms is its stream reader's, spent before the
  // frame's capture time: it is not part of its total_ms (and for a live
  // source it includes waiting for the camera). It feeds the stream's own
  // statistics only, never the request stages nor decode + preprocess.
  double frame_decode = kNan;
  if (!r.stream.empty() && !std::isnan(v[static_cast<int>(LogStage::kDecode)])) {
    frame_decode = v[static_cast<int>(LogStage::kDecode)];
    v[static_cast<int>(LogStage::kDecode)] = kNan;
    --stages_present;
    stage_sum -= frame_decode;
  }
  auto has = [&v](LogStage s) { return !std::isnan(v[static_cast<int>(s)]); };
  auto val = [&v](LogStage s) { return v[static_cast<int>(s)]; };
  const double total =
      has(LogStage::kTotal) ? val(LogStage::kTotal) : (stages_present >= 2 ? stage_sum : kNan);
  const bool has_pre = has(LogStage::kDecode) || has(LogStage::kPreprocess);
  const double pre = (has(LogStage::kDecode) ? val(LogStage::kDecode) : 0.0) +
                     (has(LogStage::kPreprocess) ? val(LogStage::kPreprocess) : 0.0);
  const bool has_xfer = has(LogStage::kH2d) || has(LogStage::kD2h);
  const double xfer = (has(LogStage::kH2d) ? val(LogStage::kH2d) : 0.0) +
                      (has(LogStage::kD2h) ? val(LogStage::kD2h) : 0.0);
  const double inference = val(LogStage::kInference);
  const double latency = !std::isnan(total) ? total : inference;  // what "slow" means.

  // Status.
  const bool has_status = !r.status.empty() || !r.error.empty();
  const bool is_error = !r.status.empty() ? !IsOkStatus(r.status) : !r.error.empty();
  const bool oom_text =
      (!r.status.empty() && IsOomText(r.status)) || (!r.error.empty() && IsOomText(r.error));
  const bool is_oom = (r.oom && *r.oom) || oom_text;
  const bool rejected =
      is_error && (IsRejection(r.status) || (r.status.empty() && IsRejection(r.error)));
  // Served requests feed the latency figures; refused and failed ones keep
  // their own (a refusal in 0.2 ms is not a fast request).
  if (!is_error) {
    if (r.ts_us) served_ts_.Add(static_cast<double>(*r.ts_us));
    for (int s = 0; s < kNumLogStages; ++s) {
      if (!std::isnan(v[s])) stages_[static_cast<size_t>(s)].Record(v[s]);
    }
  } else if (!std::isnan(latency)) {
    (rejected ? refused_latency_ : failed_latency_).Record(latency);
  }
  if (rejected) ++refused_;
  if (is_error) {
    ++errors_;
    std::string_view key = !r.status.empty() ? r.status : std::string_view("error");
    auto it = errors_by_status_.find(std::string(key));
    if (it != errors_by_status_.end()) {
      ++it->second;
    } else if (static_cast<int>(errors_by_status_.size()) < config_.max_statuses) {
      errors_by_status_.emplace(std::string(key), 1);
    } else {
      ++errors_by_status_["(other)"];
    }
  }

  // Video frames, per stream.
  if (!r.stream.empty()) {
    StreamStats& st = Stream(r.stream);
    ++st.frames;
    if (is_error) ++st.errors;
    if (r.ts_us) st.ts_us.Add(static_cast<double>(*r.ts_us));
    if (!is_error) {
      if (!std::isnan(total)) st.total.Record(total);
      if (!std::isnan(frame_decode)) st.decode_ms.Add(frame_decode);
      if (has(LogStage::kQueue)) st.queue_ms.Add(val(LogStage::kQueue));
      if (!std::isnan(inference)) st.inference_ms.Add(inference);
      if (r.batch_size) st.batch_size.Add(static_cast<double>(*r.batch_size));
      if (has(LogStage::kPreprocess)) st.preprocess_ms.Add(val(LogStage::kPreprocess));
      if (has(LogStage::kPostprocess)) st.postprocess_ms.Add(val(LogStage::kPostprocess));
      auto it = st.gpus.find(gpu);
      if (it != st.gpus.end()) {
        ++it->second;
      } else if (st.gpus.size() < StreamStats::kMaxGpus) {
        st.gpus.emplace(gpu, 1);
      }
    }
    if (r.frame_index && r.ts_us) {
      const int64_t index = *r.frame_index;
      const bool has_pts = r.pts_ms && std::isfinite(*r.pts_ms);
      const double pts = has_pts ? *r.pts_ms : 0.0;
      if (st.last_index >= 0 && index > st.last_index && *r.ts_us >= st.last_ts_us) {
        const double gap_ms = static_cast<double>(*r.ts_us - st.last_ts_us) / 1e3;
        const bool pts_pair = has_pts && st.last_has_pts && pts > st.last_pts_ms &&
                              pts - st.last_pts_ms <= StreamStats::kMaxStepMs;
        const double pts_step = pts_pair ? pts - st.last_pts_ms : 0.0;
        if (gap_ms >= StreamStats::kStallMs && (!pts_pair || gap_ms >= 4 * pts_step)) {
          ++st.stalls;
          st.stall_ms += gap_ms;
          if (!is_error && !std::isnan(frame_decode)) st.stall_decode_ms += frame_decode;
        } else if (pts_pair) {
          st.index_steps += index - st.last_index;
          st.pts_steps_ms += pts_step;
          st.ts_steps_ms += gap_ms;
          ++st.step_pairs;
        }
      }
      st.last_index = index;
      st.last_ts_us = *r.ts_us;
      st.last_pts_ms = pts;
      st.last_has_pts = has_pts;
    }
  }

  // Groups.
  if (last_gpu_stats_ == nullptr || last_gpu_ != gpu) {
    last_gpu_ = gpu;
    last_gpu_stats_ = &by_gpu_[gpu];
  }
  GroupStats& g = *last_gpu_stats_;
  GroupStats* m = last_model_stats_;
  if (m == nullptr || last_model_ != r.model) {
    auto it = by_model_.find(std::string(r.model));
    if (it == by_model_.end()) {
      if (static_cast<int>(by_model_.size()) >= config_.max_models) {
        it = by_model_.try_emplace("(other)").first;
      } else {
        it = by_model_.try_emplace(std::string(r.model)).first;
      }
    }
    last_model_.assign(r.model);
    last_model_stats_ = m = &it->second;
  }
  // Fleet origin (only records read back from the fleet tables carry it).
  GroupStats* rep = nullptr;
  if (!r.host.empty() || !r.replica.empty()) {
    if (last_replica_stats_ == nullptr ||
        last_replica_key_.size() != r.host.size() + 1 + r.replica.size() ||
        std::string_view(last_replica_key_).substr(0, r.host.size()) != r.host ||
        std::string_view(last_replica_key_).substr(r.host.size() + 1) != r.replica) {
      last_replica_key_.assign(r.host);
      last_replica_key_ += '/';
      last_replica_key_ += r.replica;
      auto it = by_replica_.find(last_replica_key_);
      if (it == by_replica_.end()) {
        it = static_cast<int>(by_replica_.size()) >= config_.max_models
                 ? by_replica_.try_emplace("(other)").first
                 : by_replica_.try_emplace(last_replica_key_).first;
      }
      last_replica_stats_ = &it->second;
    }
    rep = last_replica_stats_;
  }
  for (GroupStats* grp : {&g, m, rep}) {
    if (grp == nullptr) continue;
    ++grp->requests;
    if (is_error) ++grp->errors;
    if (r.ts_us) grp->ts_us.Add(static_cast<double>(*r.ts_us));
    if (!is_error && !std::isnan(total)) grp->total.Record(total);
    if (!is_error && !std::isnan(inference)) grp->inference.Record(inference);
    if (r.batch_size) grp->batch_size.Add(static_cast<double>(*r.batch_size));
    if (r.batch_size && *r.batch_size > 0)
      grp->inverse_batch_size.Add(1.0 / static_cast<double>(*r.batch_size));
    if (r.mem_used_mb) grp->mem_used.Add(*r.mem_used_mb);
    if (r.mem_total_mb) grp->mem_total.Add(*r.mem_total_mb);
    if (r.gpu_util) grp->gpu_util.Add(*r.gpu_util);
  }

  // Distributions.
  if (r.batch_size) Bump(&batch_size_requests_, *r.batch_size, kMaxBatchSlot);
  if (r.queue_len) {
    Bump(&queue_len_, *r.queue_len, kMaxQueueLenSlot);
    queue_len_stat_.Add(static_cast<double>(*r.queue_len));
    queue_len_hist_.Record(static_cast<double>(std::max<int64_t>(0, *r.queue_len)));
  }
  if (r.detections) {
    detections_.Add(static_cast<double>(*r.detections));
    if (has(LogStage::kPostprocess)) {
      detections_vs_post_.Add(static_cast<double>(*r.detections), val(LogStage::kPostprocess));
    }
  }
  if (r.input_w && r.input_h && *r.input_w > 0 && *r.input_h > 0) {
    input_mp_.Add(static_cast<double>(*r.input_w) * static_cast<double>(*r.input_h) / 1e6);
  }
  if (r.input_bytes && *r.input_bytes >= 0) input_bytes_.Add(static_cast<double>(*r.input_bytes));

  // Memory pressure of this record.
  double mem_ratio = kNan;
  if (r.mem_used_mb && r.mem_total_mb && *r.mem_total_mb > 0 && *r.mem_used_mb >= 0) {
    mem_ratio = *r.mem_used_mb / *r.mem_total_mb;
  }

  // Equal-work baseline (its time-bucket cell is updated last: adding a cell
  // may coarsen the buckets and invalidate `bucket`).
  WorkStats* cell_work = nullptr;
  WorkKey cell_key;
  // Only successful work is an equal-work sample: a request that never ran
  // (refused with 503, bad image, timeout) made a 0.08 ms "baseline" against
  // which the first real requests looked like a cold start, and a batch that
  // ran out of memory measures the time to fail (4 ms "steady" at batch 24 in
  // an OOM storm). An OOM still counts against its key (for the batch cap).
  const bool work_sample = !is_error && (!std::isnan(inference) || !std::isnan(total));
  if (work_sample || is_oom) {
    WorkKey key;
    key.model_hash = ModelHash(r.model);
    key.gpu_id = static_cast<int32_t>(gpu);
    key.batch_size =
        r.batch_size ? static_cast<int32_t>(std::clamp<int64_t>(*r.batch_size, 0, 1 << 20)) : 0;
    key.size_class = SizeClass(r.input_w.value_or(0), r.input_h.value_or(0));
    WorkStats& w = Work(key, r.model);
    const bool high = !std::isnan(mem_ratio) && mem_ratio >= config_.mem_high_ratio;
    // The equal-work metric is inference_ms; total_ms stands in for records
    // that do not log inference (kept apart, never mixed).
    if (!work_sample) {
      // An OOM: no latency sample.
    } else if (!std::isnan(inference)) {
      w.inference.Record(inference);
      if (!std::isnan(mem_ratio))
        (high ? w.inference_mem_high : w.inference_mem_normal).Record(inference);
    } else {
      w.total.Record(total);
      if (!std::isnan(mem_ratio)) (high ? w.total_mem_high : w.total_mem_normal).Record(total);
    }
    if (!std::isnan(mem_ratio)) w.mem_ratio.Add(mem_ratio);
    if (r.mem_used_mb) w.mem_used.Add(*r.mem_used_mb);
    if (is_oom) ++w.ooms;
    w.alloc_retries += retry_delta;
    // A request slowed by an allocator flush (its source's retry counter
    // went up) is evidence for oom, not a cold-start sample.
    if (work_sample && retry_delta == 0) {
      const double sample = !std::isnan(inference) ? inference : total;
      if (w.first.WouldKeep(r.ts_us.value_or(kNoTs), r.line, sample)) {
        w.first.Offer(MakeExample(r, sample));
      }
    }
    if (work_sample) {
      cell_work = &w;
      cell_key = w.key;
    }
  }

  // Per-record flags.
  auto eligible = [this](RecordFlag f) { ++flags_[static_cast<size_t>(f)].eligible; };
  FlagDeviceMemory(r, has_status, is_oom, mem_ratio, retry_delta);
  if (has_status) {
    eligible(RecordFlag::kError);
    eligible(RecordFlag::kRejected);
    if (is_error) Flagged(RecordFlag::kError, r, 1.0);
    if (rejected) Flagged(RecordFlag::kRejected, r, 1.0);
  }
  if (has(LogStage::kQueue) && !std::isnan(total) && total > 0) {
    eligible(RecordFlag::kQueueDominant);
    const double q = val(LogStage::kQueue);
    if (q >= config_.queue_dominant_share * total && q >= 1.0) {
      Flagged(RecordFlag::kQueueDominant, r, q);
      if (r.queue_len) {
        eligible(RecordFlag::kQueueLoaded);
        if (*r.queue_len >= config_.loaded_queue_len) Flagged(RecordFlag::kQueueLoaded, r, q);
      }
    }
  }
  if (r.batch_size && r.queue_len) {
    eligible(RecordFlag::kUnderbatched);
    if (*r.batch_size <= 1 && *r.queue_len >= config_.loaded_queue_len) {
      Flagged(RecordFlag::kUnderbatched, r, static_cast<double>(*r.queue_len));
    }
  }
  if (!std::isnan(total) && total > 0) {
    if (has_pre) {
      eligible(RecordFlag::kPreDominant);
      if (pre >= config_.stage_dominant_share * total && pre >= 0.5)
        Flagged(RecordFlag::kPreDominant, r, pre);
    }
    if (has_xfer) {
      eligible(RecordFlag::kTransferDominant);
      if (xfer >= config_.stage_dominant_share * total && xfer >= 0.5) {
        Flagged(RecordFlag::kTransferDominant, r, xfer);
      }
    }
    if (has(LogStage::kPostprocess)) {
      eligible(RecordFlag::kPostDominant);
      const double post = val(LogStage::kPostprocess);
      if (post >= config_.stage_dominant_share * total && post >= 0.5) {
        Flagged(RecordFlag::kPostDominant, r, post);
      }
    }
  }

  // Low load: nobody else waiting.
  if (has(LogStage::kQueue)) {
    const bool low = r.queue_len ? *r.queue_len <= 1 : (r.batch_size && *r.batch_size <= 1);
    if (low) {
      eligible(RecordFlag::kLowLoadWait);
      if (!std::isnan(total) && val(LogStage::kQueue) >= 0.3 * total &&
          val(LogStage::kQueue) >= 1.0) {
        Flagged(RecordFlag::kLowLoadWait, r, val(LogStage::kQueue));
      }
      ++low_load_.requests;
      low_load_.queue_ms.Record(val(LogStage::kQueue));
      if (!std::isnan(total)) low_load_.total_ms.Add(total);
      if (r.batch_size) low_load_.batch_size.Add(static_cast<double>(*r.batch_size));
      if (!std::isnan(inference)) low_load_.inference_ms.Add(inference);
    }
  }

  // Slowest requests.
  RequestExample slow_example;
  bool have_slow_example = false;
  if (!std::isnan(latency)) {
    if (slowest_.WouldKeep(r.ts_us.value_or(kNoTs), r.line, latency)) {
      slow_example = MakeExample(r, latency);
      for (int s = 0; s < kNumLogStages - 1; ++s) {
        slow_example.stage_ms[static_cast<size_t>(s)] = static_cast<float>(v[s]);
      }
      slow_example.error = is_error;
      have_slow_example = true;
      slowest_.Offer(slow_example);
    }
  }

  // Time bucket.
  if (bucket != nullptr) {
    TimeBucket& b = *bucket;
    ++b.requests;
    b.request_ts.Add(static_cast<double>(*r.ts_us));
    if (is_error) ++b.errors;
    if (rejected) ++b.rejections;
    if (is_oom) ++b.ooms;
    b.alloc_retries += retry_delta;
    if (r.alloc_retries && *r.alloc_retries > 0) b.alloc_retries_raw += *r.alloc_retries;
    if (!is_error && !std::isnan(total)) {
      b.total_ms.Add(total);
      b.total_hist.Record(total);
    }
    if (!is_error && !std::isnan(inference)) {
      b.inference_ms.Add(inference);
      b.inference_hist.Record(inference);
    }
    if (has(LogStage::kQueue)) b.queue_ms.Add(val(LogStage::kQueue));
    if (has_pre) b.pre_ms.Add(pre);
    if (has_xfer) b.xfer_ms.Add(xfer);
    if (has(LogStage::kPostprocess)) b.post_ms.Add(val(LogStage::kPostprocess));
    if (r.queue_len) b.queue_len.Add(static_cast<double>(*r.queue_len));
    if (r.batch_size) b.batch_size.Add(static_cast<double>(*r.batch_size));
    if (!std::isnan(latency) && (!b.has_slowest || latency >= b.slowest.value)) {
      if (!have_slow_example) {
        slow_example = MakeExample(r, latency);
        slow_example.error = is_error;
      }
      b.OfferSlowest(slow_example);
    }
  }
  if (bucket != nullptr && cell_work != nullptr)
    AddToCell(bucket, cell_key, cell_work, inference, total);
}

void LogAggregator::AddBatch(const LogRecord& r, int64_t gpu, TimeBucket* bucket) {
  ++batches_;
  if (r.instance) {
    std::set<int64_t>& inst = batch_instances_[gpu];
    if (inst.size() < 64) inst.insert(*r.instance);
  }
  const int64_t retry_delta = RetryDelta(r, gpu);
  if (r.batch_size) Bump(&batch_size_batches_, *r.batch_size, kMaxBatchSlot);
  const bool is_oom = (r.oom && *r.oom) || (!r.status.empty() && IsOomText(r.status)) ||
                      (!r.error.empty() && IsOomText(r.error));
  // A failed batch (OOM, error status) measured the time to fail: no
  // equal-work sample, as for requests.
  const bool failed = is_oom || (!r.status.empty() && !IsOkStatus(r.status));
  double inference = std::numeric_limits<double>::quiet_NaN();
  if (r.inference_ms) {
    if (std::isfinite(*r.inference_ms) && *r.inference_ms >= 0) {
      if (!failed) {
        inference = *r.inference_ms;
        batch_inference_.Record(inference);
      }
    } else {
      ++invalid_values_;
    }
  }
  double mem_ratio = std::numeric_limits<double>::quiet_NaN();
  if (r.mem_used_mb && r.mem_total_mb && *r.mem_total_mb > 0 && *r.mem_used_mb >= 0) {
    mem_ratio = *r.mem_used_mb / *r.mem_total_mb;
  }
  WorkStats* cell_work = nullptr;
  WorkKey cell_key;
  if (!std::isnan(inference) || is_oom) {
    WorkKey key;
    key.model_hash = ModelHash(r.model);
    key.gpu_id = static_cast<int32_t>(gpu);
    key.batch_size =
        r.batch_size ? static_cast<int32_t>(std::clamp<int64_t>(*r.batch_size, 0, 1 << 20)) : 0;
    key.from_batch_record = 1;
    WorkStats& w = Work(key, r.model);
    if (!std::isnan(inference)) {
      w.inference.Record(inference);
      if (!std::isnan(mem_ratio)) {
        (mem_ratio >= config_.mem_high_ratio ? w.inference_mem_high : w.inference_mem_normal)
            .Record(inference);
      }
      if (retry_delta == 0 && w.first.WouldKeep(r.ts_us.value_or(kNoTs), r.line, inference)) {
        w.first.Offer(MakeExample(r, inference));
      }
      cell_work = &w;
      cell_key = w.key;
    }
    if (!std::isnan(mem_ratio)) w.mem_ratio.Add(mem_ratio);
    if (r.mem_used_mb) w.mem_used.Add(*r.mem_used_mb);
    if (is_oom) ++w.ooms;
    w.alloc_retries += retry_delta;
  }
  FlagDeviceMemory(r, !r.status.empty() || !r.error.empty(), is_oom, mem_ratio, retry_delta);
  if (bucket != nullptr) {
    ++bucket->batches;
    if (is_oom) ++bucket->ooms;
    bucket->alloc_retries += retry_delta;
    if (r.alloc_retries && *r.alloc_retries > 0)
      bucket->batch_alloc_retries_raw += *r.alloc_retries;
    if (r.batch_size) bucket->batch_record_size.Add(static_cast<double>(*r.batch_size));
    if (cell_work != nullptr) {
      AddToCell(bucket, cell_key, cell_work, inference, std::numeric_limits<double>::quiet_NaN());
    }
  }
}

void LogAggregator::AddGpuSample(const LogRecord& r, int64_t /*gpu*/, TimeBucket* bucket) {
  ++gpu_samples_;
  ++flags_[static_cast<size_t>(RecordFlag::kThrottled)].eligible;
  if (!r.throttle_reasons.empty() && IsThrottled(r.throttle_reasons))
    Flagged(RecordFlag::kThrottled, r, 1.0);
  if (bucket != nullptr) ++bucket->gpu_samples;
}

void LogAggregator::Merge(const LogAggregator& o) {
  records_ += o.records_;
  requests_ += o.requests_;
  batches_ += o.batches_;
  gpu_samples_ += o.gpu_samples_;
  other_records_ += o.other_records_;
  monotonic_ts_records_ += o.monotonic_ts_records_;
  invalid_values_ += o.invalid_values_;
  for (int i = 0; i < kNumLogFields; ++i)
    field_counts_[static_cast<size_t>(i)] += o.field_counts_[static_cast<size_t>(i)];
  request_ts_.Merge(o.request_ts_);
  any_ts_.Merge(o.any_ts_);
  for (int s = 0; s < kNumLogStages; ++s)
    stages_[static_cast<size_t>(s)].Merge(o.stages_[static_cast<size_t>(s)]);
  batch_inference_.Merge(o.batch_inference_);
  errors_ += o.errors_;
  refused_ += o.refused_;
  refused_latency_.Merge(o.refused_latency_);
  failed_latency_.Merge(o.failed_latency_);
  served_ts_.Merge(o.served_ts_);
  for (const auto& [status, n] : o.errors_by_status_) {
    auto it = errors_by_status_.find(status);
    if (it != errors_by_status_.end() ||
        static_cast<int>(errors_by_status_.size()) < config_.max_statuses) {
      errors_by_status_[status] += n;
    } else {
      errors_by_status_["(other)"] += n;
    }
  }
  for (const auto& [gpu, g] : o.by_gpu_) by_gpu_[gpu].Merge(g);
  for (const auto& [name, st] : o.by_stream_) Stream(name).Merge(st);
  stream_records_ += o.stream_records_;
  for (const auto& [gpu, inst] : o.batch_instances_) {
    std::set<int64_t>& mine = batch_instances_[gpu];
    for (int64_t i : inst) {
      if (mine.size() >= 64) break;
      mine.insert(i);
    }
  }
  for (const auto& [model, g] : o.by_model_) {
    if (by_model_.count(model) || static_cast<int>(by_model_.size()) < config_.max_models) {
      by_model_[model].Merge(g);
    } else {
      by_model_["(other)"].Merge(g);
    }
  }
  for (const auto& [key, g] : o.by_replica_) {
    if (by_replica_.count(key) || static_cast<int>(by_replica_.size()) < config_.max_models) {
      by_replica_[key].Merge(g);
    } else {
      by_replica_["(other)"].Merge(g);
    }
  }
  last_replica_stats_ = nullptr;
  last_model_stats_ = nullptr;
  last_gpu_stats_ = nullptr;
  MergeVec(&batch_size_requests_, o.batch_size_requests_);
  MergeVec(&batch_size_batches_, o.batch_size_batches_);
  MergeVec(&queue_len_, o.queue_len_);
  queue_len_stat_.Merge(o.queue_len_stat_);
  queue_len_hist_.Merge(o.queue_len_hist_);
  for (const auto& [key, w] : o.work_) {
    FindOrAddWork(key, w.model).Merge(w);
  }
  last_work_ = nullptr;
  work_index_.clear();
  work_cache_.fill({WorkKey{}, nullptr});
  for (auto& [key, w] : work_) work_index_[key] = &w;
  for (int f = 0; f < kNumRecordFlags; ++f)
    flags_[static_cast<size_t>(f)].Merge(o.flags_[static_cast<size_t>(f)]);
  low_load_.Merge(o.low_load_);
  for (RetrySource& e : retry_sources_) e.track = nullptr;  // the cache is per stream.
  for (const auto& [key, t] : o.retry_tracks_) {
    CounterTrack& mine = retry_tracks_[key];
    mine.points.insert(mine.points.end(), t.points.begin(), t.points.end());
    mine.raw_sum += t.raw_sum;
    mine.changes += t.changes;
    mine.drops += t.drops;
    mine.positive += t.positive;
    mine.batch = t.batch;
  }
  retry_points_ += o.retry_points_;
  detections_vs_post_.Merge(o.detections_vs_post_);
  detections_.Merge(o.detections_);
  input_mp_.Merge(o.input_mp_);
  input_bytes_.Merge(o.input_bytes_);
  slowest_.Merge(o.slowest_);
  time_.Merge(o.time_);
}

}  // namespace yoloscope
