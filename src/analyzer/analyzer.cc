#include "analyzer/analyzer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "analyzer/aggregate/change_detector.h"
#include "analyzer/rules/analysis_context.h"
#include "analyzer/rules/rule_registry.h"
#include "common/time_format.h"

namespace yoloscope {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t RoundUpToMultiple(int64_t v, int64_t m) { return ((v + m - 1) / m) * m; }

// Nice window lengths, microseconds.
int64_t NiceWindowUs(int64_t raw_us) {
  constexpr int64_t kMs = 1000, kS = 1'000'000;
  constexpr int64_t kNice[] = {1 * kMs,    2 * kMs,    5 * kMs,   10 * kMs,  20 * kMs,  50 * kMs,
                               100 * kMs,  200 * kMs,  500 * kMs, 1 * kS,    2 * kS,    5 * kS,
                               10 * kS,    15 * kS,    30 * kS,   60 * kS,   120 * kS,  300 * kS,
                               600 * kS,   900 * kS,   1800 * kS, 3600 * kS, 7200 * kS, 10800 * kS,
                               21600 * kS, 43200 * kS, 86400 * kS};
  for (int64_t n : kNice) {
    if (n >= raw_us) return n;
  }
  int64_t n = kNice[std::size(kNice) - 1];
  while (n < raw_us && n < (int64_t{1} << 60)) n *= 2;
  return n;
}

double Quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1));
  return v[i];
}

// The aggregator's id for device state from records that name no GPU
// (gpu_id null, no "cuda:N" device).
constexpr int64_t kUnknownGpu = -2;
// Records further than this (or than the log's span, if longer) from the
// rest of the log are strays: left out of the time series and reported.
constexpr int64_t kStrayGapUs = int64_t{3600} * 1'000'000;

// The log's only device, when it names exactly one and that one is a GPU.
// Records that name no GPU are then taken to be about it: a server with one
// GPU whose batch records lack gpu_id (the simulated GPU's backend) must not
// show a second, "unknown" GPU with the same memory. With several devices
// (or a CPU), such records cannot be attributed and stay apart.
std::optional<int64_t> SoleGpu(const LogAggregator& agg) {
  std::optional<int64_t> sole;
  for (const auto& [gpu, g] : agg.by_gpu()) {
    if (gpu == kUnknownGpu) continue;
    if (gpu < 0 || sole) return std::nullopt;
    sole = gpu;
  }
  return sole;
}

// Moves the state of records that name no GPU into `gpu` (see SoleGpu).
void AttributeUnknownDevice(TimeBucket* b, int64_t gpu) {
  auto it = std::find_if(b->devices.begin(), b->devices.end(),
                         [](const DeviceWindow& d) { return d.gpu_id == kUnknownGpu; });
  if (it == b->devices.end()) return;
  const DeviceWindow unknown = *it;
  b->devices.erase(it);
  b->Device(gpu).Merge(unknown);
}

std::string GpuName(int64_t gpu) {
  if (gpu >= 0) return fmt::format("cuda:{}", gpu);
  if (gpu == -1) return "cpu";
  if (gpu == -3) return "other";
  return "unknown";
}

void FillGroup(const GroupStats& g, GroupSummary* out) {
  out->requests = g.requests;
  out->errors = g.errors;
  out->error_rate =
      g.requests ? static_cast<double>(g.errors) / static_cast<double>(g.requests) : 0;
  if (g.ts_us.n >= 2 && g.ts_us.max > g.ts_us.min) {
    out->throughput_rps = static_cast<double>(g.requests) / ((g.ts_us.max - g.ts_us.min) / 1e6);
  }
  if (!g.total.empty()) {
    out->total_p50_ms = g.total.Quantile(0.5);
    out->total_p99_ms = g.total.Quantile(0.99);
  }
  if (!g.inference.empty()) {
    out->inference_p50_ms = g.inference.Quantile(0.5);
    out->inference_p99_ms = g.inference.Quantile(0.99);
  }
  // Per batch, as the summary's mean_batch_size (one definition in the report).
  if (!g.inverse_batch_size.empty() && g.inverse_batch_size.sum > 0) {
    out->mean_batch_size = static_cast<double>(g.inverse_batch_size.n) / g.inverse_batch_size.sum;
  }
  if (!g.mem_used.empty()) out->max_mem_used_mb = g.mem_used.max;
  if (!g.mem_total.empty()) out->mem_total_mb = g.mem_total.max;
  if (!g.gpu_util.empty()) out->mean_gpu_util = g.gpu_util.mean();
}

// Served / refused / failed per second over the summary's span.
void SetOutcomeRates(int64_t served, int64_t refused, int64_t failed, Summary* s) {
  s->served_rps = static_cast<double>(served) / *s->span_s;
  s->refused_rps = static_cast<double>(refused) / *s->span_s;
  s->failed_rps = static_cast<double>(failed) / *s->span_s;
}

void BuildSummary(const LogAggregator& agg, Summary* s) {
  s->records = agg.records();
  s->requests = agg.requests();
  s->batches = agg.batches();
  s->gpu_samples = agg.gpu_samples();
  s->errors = agg.errors();
  s->error_rate =
      agg.requests() ? static_cast<double>(agg.errors()) / static_cast<double>(agg.requests()) : 0;
  s->served = agg.served();
  s->refused = agg.refused();
  s->failed = agg.failed();
  if (!agg.refused_latency().empty()) {
    s->refused_total_p50_ms = agg.refused_latency().Quantile(0.5);
    s->refused_total_p99_ms = agg.refused_latency().Quantile(0.99);
  }
  if (!agg.failed_latency().empty()) {
    s->failed_total_p50_ms = agg.failed_latency().Quantile(0.5);
    s->failed_total_p99_ms = agg.failed_latency().Quantile(0.99);
  }
  const RunningStat& ts = agg.request_ts().n ? agg.request_ts() : agg.any_ts();
  if (ts.n) {
    s->first_ts_us = static_cast<int64_t>(ts.min);
    s->last_ts_us = static_cast<int64_t>(ts.max);
    s->span_s = (ts.max - ts.min) / 1e6;
    if (*s->span_s > 0 && agg.requests() > 1) {
      s->throughput_rps = static_cast<double>(agg.request_ts().n) / *s->span_s;
      SetOutcomeRates(agg.served_ts().n, agg.refused(), agg.failed(), s);
    }
  }
  const bool gpu_known = std::any_of(agg.by_gpu().begin(), agg.by_gpu().end(),
                                     [](const auto& kv) { return kv.first != kUnknownGpu; });
  if (gpu_known) {
    const std::optional<int64_t> sole = SoleGpu(agg);
    const auto unknown = agg.by_gpu().find(kUnknownGpu);
    for (const auto& [gpu, g] : agg.by_gpu()) {
      // Unattributed state is folded into the sole GPU; without requests it
      // is only device facts of records that name no GPU, not a GPU itself.
      if (gpu == kUnknownGpu && (sole || g.requests == 0)) continue;
      GroupSummary out;
      out.name = GpuName(gpu);
      if (gpu >= 0) out.gpu_id = gpu;
      if (sole && gpu == *sole && unknown != agg.by_gpu().end()) {
        GroupStats merged = g;
        merged.Merge(unknown->second);
        FillGroup(merged, &out);
      } else {
        FillGroup(g, &out);
      }
      s->by_gpu.push_back(std::move(out));
    }
  }
  for (const auto& [model, g] : agg.by_model()) {
    GroupSummary out;
    out.name = model.empty() ? "(unknown)" : model;
    FillGroup(g, &out);
    s->by_model.push_back(std::move(out));
  }
  if (s->by_model.size() == 1 && s->by_model[0].name == "(unknown)") s->by_model.clear();
  for (const auto& [key, g] : agg.by_replica()) {
    GroupSummary out;
    out.name = key;
    FillGroup(g, &out);
    s->by_replica.push_back(std::move(out));
  }
  for (const auto& [name, st] : agg.by_stream()) {
    StreamSummary out;
    out.name = name;
    out.frames = st.frames;
    out.errors = st.errors;
    // Frames per second while frames flowed: a stall (the source silent for
    // a second or more, e.g. the read timeout before a live stream ends) is
    // not time the stream ran at a lower rate.
    const double active_s = (st.ts_us.max - st.ts_us.min) / 1e6 - st.stall_ms / 1e3;
    const auto intervals = static_cast<double>(st.ts_us.n - 1 - st.stalls);
    if (st.ts_us.n >= 2 && active_s > 0 && intervals > 0) {
      out.fps = intervals / active_s;
    } else if (st.ts_us.n >= 2 && st.ts_us.max > st.ts_us.min) {
      out.fps = static_cast<double>(st.ts_us.n - 1) / ((st.ts_us.max - st.ts_us.min) / 1e6);
    }
    out.target_fps = st.target_fps;
    out.source_fps = st.source_fps;
    out.frames_read = st.frames_read;
    out.frames_dropped = st.frames_dropped;
    out.frames_skipped = st.frames_skipped;
    if (st.frames_read && *st.frames_read > 0 && st.frames_dropped) {
      out.drop_fraction =
          static_cast<double>(*st.frames_dropped) / static_cast<double>(*st.frames_read);
    }
    if (!st.total.empty()) {
      out.latency_p50_ms = st.total.Quantile(0.5);
      out.latency_p99_ms = st.total.Quantile(0.99);
    }
    if (!st.decode_ms.empty()) out.decode_mean_ms = st.decode_ms.mean();
    if (!st.queue_ms.empty()) out.queue_mean_ms = st.queue_ms.mean();
    if (!st.inference_ms.empty()) out.inference_mean_ms = st.inference_ms.mean();
    if (!st.batch_size.empty()) out.mean_batch_size = st.batch_size.mean();
    s->by_stream.push_back(std::move(out));
  }
  for (const auto& [status, n] : agg.errors_by_status()) s->errors_by_status.push_back({status, n});
  std::stable_sort(s->errors_by_status.begin(), s->errors_by_status.end(),
                   [](const CountEntry& a, const CountEntry& b) { return a.count > b.count; });

  const auto& br = agg.batch_size_requests();
  const auto& bb = agg.batch_size_batches();
  const size_t slots = std::max(br.size(), bb.size());
  for (size_t i = 0; i < slots; ++i) {
    const int64_t r = i < br.size() ? br[i] : 0;
    const int64_t b = i < bb.size() ? bb[i] : 0;
    if (r == 0 && b == 0) continue;
    s->batch_sizes.push_back({static_cast<int64_t>(i), r, b});
    s->max_batch_size = static_cast<int64_t>(i);
  }
  // Mean batch size per batch: from batch records when logged, else from
  // requests (r requests served in batches of i are r / i batches).
  double batches = 0, items = 0;
  if (!bb.empty()) {
    for (size_t i = 1; i < bb.size(); ++i) {
      batches += static_cast<double>(bb[i]);
      items += static_cast<double>(i) * static_cast<double>(bb[i]);
    }
  } else {
    for (size_t i = 1; i < br.size(); ++i) {
      batches += static_cast<double>(br[i]) / static_cast<double>(i);
      items += static_cast<double>(br[i]);
    }
  }
  if (batches > 0) s->mean_batch_size = items / batches;
  const RunningStat& ql = agg.queue_len_stat();
  if (ql.n > 0) {
    s->mean_queue_len = ql.mean();
    s->max_queue_len = static_cast<int64_t>(ql.max);
    s->p90_queue_len = std::round(agg.queue_len_hist().Quantile(0.9));
  }
}

void BuildStages(const LogAggregator& agg, std::vector<StageSummary>* out) {
  const LatencyHistogram& total = agg.stage(LogStage::kTotal);
  double stage_mean_sum = 0;
  for (int s = 0; s < kNumLogStages - 1; ++s)
    stage_mean_sum += agg.stage(static_cast<LogStage>(s)).mean();
  const double denom = !total.empty() ? total.mean() : stage_mean_sum;
  for (int s = 0; s < kNumLogStages; ++s) {
    const LatencyHistogram& h = agg.stage(static_cast<LogStage>(s));
    if (h.empty()) continue;
    StageSummary st;
    st.stage = std::string(LogStageName(static_cast<LogStage>(s)));
    st.count = h.count();
    st.mean_ms = h.mean();
    st.p50_ms = h.Quantile(0.5);
    st.p90_ms = h.Quantile(0.9);
    st.p99_ms = h.Quantile(0.99);
    st.p999_ms = h.Quantile(0.999);
    st.max_ms = h.max();
    if (denom > 0) st.share = h.mean() / denom;
    out->push_back(std::move(st));
  }
  if (!total.empty() && stage_mean_sum > 0) {
    const double other = total.mean() - stage_mean_sum;
    if (other > 0.05 * total.mean()) {
      StageSummary st;
      st.stage = "other";
      st.count = total.count();
      st.mean_ms = other;
      st.share = other / total.mean();
      // Percentiles of "other" are not known (it is a difference of means).
      st.p50_ms = st.p90_ms = st.p99_ms = st.p999_ms = st.max_ms = 0;
      out->insert(out->end() - 1, std::move(st));
    }
  }
}

}  // namespace

std::optional<FindingSeverity> AnalysisReport::MaxSeverity() const {
  std::optional<FindingSeverity> max;
  for (const Finding& f : findings) {
    if (!max || f.severity > *max) max = f.severity;
  }
  return max;
}

std::string_view SeverityName(FindingSeverity s) {
  switch (s) {
    case FindingSeverity::kInfo:
      return "info";
    case FindingSeverity::kWarning:
      return "warning";
    case FindingSeverity::kCritical:
      return "critical";
  }
  return "info";
}

Analyzer::Analyzer(AnalyzerConfig config) : config_(config) {}

AnalysisReport Analyzer::Analyze(const LogAggregator& agg, const InputSummary& input) const {
  AnalysisReport report;
  report.input = input;
  report.input.records = std::max(report.input.records, agg.records());
  report.input.invalid_values = agg.invalid_values();
  BuildSummary(agg, &report.summary);
  BuildStages(agg, &report.stages);

  AnalysisContext ctx{agg, config_, &report};
  if (agg.monotonic_ts_records() > 0) report.input.ts_monotonic = true;
  ctx.ts_monotonic = report.input.ts_monotonic;
  ctx.time_origin_us = report.summary.first_ts_us.value_or(0);

  // Which records and metric the equal-work baselines use.
  int64_t req_inf = 0, req_total = 0, batch_inf = 0;
  for (const auto& [key, w] : agg.work()) {
    if (key.from_batch_record) {
      batch_inf += w.inference.count();
    } else {
      req_inf += w.inference.count();
      req_total += w.total.count();
    }
  }
  ctx.use_batch_records = req_inf == 0 && req_total == 0 && batch_inf > 0;
  ctx.use_inference = ctx.use_batch_records || req_inf * 2 >= req_total;

  // Windows.
  const TimeBucketStore& store = agg.time_buckets();
  if (store.size() > 0) {
    const int64_t res = store.resolution_us();
    int64_t total_records = 0;
    for (const auto& [key, b] : store.buckets()) total_records += b.records;
    // The log's time range: the cluster of occupied buckets around the
    // median record, grown towards the nearer neighbour while the gap to it
    // is at most the cluster's own span (or kStrayGapUs, whichever is
    // longer). Records out of order by seconds, or idle periods shorter than
    // what came before, stay in; a clock that was never set (1970), a
    // future date or any record far away from the rest is left out of the
    // time series and reported below, however many there are.
    std::vector<std::pair<int64_t, int64_t>> occupied;  // key, records
    for (const auto& [key, b] : store.buckets()) occupied.emplace_back(key, b.records);
    size_t first = 0;
    for (int64_t seen = 0; first < occupied.size(); ++first) {
      seen += occupied[first].second;
      if (2 * seen > total_records) break;
    }
    first = std::min(first, occupied.size() - 1);
    size_t last = first + 1;  // [first, last)
    const int64_t min_gap = std::max<int64_t>(1, kStrayGapUs / res);
    for (;;) {
      const int64_t allowed = std::max(min_gap, occupied[last - 1].first - occupied[first].first);
      const int64_t left = first > 0 ? occupied[first].first - occupied[first - 1].first
                                     : std::numeric_limits<int64_t>::max();
      const int64_t right = last < occupied.size() ? occupied[last].first - occupied[last - 1].first
                                                   : std::numeric_limits<int64_t>::max();
      if (std::min(left, right) > allowed) break;
      if (left <= right) {
        --first;
      } else {
        ++last;
      }
    }
    int64_t lo_key = occupied[first].first, hi_key = occupied[last - 1].first;
    int64_t outside = 0;
    RunningStat in_range_ts;
    int64_t in_range_requests = 0, in_range_errors = 0, in_range_rejections = 0;
    for (const auto& [key, b] : store.buckets()) {
      if (key < lo_key || key > hi_key) {
        outside += b.records;
      } else {
        in_range_ts.Merge(b.request_ts);
        in_range_requests += b.requests;
        in_range_errors += b.errors;
        in_range_rejections += b.rejections;
      }
    }
    if (outside > 0) {
      report.input.warnings.push_back(fmt::format(
          "{} with timestamps far outside the log's time range left out of the time series",
          outside == 1 ? std::string("1 record") : fmt::format("{} records", outside)));
      if (in_range_ts.n > 0) {
        Summary& sm = report.summary;
        sm.first_ts_us = static_cast<int64_t>(in_range_ts.min);
        sm.last_ts_us = static_cast<int64_t>(in_range_ts.max);
        sm.span_s = (in_range_ts.max - in_range_ts.min) / 1e6;
        sm.throughput_rps.reset();
        sm.served_rps.reset();
        sm.refused_rps.reset();
        sm.failed_rps.reset();
        if (*sm.span_s > 0 && in_range_requests > 1) {
          sm.throughput_rps = static_cast<double>(in_range_requests) / *sm.span_s;
          SetOutcomeRates(in_range_requests - in_range_errors, in_range_rejections,
                          in_range_errors - in_range_rejections, &sm);
        }
        // A group's own first/last arrival includes the strays: its rate
        // is over the log's span instead.
        for (auto* groups : {&sm.by_gpu, &sm.by_model, &sm.by_replica}) {
          for (GroupSummary& g : *groups) {
            g.throughput_rps.reset();
            if (*sm.span_s > 0) g.throughput_rps = static_cast<double>(g.requests) / *sm.span_s;
          }
        }
      }
    }
    const int64_t start = lo_key * res, end = (hi_key + 1) * res;
    ctx.range_start_us = start;
    ctx.range_end_us = end;
    const int64_t span = end - start;
    int64_t w = config_.window_s > 0 ? static_cast<int64_t>(config_.window_s * 1e6)
                                     : NiceWindowUs(span / std::max(1, config_.target_windows));
    w = std::max(w, res);
    w = RoundUpToMultiple(w, res);
    const int64_t max_windows = std::max(1, config_.max_windows);
    if (span / w > max_windows) w = RoundUpToMultiple((span + max_windows - 1) / max_windows, res);
    const int64_t origin = FloorDiv(start, w) * w;
    const int64_t count = (end - origin + w - 1) / w;
    ctx.window_us = w;
    ctx.windows.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) ctx.window_start_us.push_back(origin + i * w);
    for (const auto& [key, b] : store.buckets()) {
      if (key < lo_key || key > hi_key) continue;
      const int64_t i = (key * res - origin) / w;
      ctx.windows[static_cast<size_t>(i)].Merge(b);
    }
    for (TimeBucket& b : ctx.windows) b.SortCells();
    // alloc_retries is a running total: the windows get its per-source
    // increases (the buckets' sums are in-order estimates per thread).
    // A count per record (yoloscope serve today) keeps the buckets' sums
    // of the values instead.
    for (TimeBucket& b : ctx.windows) {
      b.alloc_retries = !agg.alloc_retries_per_record()    ? 0
                        : agg.alloc_retries_from_batches() ? b.batch_alloc_retries_raw
                                                           : b.alloc_retries_raw;
    }
    for (const CounterIncrement& inc : agg.alloc_retry_increments()) {
      if (inc.ts_us < start || inc.ts_us >= end) continue;
      const int64_t i = FloorDiv(inc.ts_us - origin, w);
      if (i >= 0 && i < count) ctx.windows[static_cast<size_t>(i)].alloc_retries += inc.delta;
    }
    if (const std::optional<int64_t> sole = SoleGpu(agg)) {
      for (TimeBucket& b : ctx.windows) AttributeUnknownDevice(&b, *sole);
    }
  }

  // Steady baselines: per key, the lower quartile of per-window means (windows
  // with >= 3 samples) when >= 4 windows have them, else the key's median.
  {
    std::map<WorkKey, std::vector<double>> window_means;
    for (const TimeBucket& b : ctx.windows) {
      for (const WorkCell& c : b.work) {
        if (static_cast<bool>(c.key.from_batch_record) != ctx.use_batch_records) continue;
        const int64_t n = ctx.use_inference ? c.inference_n : c.total_n;
        const double sum = ctx.use_inference ? c.inference_sum : c.total_sum;
        if (n >= 3) window_means[c.key].push_back(sum / static_cast<double>(n));
      }
    }
    for (const auto& [key, w] : agg.work()) {
      if (static_cast<bool>(key.from_batch_record) != ctx.use_batch_records) continue;
      const LatencyHistogram& h = ctx.use_inference ? w.inference : w.total;
      if (h.empty()) continue;
      auto it = window_means.find(key);
      double steady = (it != window_means.end() && it->second.size() >= 4)
                          ? Quantile(it->second, 0.25)
                          : h.Quantile(0.5);
      if (steady > 0) ctx.steady[key] = steady;
    }
  }

  // Per-window stats and inflation.
  std::vector<double> rates, batch_means;
  const double wsec = ctx.WindowSeconds();
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    const TimeBucket& b = ctx.windows[i];
    WindowStats ws;
    ws.start_us = ctx.window_start_us[i];
    ws.end_us = ws.start_us + ctx.window_us;
    ws.records = b.records;
    ws.requests = b.requests;
    ws.errors = b.errors;
    ws.rejections = b.rejections;
    ws.ooms = b.ooms;
    ws.alloc_retries = b.alloc_retries;
    ws.throughput_rps = wsec > 0 ? static_cast<double>(b.requests) / wsec : 0;
    ws.error_rate =
        b.requests ? static_cast<double>(b.errors) / static_cast<double>(b.requests) : 0;
    if (!b.total_hist.empty()) {
      ws.total_p50_ms = b.total_hist.Quantile(0.5);
      ws.total_p99_ms = b.total_hist.Quantile(0.99);
    }
    if (!b.inference_hist.empty()) {
      ws.inference_p50_ms = b.inference_hist.Quantile(0.5);
      ws.inference_p99_ms = b.inference_hist.Quantile(0.99);
    }
    if (!b.queue_ms.empty()) ws.queue_ms_mean = b.queue_ms.mean();
    for (const auto& [name, stat] :
         {std::pair<const char*, const RunningStat*>{"queue", &b.queue_ms},
          {"decode+preprocess", &b.pre_ms},
          {"h2d+d2h", &b.xfer_ms},
          {"inference", &b.inference_ms},
          {"postprocess", &b.post_ms}}) {
      if (!stat->empty()) ws.stage_means_ms.emplace_back(name, stat->mean());
    }
    if (!b.queue_len.empty()) ws.queue_len_mean = b.queue_len.mean();
    if (!b.batch_size.empty()) {
      ws.batch_size_mean = b.batch_size.mean();
    } else if (!b.batch_record_size.empty()) {
      ws.batch_size_mean = b.batch_record_size.mean();
    }
    double num = 0, den = 0;
    for (const WorkCell& c : b.work) {
      auto it = ctx.steady.find(c.key);
      if (it == ctx.steady.end()) continue;
      const int64_t n = ctx.use_inference ? c.inference_n : c.total_n;
      num += ctx.use_inference ? c.inference_sum : c.total_sum;
      den += static_cast<double>(n) * it->second;
    }
    ctx.inflation_num.push_back(num);
    ctx.inflation_den.push_back(den);
    ctx.inflation.push_back(den > 0 ? std::optional<double>(num / den) : std::nullopt);
    ws.inflation = ctx.inflation.back();
    // Device state.
    // Whether device d's value of m counts in the window's total / mean: the
    // state of records that name no GPU (left unattributed when the log names
    // several devices) is not one more device next to named devices that
    // report the same metric; it would count the same memory twice.
    auto counts = [&b](const DeviceWindow& d, RunningStat DeviceWindow::*m) {
      if ((d.*m).empty()) return false;
      if (d.gpu_id != kUnknownGpu) return true;
      return std::none_of(b.devices.begin(), b.devices.end(), [m](const DeviceWindow& o) {
        return o.gpu_id != kUnknownGpu && !(o.*m).empty();
      });
    };
    auto sum_of = [&b, &counts](RunningStat DeviceWindow::*m) -> std::optional<double> {
      double s = 0;
      bool any = false;
      for (const DeviceWindow& d : b.devices) {
        if (!counts(d, m)) continue;
        s += (d.*m).mean();
        any = true;
      }
      return any ? std::optional<double>(s) : std::nullopt;
    };
    auto mean_of = [&b, &counts](RunningStat DeviceWindow::*m) -> std::optional<double> {
      double s = 0;
      int n = 0;
      for (const DeviceWindow& d : b.devices) {
        if (!counts(d, m)) continue;
        s += (d.*m).mean();
        ++n;
      }
      return n ? std::optional<double>(s / n) : std::nullopt;
    };
    auto max_of = [&b](RunningStat DeviceWindow::*m) -> std::optional<double> {
      std::optional<double> mx;
      for (const DeviceWindow& d : b.devices) {
        if ((d.*m).empty()) continue;
        mx = std::max(mx.value_or(-1e300), (d.*m).mean());
      }
      return mx;
    };
    ws.mem_used_mb = sum_of(&DeviceWindow::mem_used);
    ws.mem_total_mb = sum_of(&DeviceWindow::mem_total);
    ws.mem_used_ratio = max_of(&DeviceWindow::mem_ratio);
    ws.mem_reserved_mb = sum_of(&DeviceWindow::mem_reserved);
    ws.mem_allocated_mb = sum_of(&DeviceWindow::mem_allocated);
    ws.mem_inactive_split_mb = sum_of(&DeviceWindow::mem_inactive_split);
    ws.mem_other_processes_mb = sum_of(&DeviceWindow::mem_other);
    ws.gpu_util = mean_of(&DeviceWindow::gpu_util);
    ws.sm_clock_mhz = mean_of(&DeviceWindow::sm_clock);
    ws.temp_c = max_of(&DeviceWindow::temp);
    int64_t ts = 0, tt = 0;
    for (const DeviceWindow& d : b.devices) {
      ts += d.throttle_samples;
      tt += d.throttled;
    }
    if (ts > 0 && agg.field_count(LogField::kThrottleReasons) > 0)
      ws.throttled_fraction = static_cast<double>(tt) / static_cast<double>(ts);
    if (b.has_slowest) ws.slowest_request_id = b.slowest.id;
    if (b.requests > 0) rates.push_back(ws.throughput_rps);
    if (ws.batch_size_mean) batch_means.push_back(*ws.batch_size_mean);
    report.time_series.windows.push_back(std::move(ws));
  }
  report.time_series.window_s = wsec;
  ctx.median_rate_rps = ChangeDetector::Median(rates);
  ctx.median_batch_size = ChangeDetector::Median(batch_means);

  // Change points.
  {
    const auto& W = report.time_series.windows;
    auto series = [&W](auto getter) {
      std::vector<std::optional<double>> s;
      for (const WindowStats& w : W) s.push_back(getter(w));
      return s;
    };
    struct Metric {
      const char* name;
      std::vector<std::optional<double>> values;
      bool spikes;
    };
    std::vector<Metric> metrics = {
        {"total_p99_ms", series([](const WindowStats& w) {
           return w.requests >= 5 ? w.total_p99_ms : std::nullopt;
         }),
         true},
        {"total_p50_ms", series([](const WindowStats& w) {
           return w.requests >= 3 ? w.total_p50_ms : std::nullopt;
         }),
         true},
        {"inflation",
         series([](const WindowStats& w) { return w.requests >= 3 ? w.inflation : std::nullopt; }),
         true},
        {"error_rate", series([](const WindowStats& w) {
           return w.requests >= 5 ? std::optional<double>(w.error_rate) : std::nullopt;
         }),
         true},
        {"throughput_rps", series([](const WindowStats& w) {
           return w.records > 0 ? std::optional<double>(w.throughput_rps) : std::nullopt;
         }),
         false},
        {"queue_len_mean", series([](const WindowStats& w) { return w.queue_len_mean; }), true},
        {"mem_used_mb", series([](const WindowStats& w) { return w.mem_used_mb; }), false},
    };
    for (const Metric& m : metrics) {
      if (m.spikes) {
        for (const auto& sp : ChangeDetector::FindSpikes(m.values)) {
          ChangePoint cp;
          cp.metric = m.name;
          cp.kind = "spike";
          cp.range = {W[sp.begin].start_us, W[sp.end - 1].end_us};
          cp.value = sp.peak;
          cp.baseline = sp.median;
          cp.score = sp.z;
          report.time_series.changes.push_back(cp);
        }
      }
      if (auto sh = ChangeDetector::FindLevelShift(m.values)) {
        ChangePoint cp;
        cp.metric = m.name;
        cp.kind = "level_shift";
        cp.range = {W[sh->at].start_us, W.back().end_us};
        cp.value = sh->after;
        cp.baseline = sh->before;
        cp.score = sh->t;
        report.time_series.changes.push_back(cp);
      }
    }
    std::stable_sort(report.time_series.changes.begin(), report.time_series.changes.end(),
                     [](const ChangePoint& a, const ChangePoint& b) {
                       return a.range.start_us < b.range.start_us;
                     });
    if (report.time_series.changes.size() > 50) report.time_series.changes.resize(50);
  }

  // Baselines table.
  for (const auto& [key, w] : agg.work()) {
    if (static_cast<bool>(key.from_batch_record) != ctx.use_batch_records) continue;
    const LatencyHistogram& h = ctx.use_inference ? w.inference : w.total;
    if (h.empty()) continue;
    BaselineEntry e;
    e.model = w.model.empty() ? "(unknown)" : w.model;
    if (key.gpu_id >= 0) e.gpu_id = key.gpu_id;
    if (key.batch_size > 0) e.batch_size = key.batch_size;
    e.input_size = SizeClassLabel(key.size_class);
    e.source = key.from_batch_record ? "batch" : "request";
    e.metric = ctx.use_inference ? "inference_ms" : "total_ms";
    e.count = h.count();
    e.p50_ms = h.Quantile(0.5);
    e.p90_ms = h.Quantile(0.9);
    e.p99_ms = h.Quantile(0.99);
    e.mean_ms = h.mean();
    e.max_ms = h.max();
    auto it = ctx.steady.find(key);
    e.steady_ms = it != ctx.steady.end() ? it->second : e.p50_ms;
    report.baselines.push_back(std::move(e));
  }
  std::stable_sort(
      report.baselines.begin(), report.baselines.end(),
      [](const BaselineEntry& a, const BaselineEntry& b) { return a.count > b.count; });
  if (static_cast<int>(report.baselines.size()) > config_.max_baselines) {
    report.baselines.resize(static_cast<size_t>(config_.max_baselines));
  }

  RuleRegistry::Builtin().RunAll(ctx);

  std::stable_sort(report.findings.begin(), report.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return report;
}

}  // namespace yoloscope
