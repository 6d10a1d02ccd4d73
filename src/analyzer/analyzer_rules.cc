// The diagnosis rules. Every threshold here is documented, with its reasoning
// and the false positives it guards against, in docs/diagnosis.md -- keep the
// two in step.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/aggregate/change_detector.h"
#include "analyzer/rules/analysis_context.h"

namespace yoloscope {
namespace {

// ---- thresholds (docs/diagnosis.md) ----
// gpu_memory_pressure
constexpr double kMemHighRatio = 0.90;
constexpr double kMemCriticalRatio = 0.97;
constexpr double kMemPressureInflation = 1.3;
constexpr double kMemPressureCriticalInflation = 2.0;
constexpr double kMemSafeRatio = 0.85;  // batch cap: largest batch that stayed below this.
// memory_fragmentation
constexpr double kFragShare = 0.25;
constexpr double kFragMinGapMb = 128;
constexpr double kFragGrowthShare = 0.10;
constexpr double kFragMinGrowthMb = 64;
constexpr double kFragInactiveShare = 0.20;
// memory_leak
constexpr size_t kLeakMinPoints = 5;
constexpr double kLeakMinR2 = 0.8;
constexpr double kLeakMinMonotone = 0.8;
constexpr double kLeakMinGrowthMb = 100;
constexpr double kLeakMinGrowthOfTotal = 0.05;
constexpr double kLeakFlatLoadRatio = 1.5;
// queue_saturation
constexpr double kQueueDominantFraction = 0.25;
constexpr double kQueueLoadedFraction = 0.5;
constexpr double kQueueCriticalShare = 0.6;
constexpr double kRejectionRate = 0.01;
constexpr int64_t kBurstWindowMinRequests = 5;
constexpr double kQueueBurstFactor = 2.0;
constexpr double kQueueBurstShare = 0.35;
constexpr double kQueueSlowdownInflation = 1.3;
// underbatching
constexpr double kUnderbatchedFraction = 0.2;
constexpr double kUnderbatchedMeanBatch = 1.5;
constexpr double kUnderbatchedUtilization = 0.7;
// batch_window_too_long
constexpr double kWindowLowLoadFraction = 0.2;
constexpr double kWindowMinMs = 2.0;
constexpr double kWindowWarnMs = 5.0;
constexpr double kWindowShare = 0.3;
constexpr double kWindowSpread = 0.6;  // p25 >= this * p75: a fixed wait.
// stage-bound rules
constexpr int64_t kStageMinSamples = 3;
constexpr double kStageBurstFactor = 2.0;
constexpr double kStageBurstAddedShare = 0.15;
// gpu_contention / gpu_throttling
constexpr double kContentionInflation = 1.5;
constexpr double kContentionCriticalInflation = 3.0;
constexpr double kContentionOtherMinMb = 256;
constexpr double kContentionOtherShare = 0.05;
constexpr double kContentionUtil = 90;
constexpr double kFlatLoad = 1.3;
constexpr double kThrottleClockDrop = 0.85;
constexpr double kThrottleInflation = 1.2;
// cold_start
constexpr int64_t kColdMinKeySamples = 10;
constexpr double kColdRatio = 3.0;
constexpr double kColdMinExtraMs = 10;
constexpr double kColdWarnRatio = 5.0;
constexpr double kColdWarnExtraMs = 100;
// Window inflation at an episode's onset: "several times slower", as a cold sample. A
// one-window 2-2.5x blip that is gone in the next window is CPU or GPU noise (a
// busy host, a huge decode next to CPU inference), not a restart warming up.
constexpr double kColdEpisodeRatio = kColdRatio;
constexpr double kColdSettled = 1.5;  // inflation back below this: warmed up.
constexpr size_t kColdMaxWindows = 30;
// error_burst
constexpr double kBurstMinRate = 0.05;
constexpr double kBurstOverMedian = 3.0;
constexpr int64_t kBurstMinErrors = 3;
constexpr int kBurstFineWindows = 600;  // burst detection windows: span / 600.
constexpr double kErrorRateWarn = 0.05;
constexpr double kErrorRateInfo = 0.01;
constexpr double kErrorRateCritical = 0.10;
constexpr double kBurstCriticalRate = 0.20;
// latency_outliers
constexpr int64_t kOutlierMinRequests = 200;
constexpr double kOutlierRatio = 5.0;
constexpr double kOutlierWarnRatio = 10.0;
constexpr double kOutlierMinExtraMs = 20;

Finding NewFinding(std::string_view kind, FindingSeverity severity, std::string title) {
  Finding f;
  f.kind = std::string(kind);
  f.severity = severity;
  f.title = std::move(title);
  return f;
}

void AddMetric(Finding* f, std::string name, double value) {
  if (std::isfinite(value)) f->metrics.emplace_back(std::move(name), value);
}

std::string Plural(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string JoinSentences(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += ' ';
    out += p;
  }
  return out;
}

double Frac(int64_t a, int64_t b) {
  return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

int64_t NextPow2(double v) {
  int64_t p = 1;
  while (static_cast<double>(p) < v && p < (int64_t{1} << 20)) p *= 2;
  return p;
}

// Per batch size: peak memory ratio, OOMs and samples (all equal-work keys).
struct BatchMemory {
  double max_ratio = -1;
  double max_used_mb = -1;
  int64_t ooms = 0;
  int64_t samples = 0;
};

std::map<int64_t, BatchMemory> MemoryByBatch(const LogAggregator& agg) {
  std::map<int64_t, BatchMemory> out;
  for (const auto& [key, w] : agg.work()) {
    if (key.batch_size <= 0) continue;
    BatchMemory& m = out[key.batch_size];
    if (!w.mem_ratio.empty()) m.max_ratio = std::max(m.max_ratio, w.mem_ratio.max);
    if (!w.mem_used.empty()) m.max_used_mb = std::max(m.max_used_mb, w.mem_used.max);
    m.ooms += w.ooms;
    m.samples += std::max(w.inference.count(), w.total.count());
  }
  return out;
}

// Largest batch size b such that no batch <= b ran out of memory and, where
// memory is known, none of them went above kMemSafeRatio. nullopt: no cap known.
std::optional<int64_t> SafeBatchCap(const std::map<int64_t, BatchMemory>& by_batch) {
  std::optional<int64_t> cap;
  for (const auto& [b, m] : by_batch) {
    if (m.ooms > 0) break;
    if (m.max_ratio >= kMemSafeRatio) break;
    if (m.samples > 0) cap = b;
  }
  return cap;
}

double PeakMemRatio(const AnalysisContext& ctx) {
  double peak = -1;
  for (const auto& [key, w] : ctx.agg.work()) {
    if (!w.mem_ratio.empty()) peak = std::max(peak, w.mem_ratio.max);
  }
  for (const TimeBucket& b : ctx.windows) {
    for (const DeviceWindow& d : b.devices) {
      if (!d.mem_ratio.empty()) peak = std::max(peak, d.mem_ratio.max);
    }
  }
  return peak;
}

double StageMean(const AnalysisContext& ctx, LogStage s) { return ctx.agg.stage(s).mean(); }

// Mean end-to-end latency: total_ms when logged, else the sum of stage means.
double TotalMean(const AnalysisContext& ctx) {
  if (!ctx.agg.stage(LogStage::kTotal).empty()) return StageMean(ctx, LogStage::kTotal);
  double sum = 0;
  for (int s = 0; s < kNumLogStages - 1; ++s) sum += StageMean(ctx, static_cast<LogStage>(s));
  return sum;
}

// Mean request-weighted batch size, or nullopt.
std::optional<double> RequestMeanBatch(const LogAggregator& agg) {
  const auto& br = agg.batch_size_requests();
  double n = 0, s = 0;
  for (size_t i = 0; i < br.size(); ++i) {
    n += static_cast<double>(br[i]);
    s += static_cast<double>(i) * static_cast<double>(br[i]);
  }
  if (n <= 0) return std::nullopt;
  return s / n;
}

// Inference (or total) p50 at batch size 1 over all keys of the chosen source.
std::optional<double> Batch1Latency(const AnalysisContext& ctx) {
  LatencyHistogram h;
  for (const auto& [key, w] : ctx.agg.work()) {
    if (key.batch_size != 1 || static_cast<bool>(key.from_batch_record) != ctx.use_batch_records)
      continue;
    h.Merge(ctx.use_inference ? w.inference : w.total);
  }
  if (h.empty()) return std::nullopt;
  return h.Quantile(0.5);
}

const char* MetricName(const AnalysisContext& ctx) {
  return ctx.use_inference ? "inference" : "total latency";
}

// ---------------------------------------------------------------- oom
void CheckOom(AnalysisContext& ctx) {
  if (!ctx.Require(
          "oom", {{LogField::kOom, LogField::kAllocRetries, LogField::kStatus, LogField::kError}}))
    return;
  const FlagCounter& oom = ctx.agg.flag(RecordFlag::kOom);
  const FlagCounter& retry = ctx.agg.flag(RecordFlag::kAllocRetry);
  if (oom.hits == 0 && retry.hits == 0) return;
  const auto by_batch = MemoryByBatch(ctx.agg);
  std::vector<int64_t> oom_batches;
  for (const auto& [b, m] : by_batch) {
    if (m.ooms > 0) oom_batches.push_back(b);
  }
  const std::optional<int64_t> cap = SafeBatchCap(by_batch);
  const double peak = PeakMemRatio(ctx);

  Finding f =
      oom.hits > 0
          ? NewFinding("oom", FindingSeverity::kCritical,
                       fmt::format("{} out of GPU memory",
                                   Plural(oom.hits, "request/batch ran", "requests/batches ran")))
          : NewFinding("oom", FindingSeverity::kWarning,
                       fmt::format("CUDA allocator retried {} (one step from out of memory)",
                                   Plural(ctx.agg.alloc_retries_total(), "time", "times")));
  const FlagCounter& main = oom.hits > 0 ? oom : retry;
  f.affected_count = main.hits;
  f.affected_fraction = Frac(main.hits, ctx.agg.requests() + ctx.agg.batches());
  f.request_ids = ctx.Ids(main.examples);
  if (oom.hits > 0) {
    f.evidence.push_back(
        fmt::format("{} of {} records report out of memory (oom=true or an OOM status/error)",
                    oom.hits, oom.eligible));
  }
  if (retry.hits > 0) {
    f.evidence.push_back(fmt::format(
        "{} needed cudaMalloc retries after freeing the allocator cache ({} retries in all)",
        Plural(retry.hits, "record", "records"), ctx.agg.alloc_retries_total()));
  }
  if (!oom_batches.empty()) {
    f.evidence.push_back(fmt::format("OOMs at batch size {}", fmt::join(oom_batches, ", ")));
    AddMetric(&f, "min_oom_batch_size", static_cast<double>(oom_batches.front()));
  }
  if (cap) {
    f.evidence.push_back(fmt::format("batches of up to {} never ran out of memory{}", *cap,
                                     peak >= 0 ? " and stayed below 85% of memory" : ""));
    AddMetric(&f, "safe_batch_size", static_cast<double>(*cap));
  }
  if (peak >= 0) {
    f.evidence.push_back(fmt::format("memory peaked at {} of total", FormatPercent(peak)));
    AddMetric(&f, "peak_mem_ratio", peak);
  }
  AddMetric(&f, "oom_count", static_cast<double>(oom.hits));
  AddMetric(&f, "alloc_retries", static_cast<double>(ctx.agg.alloc_retries_total()));
  f.time_ranges = ctx.RangesWhere([&](size_t i) {
    return ctx.windows[i].ooms > 0 || (oom.hits == 0 && ctx.windows[i].alloc_retries > 0);
  });
  std::vector<std::string> rec;
  if (cap && !oom_batches.empty()) {
    rec.push_back(fmt::format("Cap the max batch size at {} (OOMs only at batch >= {}).", *cap,
                              oom_batches.front()));
  } else if (cap) {
    rec.push_back(fmt::format("Cap the max batch size at {}.", *cap));
  } else {
    rec.push_back("Lower the max batch size or the input resolution until memory stays below 85%.");
  }
  rec.push_back(
      "Set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to cut fragmentation, keep other "
      "processes off this GPU, and on OOM split the batch in half and retry instead of failing "
      "its requests.");
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

// ---------------------------------------------------- gpu_memory_pressure
void CheckMemoryPressure(AnalysisContext& ctx) {
  if (!ctx.Require("gpu_memory_pressure", {{LogField::kMemUsed}, {LogField::kMemTotal}})) return;
  const FlagCounter& hi = ctx.agg.flag(RecordFlag::kMemHigh);
  const double peak = PeakMemRatio(ctx);

  // Per-record: same work at high vs normal memory.
  double log_sum = 0, weight = 0;
  const WorkStats* best = nullptr;
  const WorkKey* best_key = nullptr;
  double best_ratio = 0;
  for (const auto& [key, w] : ctx.agg.work()) {
    if (static_cast<bool>(key.from_batch_record) != ctx.use_batch_records) continue;
    const LatencyHistogram& h = ctx.use_inference ? w.inference_mem_high : w.total_mem_high;
    const LatencyHistogram& n = ctx.use_inference ? w.inference_mem_normal : w.total_mem_normal;
    if (h.empty() || n.empty() || n.Quantile(0.5) <= 0) continue;
    const double r = h.Quantile(0.5) / n.Quantile(0.5);
    log_sum += static_cast<double>(h.count()) * std::log(std::max(r, 1e-6));
    weight += static_cast<double>(h.count());
    if (best == nullptr ||
        h.count() > (ctx.use_inference ? best->inference_mem_high : best->total_mem_high).count()) {
      best = &w;
      best_key = &key;
      best_ratio = r;
    }
  }
  std::optional<double> inflation;
  if (weight > 0) inflation = std::exp(log_sum / weight);

  // Windows: telemetry-only memory (gpu records) joined by time.
  auto high_window = [&](size_t i) {
    for (const DeviceWindow& d : ctx.windows[i].devices) {
      if (!d.mem_ratio.empty() && d.mem_ratio.max >= kMemHighRatio) return true;
    }
    return false;
  };
  int64_t high_window_requests = 0;
  size_t high_windows = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    if (high_window(i)) {
      ++high_windows;
      high_window_requests += ctx.windows[i].requests;
    }
  }
  std::optional<double> window_inflation;
  if (!inflation && high_windows > 0) {
    auto in = ctx.InflationWhere(high_window);
    auto out = ctx.InflationWhere(
        [&](size_t i) { return !high_window(i) && ctx.windows[i].requests > 0; });
    if (in && out && out->ratio > 0 && in->samples >= 1) window_inflation = in->ratio / out->ratio;
  }
  const std::optional<double> infl = inflation ? inflation : window_inflation;
  const int64_t high_count = hi.hits > 0 ? hi.hits : high_window_requests;
  if (high_count == 0 && high_windows == 0) return;

  FindingSeverity sev;
  if (infl && *infl >= kMemPressureInflation) {
    sev = (*infl >= kMemPressureCriticalInflation || peak >= kMemCriticalRatio)
              ? FindingSeverity::kCritical
              : FindingSeverity::kWarning;
  } else if (peak >= 0.95 || hi.fraction() >= 0.05) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  Finding f = NewFinding(
      "gpu_memory_pressure", sev,
      infl && *infl >= kMemPressureInflation
          ? fmt::format("GPU memory at {} of total slows {} {:.1f}x",
                        FormatPercent(std::max(peak, kMemHighRatio)), MetricName(ctx), *infl)
          : fmt::format("GPU memory reaches {} of total (little headroom)", FormatPercent(peak)));
  f.affected_count = high_count;
  f.affected_fraction =
      hi.hits > 0 ? hi.fraction() : Frac(high_window_requests, ctx.agg.requests());
  if (best != nullptr && inflation) {
    f.evidence.push_back(fmt::format(
        "{} {:.1f}x the same-work baseline at batch {} while memory was at >= {} of total "
        "(peak {}): p50 {} at high memory vs {} below it",
        MetricName(ctx), best_ratio,
        best_key->batch_size > 0 ? std::to_string(best_key->batch_size) : "?",
        FormatPercent(kMemHighRatio), FormatPercent(peak),
        FormatMs(
            (ctx.use_inference ? best->inference_mem_high : best->total_mem_high).Quantile(0.5)),
        FormatMs((ctx.use_inference ? best->inference_mem_normal : best->total_mem_normal)
                     .Quantile(0.5))));
  } else if (window_inflation) {
    f.evidence.push_back(fmt::format(
        "{} {:.1f}x the equal-work baseline in the {} when memory was >= {} of total, vs the rest",
        MetricName(ctx), *window_inflation,
        Plural(static_cast<int64_t>(high_windows), "window", "windows"),
        FormatPercent(kMemHighRatio)));
  } else {
    f.evidence.push_back(fmt::format(
        "memory peaked at {} of total; no slowdown at equal work measured", FormatPercent(peak)));
  }
  if (hi.eligible > 0) {
    f.evidence.push_back(fmt::format("{} of {} records ran at >= {} of GPU memory", hi.hits,
                                     hi.eligible, FormatPercent(kMemHighRatio)));
  }
  // Per device: a window's totals sum over gpu_ids (several GPUs, or records
  // without gpu_id), which is not the capacity a co-tenant competes for.
  double other_max = -1, total_mb = -1;
  for (const TimeBucket& b : ctx.windows) {
    for (const DeviceWindow& d : b.devices) {
      if (d.mem_other.empty() || d.mem_total.empty() || d.mem_total.max <= 0) continue;
      if (total_mb <= 0 || d.mem_other.max / d.mem_total.max > other_max / total_mb) {
        other_max = d.mem_other.max;
        total_mb = d.mem_total.max;
      }
    }
  }
  const bool cotenant = other_max > 0 && total_mb > 0 && other_max >= 0.1 * total_mb;
  if (cotenant) {
    f.evidence.push_back(fmt::format("other processes hold up to {} MB ({} of the GPU)",
                                     FormatNumber(other_max), FormatPercent(other_max / total_mb)));
  }
  if (infl) AddMetric(&f, "inflation", *infl);
  AddMetric(&f, "peak_mem_ratio", peak);
  AddMetric(&f, "high_memory_records", static_cast<double>(high_count));
  f.request_ids = hi.hits > 0 ? ctx.Ids(hi.examples) : ctx.SlowestIdsWhere(high_window);
  f.time_ranges = ctx.RangesWhere(high_window);
  std::vector<std::string> rec;
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg));
  const auto& by_batch = MemoryByBatch(ctx.agg);
  if (cap && !by_batch.empty() && by_batch.rbegin()->first > *cap) {
    rec.push_back(fmt::format("Cap the max batch size at {} (it kept memory below {}).", *cap,
                              FormatPercent(kMemSafeRatio)));
  }
  if (cotenant) {
    rec.push_back("Move the co-tenant processes to another GPU or limit them (MIG/MPS).");
  }
  rec.push_back(
      "Reserve memory for this server (torch.cuda.set_per_process_memory_fraction / start it "
      "first), run in FP16, or lower the input resolution so that peak memory stays below 85%.");
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

// ---------------------------------------------------- memory_fragmentation
double MeanOf(const std::vector<double>& v, size_t b, size_t e) {
  double s = 0;
  for (size_t i = b; i < e; ++i) s += v[i];
  return e > b ? s / static_cast<double>(e - b) : 0.0;
}

std::set<int64_t> DeviceIds(const AnalysisContext& ctx) {
  std::set<int64_t> ids;
  for (const TimeBucket& b : ctx.windows) {
    for (const DeviceWindow& d : b.devices) ids.insert(d.gpu_id);
  }
  return ids;
}

int DistinctBatchSizes(const AnalysisContext& ctx) {
  int64_t total = 0;
  for (const BatchSizeEntry& e : ctx.report->summary.batch_sizes)
    total += e.batches ? e.batches : e.requests;
  int n = 0;
  for (const BatchSizeEntry& e : ctx.report->summary.batch_sizes) {
    if (static_cast<double>(e.batches ? e.batches : e.requests) >=
        0.01 * static_cast<double>(total))
      ++n;
  }
  return n;
}

void CheckFragmentation(AnalysisContext& ctx) {
  if (!ctx.Require("memory_fragmentation",
                   {{LogField::kTs},
                    {LogField::kMemReserved},
                    {LogField::kMemAllocated, LogField::kMemInactiveSplit}})) {
    return;
  }
  struct Best {
    int64_t gpu = -2;
    double gap_first = 0, gap_last = 0, reserved_last = 0, alloc_first = 0, alloc_last = 0,
           total = 0;
    bool inactive = false;
    size_t first_window = 0, last_window = 0;
  };
  std::optional<Best> best;
  size_t max_points = 0;
  for (int64_t gpu : DeviceIds(ctx)) {
    std::vector<double> res, alloc, inact, total;
    std::vector<size_t> idx;
    for (size_t i = 0; i < ctx.windows.size(); ++i) {
      for (const DeviceWindow& d : ctx.windows[i].devices) {
        if (d.gpu_id != gpu || d.mem_reserved.empty()) continue;
        if (d.mem_allocated.empty() && d.mem_inactive_split.empty()) continue;
        res.push_back(d.mem_reserved.mean());
        alloc.push_back(d.mem_allocated.empty() ? NAN : d.mem_allocated.mean());
        inact.push_back(d.mem_inactive_split.empty() ? NAN : d.mem_inactive_split.mean());
        if (!d.mem_total.empty()) total.push_back(d.mem_total.mean());
        idx.push_back(i);
      }
    }
    const size_t n = res.size();
    max_points = std::max(max_points, n);
    if (n < 3) continue;
    const size_t k = std::max<size_t>(1, n / 3);
    const bool use_alloc =
        std::none_of(alloc.begin(), alloc.end(), [](double v) { return std::isnan(v); });
    std::vector<double> gap(n);
    for (size_t i = 0; i < n; ++i) gap[i] = use_alloc ? res[i] - alloc[i] : inact[i];
    if (!use_alloc && std::any_of(gap.begin(), gap.end(), [](double v) { return std::isnan(v); }))
      continue;
    Best b;
    b.gpu = gpu;
    b.gap_first = MeanOf(gap, 0, k);
    b.gap_last = MeanOf(gap, n - k, n);
    b.reserved_last = MeanOf(res, n - k, n);
    b.alloc_first = use_alloc ? MeanOf(alloc, 0, k) : 0;
    b.alloc_last = use_alloc ? MeanOf(alloc, n - k, n) : 0;
    b.total = total.empty() ? 0 : *std::max_element(total.begin(), total.end());
    b.inactive = !use_alloc;
    b.first_window = idx.front();
    b.last_window = idx.back();
    double inact_last = NAN;
    if (std::none_of(inact.end() - static_cast<std::ptrdiff_t>(k), inact.end(),
                     [](double v) { return std::isnan(v); })) {
      inact_last = MeanOf(inact, n - k, n);
    }
    const double growth = b.gap_last - b.gap_first;
    const bool large = b.reserved_last > 0 && b.gap_last >= kFragShare * b.reserved_last &&
                       b.gap_last >= kFragMinGapMb;
    const bool growing = growth >= std::max(kFragGrowthShare * b.reserved_last, kFragMinGrowthMb);
    const bool split =
        std::isfinite(inact_last) && inact_last >= kFragInactiveShare * b.reserved_last;
    const bool alloc_flat = !use_alloc || std::fabs(b.alloc_last - b.alloc_first) <=
                                              0.5 * std::max(growth, 0.0) + 0.1 * b.alloc_first;
    if (large && (growing || split) && alloc_flat) {
      if (!best || b.gap_last > best->gap_last) best = b;
    }
  }
  if (max_points < 3) {
    ctx.SkipForSamples(
        "memory_fragmentation",
        fmt::format("reserved/allocated memory in only {} time windows (needs 3)", max_points));
    return;
  }
  if (!best) return;
  const FlagCounter& retry = ctx.agg.flag(RecordFlag::kAllocRetry);
  const FlagCounter& oom = ctx.agg.flag(RecordFlag::kOom);
  const bool near_full = best->total > 0 && best->reserved_last >= 0.9 * best->total;
  const FindingSeverity sev = (near_full || retry.hits > 0 || oom.hits > 0)
                                  ? FindingSeverity::kCritical
                                  : FindingSeverity::kWarning;
  Finding f = NewFinding(
      "memory_fragmentation", sev,
      fmt::format("{} MB of GPU memory reserved but unused ({} of reserved){}",
                  FormatNumber(best->gap_last), FormatPercent(best->gap_last / best->reserved_last),
                  best->gpu >= 0 ? fmt::format(" on cuda:{}", best->gpu) : ""));
  if (best->inactive) {
    f.evidence.push_back(
        fmt::format("inactive split blocks grew from {} MB to {} MB of {} MB reserved",
                    FormatNumber(best->gap_first), FormatNumber(best->gap_last),
                    FormatNumber(best->reserved_last)));
  } else {
    f.evidence.push_back(
        fmt::format("reserved - allocated grew from {} MB to {} MB while allocated stayed at ~{} "
                    "MB (reserved {} MB)",
                    FormatNumber(best->gap_first), FormatNumber(best->gap_last),
                    FormatNumber(best->alloc_last), FormatNumber(best->reserved_last)));
  }
  const int distinct = DistinctBatchSizes(ctx);
  if (distinct >= 3) {
    f.evidence.push_back(
        fmt::format("batch sizes vary ({} distinct sizes with >= 1% of batches): "
                    "differently sized blocks get split and cannot be reused",
                    distinct));
  }
  if (retry.hits > 0) {
    f.evidence.push_back(fmt::format("{} allocator retries", ctx.agg.alloc_retries_total()));
  }
  if (near_full) {
    f.evidence.push_back(fmt::format("reserved memory is {} of the GPU",
                                     FormatPercent(best->reserved_last / best->total)));
  }
  AddMetric(&f, "unused_reserved_mb", best->gap_last);
  AddMetric(&f, "unused_reserved_share", best->gap_last / best->reserved_last);
  AddMetric(&f, "growth_mb", best->gap_last - best->gap_first);
  AddMetric(&f, "distinct_batch_sizes", distinct);
  f.affected_count = ctx.agg.requests();
  f.affected_fraction = 1.0;
  f.time_ranges.push_back(TimeRange{ctx.WindowRange(best->first_window).start_us,
                                    ctx.WindowRange(best->last_window).end_us});
  f.request_ids = retry.hits > 0 ? ctx.Ids(retry.examples) : ctx.SlowestIdsWhere([&](size_t i) {
    return i >= best->first_window + (best->last_window - best->first_window) * 2 / 3 &&
           i <= best->last_window;
  });
  f.recommendation =
      "Set PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (PyTorch >= 2.1; on older versions "
      "max_split_size_mb:128) so freed blocks can be reused, and pad batches to a few fixed sizes "
      "(1, 2, 4, 8, ...) so that every batch needs the same block sizes. Avoid "
      "torch.cuda.empty_cache() in the request path.";
  ctx.report->findings.push_back(std::move(f));
}

// ------------------------------------------------------------- memory_leak
void CheckLeak(AnalysisContext& ctx) {
  if (!ctx.Require("memory_leak", {{LogField::kTs}, {LogField::kMemAllocated, LogField::kMemUsed}}))
    return;
  const bool use_alloc = ctx.Has(LogField::kMemAllocated);
  const char* metric = use_alloc ? "allocated" : "used";
  size_t max_points = 0;
  struct Leak {
    int64_t gpu;
    ChangeDetector::Trend trend;
    double first, last, total, span_s;
    size_t w0, w1;
  };
  std::optional<Leak> best;
  for (int64_t gpu : DeviceIds(ctx)) {
    std::vector<double> t, y, totals;
    std::vector<size_t> idx;
    for (size_t i = 0; i < ctx.windows.size(); ++i) {
      for (const DeviceWindow& d : ctx.windows[i].devices) {
        if (d.gpu_id != gpu) continue;
        const RunningStat& m = use_alloc ? d.mem_allocated : d.mem_used;
        if (m.empty()) continue;
        t.push_back(static_cast<double>(ctx.window_start_us[i] - ctx.window_start_us[0]) / 1e6 +
                    ctx.WindowSeconds() / 2);
        y.push_back(m.mean());
        if (!d.mem_total.empty()) totals.push_back(d.mem_total.mean());
        idx.push_back(i);
      }
    }
    max_points = std::max(max_points, y.size());
    if (y.size() < kLeakMinPoints) continue;
    const double total = totals.empty() ? 0 : *std::max_element(totals.begin(), totals.end());
    // The whole series, or its second half / last quarter: a leak that
    // started mid-log.
    for (size_t from : {size_t{0}, y.size() / 2, y.size() * 3 / 4}) {
      const size_t n = y.size() - from;
      if (n < kLeakMinPoints) break;
      const std::vector<double> ts(t.begin() + static_cast<std::ptrdiff_t>(from), t.end());
      const std::vector<double> ys(y.begin() + static_cast<std::ptrdiff_t>(from), y.end());
      const std::vector<size_t> ids(idx.begin() + static_cast<std::ptrdiff_t>(from), idx.end());
      const auto trend = ChangeDetector::FitTrend(ts, ys);
      const double span_s = ts.back() - ts.front();
      const double growth = trend.slope * span_s;
      double mean_y = 0;
      for (double v : ys) mean_y += v;
      mean_y /= static_cast<double>(n);
      int up = 0;
      for (size_t i = 1; i < n; ++i) {
        if (ys[i] - ys[i - 1] >= -0.01 * mean_y) ++up;
      }
      const double monotone = static_cast<double>(up) / static_cast<double>(n - 1);
      const size_t k = std::max<size_t>(1, n / 3);
      const double first = MeanOf(ys, 0, k), last = MeanOf(ys, n - k, n);
      const double threshold = total > 0 ? std::max(kLeakMinGrowthMb, kLeakMinGrowthOfTotal * total)
                                         : std::max(kLeakMinGrowthMb, 0.2 * first);
      if (!(trend.slope > 0 && trend.r2 >= kLeakMinR2 && monotone >= kLeakMinMonotone &&
            growth >= threshold)) {
        continue;
      }
      // Constant load: the request rate and batch size of the first and last
      // thirds agree within kLeakFlatLoadRatio.
      auto third_mean = [&](bool last_third, auto get) {
        double sum = 0;
        int m = 0;
        for (size_t j = last_third ? n - k : 0; j < (last_third ? n : k); ++j) {
          const auto v = get(ctx.report->time_series.windows[ids[j]]);
          if (v) {
            sum += *v;
            ++m;
          }
        }
        return m ? std::optional<double>(sum / m) : std::nullopt;
      };
      auto rate = [](const WindowStats& w) {
        return w.requests > 0 ? std::optional<double>(w.throughput_rps) : std::nullopt;
      };
      auto batch = [](const WindowStats& w) { return w.batch_size_mean; };
      bool flat = true;
      for (auto [a, b] : {std::pair{third_mean(false, rate), third_mean(true, rate)},
                          std::pair{third_mean(false, batch), third_mean(true, batch)}}) {
        if (a && b && *a > 0 && *b > 0 && std::max(*a / *b, *b / *a) > kLeakFlatLoadRatio)
          flat = false;
      }
      // Memory that tracks the request rate is load, not a leak.
      PairMoments load_vs_mem;
      for (size_t j = 0; j < n; ++j) {
        const WindowStats& w = ctx.report->time_series.windows[ids[j]];
        if (w.requests > 0) load_vs_mem.Add(w.throughput_rps, ys[j]);
      }
      const auto r1 = third_mean(false, rate), r3 = third_mean(true, rate);
      if (r1 && r3 && *r1 > 0 && *r3 / *r1 >= 1.15 && load_vs_mem.Correlation() >= 0.6)
        flat = false;
      if (!flat) continue;
      if (!best || trend.slope > best->trend.slope) {
        best = Leak{gpu, trend, first, last, total, span_s, ids.front(), ids.back()};
      }
      break;
    }
  }
  if (max_points < kLeakMinPoints) {
    ctx.SkipForSamples("memory_leak", fmt::format("memory in only {} time windows (needs {})",
                                                  max_points, kLeakMinPoints));
    return;
  }
  if (!best) return;
  const double per_min = best->trend.slope * 60.0;
  std::optional<double> minutes_to_full;
  if (best->total > 0 && best->last < best->total)
    minutes_to_full = (best->total - best->last) / per_min;
  const bool critical = best->total > 0 && (best->last >= 0.95 * best->total ||
                                            (minutes_to_full && *minutes_to_full <= 60));
  Finding f = NewFinding(
      "memory_leak", critical ? FindingSeverity::kCritical : FindingSeverity::kWarning,
      fmt::format("GPU memory {} grows {} MB/min at constant load{}", metric, FormatNumber(per_min),
                  best->gpu >= 0 ? fmt::format(" on cuda:{}", best->gpu) : ""));
  f.evidence.push_back(
      fmt::format("{} memory rose from {} MB to {} MB over {} (R^2 = {:.2f}) while the request "
                  "rate and batch size stayed flat",
                  metric, FormatNumber(best->first), FormatNumber(best->last),
                  FormatMs(best->span_s * 1000), best->trend.r2));
  if (minutes_to_full) {
    f.evidence.push_back(fmt::format("at this rate the GPU ({} MB) is full in ~{} min",
                                     FormatNumber(best->total), FormatNumber(*minutes_to_full)));
    AddMetric(&f, "minutes_to_full", *minutes_to_full);
  }
  if (!use_alloc) {
    f.evidence.push_back(
        "only mem_used_mb is logged: growth of the allocator cache looks the same; log "
        "mem_allocated_mb to tell");
  }
  AddMetric(&f, "slope_mb_per_min", per_min);
  AddMetric(&f, "r2", best->trend.r2);
  f.affected_count = ctx.agg.requests();
  f.affected_fraction = 1.0;
  f.time_ranges.push_back(
      TimeRange{ctx.WindowRange(best->w0).start_us, ctx.WindowRange(best->w1).end_us});
  f.request_ids = ctx.SlowestIdsWhere([&](size_t i) { return i + 3 > best->w1 && i <= best->w1; });
  f.recommendation =
      "Look for tensors kept across requests (outputs appended to lists or caches, tensors still "
      "attached to the graph: run under torch.inference_mode() and .detach()/.cpu() what you "
      "keep); "
      "compare torch.cuda.memory_snapshot() between two points. Until fixed, restart the worker "
      "before it fills the GPU.";
  ctx.report->findings.push_back(std::move(f));
}

// ----------------------------------------------------------- underbatching
bool HasFinding(const AnalysisContext& ctx, std::string_view kind) {
  return std::any_of(ctx.report->findings.begin(), ctx.report->findings.end(),
                     [&](const Finding& f) { return f.kind == kind; });
}

double QueueShare(const AnalysisContext& ctx) {
  const double total = TotalMean(ctx);
  return total > 0 && !ctx.agg.stage(LogStage::kQueue).empty()
             ? StageMean(ctx, LogStage::kQueue) / total
             : 0.0;
}

int64_t KnownGpus(const AnalysisContext& ctx) {
  int64_t n = 0;
  for (const auto& [gpu, g] : ctx.agg.by_gpu()) {
    if (gpu >= -1 && g.requests > 0) ++n;
  }
  return std::max<int64_t>(1, n);
}

void CheckUnderbatching(AnalysisContext& ctx) {
  if (!ctx.Require("underbatching", {{LogField::kBatchSize}, {LogField::kQueueLen, LogField::kTs}}))
    return;
  const FlagCounter& ub = ctx.agg.flag(RecordFlag::kUnderbatched);
  const auto mean_batch = RequestMeanBatch(ctx.agg);
  if (!mean_batch) return;
  const double qshare = QueueShare(ctx);
  const auto b1 = Batch1Latency(ctx);
  const auto& summary = ctx.report->summary;
  std::optional<double> utilization;
  if (b1 && summary.throughput_rps) {
    utilization = *summary.throughput_rps / static_cast<double>(KnownGpus(ctx)) * *b1 / 1000.0;
  }
  const bool by_queue = ub.eligible > 0 && ub.hits >= 3 && ub.fraction() >= kUnderbatchedFraction &&
                        *mean_batch <= kUnderbatchedMeanBatch;
  const bool by_rate = ub.eligible == 0 && *mean_batch <= 1.2 && qshare >= 0.3 && utilization &&
                       *utilization >= kUnderbatchedUtilization;
  if (!by_queue && !by_rate) return;
  const FindingSeverity sev = (by_queue && ub.fraction() >= 0.5 && qshare >= 0.5)
                                  ? FindingSeverity::kCritical
                                  : FindingSeverity::kWarning;
  Finding f = NewFinding(
      "underbatching", sev,
      fmt::format("Requests run one at a time (mean batch {:.2f}) while others wait", *mean_batch));
  if (by_queue) {
    f.evidence.push_back(
        fmt::format("{} of requests ran in a batch of 1 while >= {} requests were queued",
                    FormatPercent(ub.fraction()), ctx.agg.config().loaded_queue_len));
    f.affected_count = ub.hits;
    f.affected_fraction = ub.fraction();
    f.request_ids = ctx.Ids(ub.examples);
  } else {
    f.evidence.push_back(fmt::format(
        "arrivals of {} rps per GPU x {} per batch-1 run keep the GPU {} busy without batching",
        FormatNumber(*summary.throughput_rps / static_cast<double>(KnownGpus(ctx))), FormatMs(*b1),
        FormatPercent(*utilization)));
    f.affected_count = ctx.agg.requests();
    f.affected_fraction = 1.0;
    f.request_ids = ctx.Ids(ctx.agg.flag(RecordFlag::kQueueDominant).examples);
  }
  if (summary.p90_queue_len) {
    f.evidence.push_back(fmt::format("queue_len p90 {}, max {}",
                                     FormatNumber(*summary.p90_queue_len),
                                     summary.max_queue_len.value_or(0)));
  }
  if (qshare > 0)
    f.evidence.push_back(fmt::format("queue wait is {} of latency", FormatPercent(qshare)));
  AddMetric(&f, "mean_batch_size", *mean_batch);
  AddMetric(&f, "queue_share", qshare);
  if (utilization) AddMetric(&f, "batch1_utilization", *utilization);
  int64_t max_batch = NextPow2(std::max(2.0, summary.p90_queue_len.value_or(8.0)));
  max_batch = std::clamp<int64_t>(max_batch, 2, 32);
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg));
  if (cap && *cap >= 2) max_batch = std::min(max_batch, *cap);
  const double wait = std::clamp(std::round(0.25 * b1.value_or(20.0)), 1.0, 10.0);
  AddMetric(&f, "suggested_max_batch", static_cast<double>(max_batch));
  AddMetric(&f, "suggested_max_wait_ms", wait);
  f.time_ranges = ctx.RangesWhere([&](size_t i) {
    const auto& w = ctx.report->time_series.windows[i];
    return w.requests > 0 && w.batch_size_mean && *w.batch_size_mean <= kUnderbatchedMeanBatch &&
           (!w.queue_len_mean ||
            *w.queue_len_mean >= static_cast<double>(ctx.agg.config().loaded_queue_len));
  });
  f.recommendation = fmt::format(
      "Enable dynamic batching with max batch {} and a max wait of {} ms (about a quarter of the "
      "batch-1 {} of {}); batching amortizes the per-run cost across the requests that are already "
      "waiting.",
      max_batch, FormatNumber(wait), MetricName(ctx), b1 ? FormatMs(*b1) : "run");
  ctx.report->findings.push_back(std::move(f));
}

// --------------------------------------------------- batch_window_too_long
void CheckBatchWindow(AnalysisContext& ctx) {
  if (!ctx.Require("batch_window_too_long",
                   {{LogField::kQueueMs}, {LogField::kQueueLen, LogField::kBatchSize}}))
    return;
  const LowLoadStats& ll = ctx.agg.low_load();
  if (ll.requests < kStageMinSamples) {
    ctx.SkipForSamples(
        "batch_window_too_long",
        fmt::format("only {} requests at low load (needs {})", ll.requests, kStageMinSamples));
    return;
  }
  const double low_frac = Frac(ll.requests, ctx.agg.stage(LogStage::kQueue).count());
  const double p25 = ll.queue_ms.Quantile(0.25), p50 = ll.queue_ms.Quantile(0.5),
               p75 = ll.queue_ms.Quantile(0.75);
  const double total =
      !ll.total_ms.empty()
          ? ll.total_ms.mean()
          : ll.queue_ms.mean() + (ll.inference_ms.empty() ? 0 : ll.inference_ms.mean());
  const double share = total > 0 ? ll.queue_ms.mean() / total : 0;
  const int64_t max_batch = ctx.report->summary.max_batch_size.value_or(1);
  const double low_batch = ll.batch_size.empty() ? 1.0 : ll.batch_size.mean();
  const bool fixed_wait = p25 >= kWindowSpread * p75;
  const bool not_filling = low_batch <= std::max(1.5, 0.5 * static_cast<double>(max_batch));
  if (!(low_frac >= kWindowLowLoadFraction && p50 >= kWindowMinMs && share >= kWindowShare &&
        fixed_wait && not_filling)) {
    return;
  }
  const FindingSeverity sev =
      p50 >= kWindowWarnMs ? FindingSeverity::kWarning : FindingSeverity::kInfo;
  const double inf = ll.inference_ms.empty() ? 0 : ll.inference_ms.mean();
  const double suggested =
      std::clamp(std::round(0.25 * (inf > 0 ? inf : p50)), 1.0, std::max(1.0, std::floor(p50 / 2)));
  Finding f =
      NewFinding("batch_window_too_long", sev,
                 fmt::format("Batch window adds {} to every request at low load", FormatMs(p50)));
  f.evidence.push_back(fmt::format(
      "at low load ({} with no one else queued, {} of requests) requests still wait {} in the "
      "queue "
      "(p25-p75 {}-{}: a fixed window), {} of their latency",
      ctx.Has(LogField::kQueueLen) ? "queue_len <= 1" : "batch of 1", FormatPercent(low_frac),
      FormatMs(p50), FormatMs(p25), FormatMs(p75), FormatPercent(share)));
  f.evidence.push_back(
      fmt::format("batches at low load hold {:.2f} requests on average (largest batch seen: {})",
                  low_batch, max_batch));
  if (inf > 0)
    f.evidence.push_back(
        fmt::format("the wait is {:.1f}x the {} itself", p50 / inf, FormatMs(inf) + " inference"));
  const FlagCounter& lw = ctx.agg.flag(RecordFlag::kLowLoadWait);
  f.affected_count = lw.hits > 0 ? lw.hits : ll.requests;
  f.affected_fraction = lw.hits > 0 ? Frac(lw.hits, ctx.agg.requests()) : low_frac;
  f.request_ids = ctx.Ids(lw.examples);
  AddMetric(&f, "window_ms", p50);
  AddMetric(&f, "queue_share_low_load", share);
  AddMetric(&f, "suggested_max_wait_ms", suggested);
  f.recommendation = fmt::format(
      "Lower the batcher's max wait from ~{} to {} ms (about a quarter of the inference time), or "
      "use an adaptive window that dispatches at once when the queue is empty: at low load the "
      "wait buys no extra requests.",
      FormatMs(p50), FormatNumber(suggested));
  ctx.report->findings.push_back(std::move(f));
}

// -------------------------------------------------------- queue_saturation
void CheckQueueSaturation(AnalysisContext& ctx) {
  if (!ctx.Require("queue_saturation", {{LogField::kQueueMs, LogField::kQueueLen, LogField::kStatus,
                                         LogField::kError}}))
    return;
  const FlagCounter& qd = ctx.agg.flag(RecordFlag::kQueueDominant);
  const FlagCounter& ql = ctx.agg.flag(RecordFlag::kQueueLoaded);
  const FlagCounter& rej = ctx.agg.flag(RecordFlag::kRejected);
  const LatencyHistogram& q = ctx.agg.stage(LogStage::kQueue);
  const double qshare = QueueShare(ctx);
  const auto& summary = ctx.report->summary;
  const bool varies = !q.empty() && q.Quantile(0.9) >= 2.0 * q.Quantile(0.25) + 1.0;
  const bool by_queue = qd.hits >= 3 && qd.fraction() >= kQueueDominantFraction &&
                        (ql.eligible > 0 ? ql.fraction() >= kQueueLoadedFraction : varies);
  const bool by_rejects =
      rej.hits >= 1 && rej.fraction() >= kRejectionRate && (rej.hits >= 3 || rej.eligible < 100);
  const bool by_len =
      q.empty() && summary.p90_queue_len &&
      *summary.p90_queue_len >= std::max(8.0, 2.0 * summary.mean_batch_size.value_or(1.0));
  // Load bursts: windows where the queue wait at least doubled over its
  // typical level and makes up a large part of latency.
  std::vector<double> window_queue;
  for (const TimeBucket& b : ctx.windows) {
    if (b.requests >= kBurstWindowMinRequests && !b.queue_ms.empty())
      window_queue.push_back(b.queue_ms.mean());
  }
  const double typical_queue = ChangeDetector::Median(window_queue);
  const double loaded = static_cast<double>(ctx.agg.config().loaded_queue_len);
  auto burst_window = [&](size_t i) {
    const TimeBucket& b = ctx.windows[i];
    if (b.requests < kBurstWindowMinRequests || b.queue_ms.empty() || b.total_ms.empty())
      return false;
    const double qm = b.queue_ms.mean();
    return qm >= std::max(kQueueBurstFactor * typical_queue, typical_queue + 5.0) &&
           qm >= kQueueBurstShare * b.total_ms.mean() &&
           (b.queue_len.empty() || b.queue_len.mean() >= loaded);
  };
  int64_t burst_requests = 0;
  size_t burst_windows = 0;
  double burst_queue = 0, burst_rate = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    if (!burst_window(i)) continue;
    ++burst_windows;
    burst_requests += ctx.windows[i].requests;
    burst_queue += ctx.windows[i].queue_ms.sum;
    burst_rate += ctx.report->time_series.windows[i].throughput_rps;
  }
  const bool by_windows = window_queue.size() >= 4 && burst_windows > 0 &&
                          (burst_windows >= 2 || Frac(burst_requests, ctx.agg.requests()) >= 0.05);
  if (!by_queue && !by_rejects && !by_len && !by_windows) return;
  const FindingSeverity sev =
      (rej.fraction() >= kRejectionRate && rej.hits > 0) || qshare >= kQueueCriticalShare
          ? FindingSeverity::kCritical
          : FindingSeverity::kWarning;
  std::string title;
  if (by_queue || (by_len && qshare > 0)) {
    title = fmt::format("Requests spend {} of their latency queued", FormatPercent(qshare));
  } else if (by_rejects) {
    title = fmt::format("{} requests rejected by a full queue", rej.hits);
  } else if (by_windows) {
    title = fmt::format("Queue wait rises {:.1f}x during load bursts",
                        burst_queue / std::max<double>(1, static_cast<double>(burst_requests)) /
                            std::max(typical_queue, 1e-3));
  } else {
    title = "The request queue stays long";
  }
  Finding f = NewFinding("queue_saturation", sev, title);
  if (by_windows) {
    f.evidence.push_back(fmt::format(
        "in {} ({} of requests) the queue wait averaged {} vs a typical {}, while arrivals ran at "
        "{} rps (typically {})",
        Plural(static_cast<int64_t>(burst_windows), "window", "windows"),
        FormatPercent(Frac(burst_requests, ctx.agg.requests())),
        FormatMs(burst_queue / std::max<double>(1, static_cast<double>(burst_requests))),
        FormatMs(typical_queue), FormatNumber(burst_rate / static_cast<double>(burst_windows)),
        FormatNumber(ctx.median_rate_rps)));
  }
  if (qshare > 0) {
    f.evidence.push_back(fmt::format("queue wait mean {} of {} total (p99 queue {})",
                                     FormatMs(q.mean()), FormatMs(TotalMean(ctx)),
                                     FormatMs(q.Quantile(0.99))));
  }
  if (qd.eligible > 0) {
    f.evidence.push_back(fmt::format("{} of requests spent at least half their time queued",
                                     FormatPercent(qd.fraction())));
  }
  if (ql.eligible > 0) {
    f.evidence.push_back(fmt::format("{} of those arrived behind >= {} queued requests",
                                     FormatPercent(ql.fraction()),
                                     ctx.agg.config().loaded_queue_len));
  }
  if (summary.p90_queue_len) {
    f.evidence.push_back(fmt::format("queue_len p90 {}, max {}",
                                     FormatNumber(*summary.p90_queue_len),
                                     summary.max_queue_len.value_or(0)));
    const auto& dist = ctx.agg.queue_len();
    // (The distribution's last slot lumps everything larger: not a cap.)
    if (summary.max_queue_len && *summary.max_queue_len >= 4 &&
        static_cast<size_t>(*summary.max_queue_len) + 1 < dist.size()) {
      int64_t at_max = dist[static_cast<size_t>(*summary.max_queue_len)], all = 0;
      for (int64_t v : dist) all += v;
      if (Frac(at_max, all) >= 0.02) {
        f.evidence.push_back(
            fmt::format("{} of requests found the queue at its maximum {} (a queue cap?)",
                        FormatPercent(Frac(at_max, all)), *summary.max_queue_len));
      }
    }
  }
  if (rej.hits > 0) {
    f.evidence.push_back(fmt::format("{} rejected ({} of requests: 503/429/queue full)",
                                     Plural(rej.hits, "request", "requests"),
                                     FormatPercent(rej.fraction())));
  }
  for (const ChangePoint& cp : ctx.report->time_series.changes) {
    if ((cp.metric == "queue_len_mean" || cp.metric == "total_p50_ms") &&
        cp.kind == "level_shift" && cp.value > cp.baseline) {
      f.evidence.push_back(fmt::format("{} shifted from {} to {} at {}", cp.metric,
                                       FormatNumber(cp.baseline), FormatNumber(cp.value),
                                       ctx.Time(cp.range.start_us)));
      break;
    }
  }
  AddMetric(&f, "queue_share", qshare);
  AddMetric(&f, "rejection_rate", rej.fraction());
  if (summary.throughput_rps) AddMetric(&f, "throughput_rps", *summary.throughput_rps);
  f.affected_count = ql.hits > 0 ? ql.hits : (qd.hits > 0 ? qd.hits : rej.hits);
  f.affected_fraction = Frac(f.affected_count, ctx.agg.requests());
  f.request_ids = ql.hits > 0 ? ctx.Ids(ql.examples)
                              : (qd.hits > 0 ? ctx.Ids(qd.examples) : ctx.Ids(rej.examples));
  if (!by_queue && !by_rejects && !by_len) {
    f.affected_count = burst_requests;
    f.affected_fraction = Frac(burst_requests, ctx.agg.requests());
    f.request_ids = ctx.SlowestIdsWhere(burst_window);
  }
  auto queue_window = [&](size_t i) {
    const auto& w = ctx.report->time_series.windows[i];
    if (w.rejections > 0 || burst_window(i)) return true;
    if (!w.queue_ms_mean || !w.total_p50_ms || w.requests == 0) return false;
    const TimeBucket& b = ctx.windows[i];
    const double total = b.total_ms.empty() ? 0 : b.total_ms.mean();
    return total > 0 && *w.queue_ms_mean >= 0.5 * total &&
           (!w.queue_len_mean || *w.queue_len_mean >= loaded);
  };
  f.time_ranges = ctx.RangesWhere(queue_window);
  // A symptom? The queue built while the service slowed down at equal work
  // and arrivals did not rise: the slowdown's finding is the cause.
  // Per queue range: a symptom when the service slowed down at equal work at
  // the range's onset (the backlog may drain long after the slowdown ended)
  // while arrivals stayed flat; else a genuine overload.
  std::vector<std::string> causes;
  size_t symptom_ranges = 0;
  double worst_slowdown = 0;
  for (const TimeRange& r : f.time_ranges) {
    double onset = 0, rate = 0;
    size_t n = 0;
    for (size_t i = 0; i < ctx.windows.size(); ++i) {
      const int64_t ws = ctx.window_start_us[i];
      if (ws >= r.start_us - ctx.window_us &&
          ws < std::min(r.end_us, r.start_us + 2 * ctx.window_us) && ctx.inflation[i] &&
          ctx.windows[i].requests >= kBurstWindowMinRequests) {
        onset = std::max(onset, *ctx.inflation[i]);
      }
      if (ws >= r.start_us && ws < r.end_us) {
        rate += ctx.report->time_series.windows[i].throughput_rps;
        ++n;
      }
    }
    rate /= static_cast<double>(std::max<size_t>(1, n));
    if (onset < kQueueSlowdownInflation ||
        (ctx.median_rate_rps > 0 && rate > kFlatLoad * ctx.median_rate_rps)) {
      continue;
    }
    ++symptom_ranges;
    worst_slowdown = std::max(worst_slowdown, onset);
    std::string cause;
    for (std::string_view kind :
         {"gpu_memory_pressure", "gpu_throttling", "gpu_contention", "cold_start", "oom"}) {
      for (const Finding& other : ctx.report->findings) {
        if (other.kind != kind) continue;
        for (const TimeRange& o : other.time_ranges) {
          if (o.start_us < r.start_us + 2 * ctx.window_us &&
              o.end_us > r.start_us - ctx.window_us) {
            cause = other.kind;
          }
        }
      }
      if (!cause.empty()) break;
    }
    if (!cause.empty() && std::find(causes.begin(), causes.end(), cause) == causes.end())
      causes.push_back(cause);
    f.evidence.push_back(
        fmt::format("the backlog from {} followed a slowdown ({} {:.1f}x its equal-work baseline) "
                    "at flat arrivals (~{} rps): "
                    "a symptom{}",
                    ctx.Time(r.start_us), MetricName(ctx), onset, FormatNumber(rate),
                    cause.empty() ? "" : " of " + cause));
  }
  if (symptom_ranges > 0) AddMetric(&f, "onset_inflation", worst_slowdown);
  if (symptom_ranges > 0 && symptom_ranges == f.time_ranges.size()) {
    f.title =
        fmt::format("Queue builds up while {} is {:.1f}x slower", MetricName(ctx), worst_slowdown);
  }
  const std::string cause = fmt::format("{}", fmt::join(causes, ", "));
  std::vector<std::string> rec;
  if (!cause.empty())
    rec.push_back("Fix the slowdown first (see " + cause +
                  "); the queue drains once the GPU is back to speed.");
  if (HasFinding(ctx, "underbatching")) {
    rec.push_back(
        "First enable dynamic batching (see underbatching): the queue builds because requests run "
        "one by one.");
  }
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg));
  if (summary.max_batch_size && cap && *cap > *summary.max_batch_size) {
    rec.push_back(
        fmt::format("Memory allows batches of up to {}: raise the max batch size.", *cap));
  }
  rec.push_back(fmt::format(
      "Add capacity (more model instances or GPUs){}, and bound the queue: shed load early with "
      "503 "
      "and client retries with backoff instead of letting latency grow.",
      summary.throughput_rps
          ? fmt::format(" -- the service handles {} rps now", FormatNumber(*summary.throughput_rps))
          : ""));
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

// ------------------------------------------------ cpu/transfer/postprocess
struct StageRule {
  std::string_view kind;
  std::vector<LogStage> stages;
  RunningStat TimeBucket::*window_stat;
  RecordFlag flag;
  double warn_share, critical_share, info_share;
  double min_ms;
  double min_of_inference;  // the stage(s) must also take >= this x inference.
  const char* label;
};

void CheckStageBound(AnalysisContext& ctx, const StageRule& rule) {
  std::vector<LogField> fields;
  for (LogStage s : rule.stages)
    fields.push_back(
        static_cast<LogField>(static_cast<int>(LogField::kQueueMs) + static_cast<int>(s)));
  if (!ctx.Require(rule.kind, {fields, {LogField::kTotalMs, LogField::kInferenceMs}})) return;
  double mean = 0;
  int64_t n = 0;
  for (LogStage s : rule.stages) {
    mean += StageMean(ctx, s);
    n = std::max(n, ctx.agg.stage(s).count());
  }
  if (n < kStageMinSamples) {
    ctx.SkipForSamples(rule.kind, fmt::format("only {} requests with {} (needs {})", n, rule.label,
                                              kStageMinSamples));
    return;
  }
  const double total = TotalMean(ctx);
  if (total <= 0) return;
  const double share = mean / total;
  const double inf = StageMean(ctx, LogStage::kInference);
  const bool vs_inf =
      ctx.agg.stage(LogStage::kInference).empty() || mean >= rule.min_of_inference * inf;
  // Windows where the stage at least doubled over its typical level and
  // takes a large share: a period of CPU starvation, a PCIe hiccup, ...
  std::vector<double> window_means;
  for (const TimeBucket& b : ctx.windows) {
    if (b.requests >= kBurstWindowMinRequests && !(b.*rule.window_stat).empty()) {
      window_means.push_back((b.*rule.window_stat).mean());
    }
  }
  const double typical = ChangeDetector::Median(window_means);
  auto slow_window = [&](size_t i) {
    const TimeBucket& b = ctx.windows[i];
    const RunningStat& st = b.*rule.window_stat;
    if (b.requests < kBurstWindowMinRequests || st.empty() || b.total_ms.empty() ||
        b.total_ms.mean() <= 0)
      return false;
    const double m = st.mean();
    return window_means.size() >= 4 && m >= kStageBurstFactor * typical && m >= rule.min_ms &&
           m / b.total_ms.mean() >= rule.info_share &&
           m - typical >= kStageBurstAddedShare * b.total_ms.mean();
  };
  int64_t slow_requests = 0;
  size_t slow_windows = 0;
  double slow_sum = 0, slow_total = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    if (!slow_window(i)) continue;
    ++slow_windows;
    slow_requests += ctx.windows[i].requests;
    slow_sum += (ctx.windows[i].*rule.window_stat).sum;
    slow_total += ctx.windows[i].total_ms.sum;
  }
  const bool by_windows =
      slow_windows >= 2 || (slow_windows > 0 && Frac(slow_requests, ctx.agg.requests()) >= 0.05);
  FindingSeverity sev;
  bool global = true;
  if (share >= rule.warn_share && mean >= rule.min_ms && vs_inf) {
    sev = share >= rule.critical_share ? FindingSeverity::kCritical : FindingSeverity::kWarning;
  } else if (by_windows) {
    sev = FindingSeverity::kWarning;
    global = false;
  } else if (share >= rule.info_share && mean >= rule.min_ms / 2) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  const FlagCounter& flag = ctx.agg.flag(rule.flag);
  const double slow_mean = slow_requests > 0 ? slow_sum / static_cast<double>(slow_requests) : 0;
  Finding f = NewFinding(
      rule.kind, sev,
      global ? fmt::format("{} take {} of request latency", rule.label, FormatPercent(share))
             : fmt::format("{} {:.1f}x slower for a period ({} of latency then)", rule.label,
                           slow_mean / std::max(typical, 1e-6),
                           FormatPercent(slow_sum / std::max(slow_total, 1e-9))));
  if (global) {
    f.evidence.push_back(fmt::format(
        "{} mean {} of {} total{}", rule.label, FormatMs(mean), FormatMs(total),
        inf > 0 ? fmt::format(" (inference {}, {:.1f}x)", FormatMs(inf), mean / inf) : ""));
    if (flag.eligible > 0) {
      f.evidence.push_back(fmt::format("{} of requests spent >= {} of their time there",
                                       FormatPercent(flag.fraction()),
                                       FormatPercent(ctx.agg.config().stage_dominant_share)));
    }
    f.affected_count = flag.hits;
    f.affected_fraction = flag.fraction();
    f.request_ids = ctx.Ids(flag.examples);
  } else {
    f.affected_count = slow_requests;
    f.affected_fraction = Frac(slow_requests, ctx.agg.requests());
    f.request_ids = ctx.SlowestIdsWhere(slow_window);
  }
  if (by_windows) {
    f.evidence.push_back(fmt::format(
        "in {} ({} of requests) {} averaged {} vs a typical {}, {} of latency",
        Plural(static_cast<int64_t>(slow_windows), "window", "windows"),
        FormatPercent(Frac(slow_requests, ctx.agg.requests())), rule.label, FormatMs(slow_mean),
        FormatMs(typical), FormatPercent(slow_sum / std::max(slow_total, 1e-9))));
    f.time_ranges = ctx.RangesWhere(slow_window);
  }
  AddMetric(&f, "share", share);
  AddMetric(&f, "mean_ms", mean);
  if (inf > 0) AddMetric(&f, "vs_inference", mean / inf);
  const auto& summary = ctx.report->summary;
  std::vector<std::string> rec;
  if (rule.kind == "cpu_preprocess_bound") {
    if (summary.throughput_rps) {
      const double cores = *summary.throughput_rps * mean / 1000.0;
      f.evidence.push_back(fmt::format("at {} rps decode+preprocess keep ~{} CPU cores busy",
                                       FormatNumber(*summary.throughput_rps), FormatNumber(cores)));
      rec.push_back(fmt::format(
          "Add preprocess workers (at least {}, one per busy core plus headroom) so images "
          "are decoded in parallel ahead of the batcher.",
          std::max<int64_t>(2, static_cast<int64_t>(std::ceil(cores * 1.5)))));
    } else {
      rec.push_back(
          "Add preprocess workers so images are decoded in parallel ahead of the batcher.");
    }
    const RunningStat& mp = ctx.agg.input_megapixels();
    if (!mp.empty()) {
      f.evidence.push_back(fmt::format("input images average {} MP", FormatNumber(mp.mean())));
      AddMetric(&f, "input_megapixels", mp.mean());
    }
    rec.push_back(
        "Decode JPEGs at reduced scale (libjpeg-turbo DCT scaling) and letterbox on the GPU; ask "
        "clients to send images no larger than ~2x the network input.");
  } else if (rule.kind == "transfer_bound") {
    rec.push_back(
        "Use pinned (page-locked) host buffers with non_blocking copies, upload uint8 and "
        "normalize "
        "on the GPU (4x fewer bytes than float32), overlap copies with compute on a second CUDA "
        "stream, and check the PCIe link width/generation (nvidia-smi -q).");
  } else {
    const RunningStat& det = ctx.agg.detections();
    if (!det.empty()) {
      f.evidence.push_back(fmt::format("{} detections per image on average (max {})",
                                       FormatNumber(det.mean()), FormatNumber(det.max)));
      AddMetric(&f, "mean_detections", det.mean());
      const double r = ctx.agg.detections_vs_post().Correlation();
      if (r >= 0.5) {
        f.evidence.push_back(
            fmt::format("postprocess time follows the detection count (r = {:.2f})", r));
        AddMetric(&f, "detections_correlation", r);
      }
    }
    rec.push_back(
        "Raise the confidence threshold (e.g. to 0.25) and lower max_det so NMS sees fewer boxes, "
        "run NMS on the GPU (torchvision.ops.batched_nms), and decode the output tensor "
        "vectorized.");
  }
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

// ---------------------------------------------------------- gpu_throttling
double ReferenceClock(const AnalysisContext& ctx) {
  std::vector<double> clocks;
  for (const WindowStats& w : ctx.report->time_series.windows) {
    if (w.sm_clock_mhz) clocks.push_back(*w.sm_clock_mhz);
  }
  if (clocks.empty()) return 0;
  std::sort(clocks.begin(), clocks.end());
  return clocks[static_cast<size_t>(0.9 * static_cast<double>(clocks.size() - 1))];
}

bool ThrottledWindow(const AnalysisContext& ctx, size_t i, double ref_clock) {
  const WindowStats& w = ctx.report->time_series.windows[i];
  if (w.throttled_fraction && *w.throttled_fraction >= 0.5) return true;
  return ref_clock > 0 && w.sm_clock_mhz && *w.sm_clock_mhz <= kThrottleClockDrop * ref_clock;
}

void CheckThrottling(AnalysisContext& ctx) {
  if (!ctx.Require("gpu_throttling",
                   {{LogField::kTs}, {LogField::kSmClock, LogField::kThrottleReasons}}))
    return;
  const double ref = ReferenceClock(ctx);
  auto flagged = [&](size_t i) {
    return ctx.windows[i].requests > 0 && ThrottledWindow(ctx, i, ref);
  };
  size_t n_flagged = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) n_flagged += flagged(i);
  if (n_flagged == 0) return;
  const auto in = ctx.InflationWhere(flagged);
  const auto out =
      ctx.InflationWhere([&](size_t i) { return ctx.windows[i].requests > 0 && !flagged(i); });
  std::optional<double> ratio;
  if (in) ratio = in->ratio / (out && out->ratio > 0 ? out->ratio : 1.0);
  const FlagCounter& th = ctx.agg.flag(RecordFlag::kThrottled);
  FindingSeverity sev;
  if (ratio && *ratio >= kThrottleInflation) {
    sev = *ratio >= 2.0 ? FindingSeverity::kCritical : FindingSeverity::kWarning;
  } else if (!ratio && th.fraction() >= 0.1) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  double clock_in = 0, temp_max = -1;
  int n_clock = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    const WindowStats& w = ctx.report->time_series.windows[i];
    if (w.temp_c) temp_max = std::max(temp_max, *w.temp_c);
    if (flagged(i) && w.sm_clock_mhz) {
      clock_in += *w.sm_clock_mhz;
      ++n_clock;
    }
  }
  Finding f =
      NewFinding("gpu_throttling", sev,
                 ratio ? fmt::format("GPU clocks throttled: {} {:.1f}x slower at equal work",
                                     MetricName(ctx), *ratio)
                       : std::string("GPU reports clock throttling"));
  if (n_clock > 0 && ref > 0) {
    clock_in /= n_clock;
    f.evidence.push_back(
        fmt::format("SM clock {} MHz in the throttled windows vs {} MHz normally ({} lower)",
                    FormatNumber(clock_in), FormatNumber(ref), FormatPercent(1 - clock_in / ref)));
    AddMetric(&f, "sm_clock_mhz", clock_in);
    AddMetric(&f, "reference_clock_mhz", ref);
  }
  if (th.eligible > 0) {
    f.evidence.push_back(fmt::format(
        "{} of {} GPU samples report an active slowdown reason (thermal / power cap / HW slowdown)",
        th.hits, th.eligible));
  }
  if (ratio) {
    f.evidence.push_back(
        fmt::format("{} {:.1f}x the equal-work baseline while throttled (vs the other windows)",
                    MetricName(ctx), *ratio));
    AddMetric(&f, "inflation", *ratio);
  }
  if (temp_max > 0) {
    f.evidence.push_back(fmt::format("temperature up to {} C", FormatNumber(temp_max)));
    AddMetric(&f, "max_temp_c", temp_max);
  }
  f.affected_count = in ? in->requests : 0;
  f.affected_fraction = Frac(f.affected_count, ctx.agg.requests());
  f.time_ranges = ctx.RangesWhere(flagged);
  f.request_ids = ctx.SlowestIdsWhere(flagged);
  f.recommendation =
      "Check cooling (fans, airflow, inlet temperature) and the power limit (nvidia-smi -q -d "
      "PERFORMANCE,POWER,TEMPERATURE); raise the power limit or lock application clocks "
      "(nvidia-smi -ac) where allowed, and spread load across GPUs so none runs hot.";
  ctx.report->findings.push_back(std::move(f));
}

// ---------------------------------------------------------- gpu_contention
// Another workload on one GPU, judged per device: its other-process memory
// against that GPU's own capacity and its own median, its utilization
// against its own median, and the inference of the work that ran on it. A
// window's device state is a sum over gpu_ids (a phantom "unknown" device of
// records without gpu_id, or the other GPUs of a multi-GPU host, would
// otherwise inflate the capacity the co-tenant is compared with, and dilute
// its slowdown).
struct ContentionDevice {
  std::vector<double> others, utils;
  double total_mb = 0;
  double median_other = 0, median_util = 0;
};

struct ContentionSignal {
  int64_t gpu = -2;
  bool by_memory = false;                // other-process memory (else utilization).
  std::optional<double> other_mb, util;  // the device's means in the window.
  double num = 0, den = 0;               // equal-work inflation sums.
  int64_t samples = 0;
};

// Equal-work inflation sums of window `i` on `gpu`; the whole window when no
// work in it names a GPU (requests logged without gpu_id).
void DeviceInflation(const AnalysisContext& ctx, size_t i, int64_t gpu, ContentionSignal* s) {
  bool any_known = false, any_here = false;
  double num = 0, den = 0, all_num = 0, all_den = 0;
  int64_t n_here = 0, n_all = 0;
  for (const WorkCell& c : ctx.windows[i].work) {
    if (static_cast<bool>(c.key.from_batch_record) != ctx.use_batch_records) continue;
    auto it = ctx.steady.find(c.key);
    if (it == ctx.steady.end()) continue;
    const int64_t n = ctx.use_inference ? c.inference_n : c.total_n;
    const double sum = ctx.use_inference ? c.inference_sum : c.total_sum;
    if (n <= 0) continue;
    all_num += sum;
    all_den += static_cast<double>(n) * it->second;
    n_all += n;
    if (c.key.gpu_id >= 0) any_known = true;
    if (c.key.gpu_id == gpu) {
      any_here = true;
      num += sum;
      den += static_cast<double>(n) * it->second;
      n_here += n;
    }
  }
  if (any_here) {
    s->num = num;
    s->den = den;
    s->samples = n_here;
  } else if (!any_known) {
    s->num = all_num;
    s->den = all_den;
    s->samples = n_all;
  }
}

void CheckContention(AnalysisContext& ctx) {
  if (!ctx.Require("gpu_contention",
                   {{LogField::kTs}, {LogField::kInferenceMs, LogField::kTotalMs}}))
    return;
  const auto& W = ctx.report->time_series.windows;
  const bool telemetry = ctx.Has(LogField::kMemOther) || ctx.Has(LogField::kGpuUtil);
  std::map<int64_t, ContentionDevice> devices;
  for (const TimeBucket& b : ctx.windows) {
    for (const DeviceWindow& d : b.devices) {
      ContentionDevice& cd = devices[d.gpu_id];
      if (!d.mem_other.empty()) cd.others.push_back(d.mem_other.mean());
      if (!d.gpu_util.empty()) cd.utils.push_back(d.gpu_util.mean());
      if (!d.mem_total.empty()) cd.total_mb = std::max(cd.total_mb, d.mem_total.max);
    }
  }
  std::set<int64_t> known_gpus;
  for (auto& [gpu, cd] : devices) {
    cd.median_other = ChangeDetector::Median(cd.others);
    cd.median_util = ChangeDetector::Median(cd.utils);
    if (gpu >= 0 && (!cd.others.empty() || !cd.utils.empty())) known_gpus.insert(gpu);
  }
  const double ref = ReferenceClock(ctx);
  auto flat = [&](size_t i) {
    const WindowStats& w = W[i];
    if (w.requests == 0) return false;
    if (ctx.median_rate_rps > 0 && w.throughput_rps > kFlatLoad * ctx.median_rate_rps) return false;
    if (ctx.median_batch_size > 0 && w.batch_size_mean &&
        *w.batch_size_mean > kFlatLoad * ctx.median_batch_size) {
      return false;
    }
    return true;
  };
  // The device of window i on which another workload shows, slowing the work
  // that ran on it by >= kContentionInflation.
  auto signal_at = [&](size_t i) -> std::optional<ContentionSignal> {
    std::optional<ContentionSignal> best;
    for (const DeviceWindow& d : ctx.windows[i].devices) {
      const ContentionDevice& cd = devices[d.gpu_id];
      ContentionSignal s;
      s.gpu = d.gpu_id;
      if (!d.mem_other.empty()) s.other_mb = d.mem_other.mean();
      if (!d.gpu_util.empty()) s.util = d.gpu_util.mean();
      if (s.other_mb) {
        s.by_memory =
            *s.other_mb >= std::max(kContentionOtherMinMb, kContentionOtherShare * cd.total_mb) &&
            *s.other_mb >= 1.5 * cd.median_other + 1;
        if (!s.by_memory) continue;
      } else {
        // Utilization is a weak signal (our own slower kernels raise it too):
        // used only on a GPU whose other-process memory is not logged.
        if (!cd.others.empty() || !s.util || *s.util < kContentionUtil ||
            *s.util < cd.median_util + 15) {
          continue;
        }
      }
      DeviceInflation(ctx, i, d.gpu_id, &s);
      if (s.den <= 0 || s.num / s.den < kContentionInflation) continue;
      if (!best || s.num / s.den > best->num / best->den) best = s;
    }
    return best;
  };
  auto inflated = [&](size_t i) {
    return ctx.inflation[i] && *ctx.inflation[i] >= kContentionInflation &&
           ctx.windows[i].requests >= 1;
  };
  auto unexplained = [&](size_t i, bool memory_signal) {
    const WindowStats& w = W[i];
    if (ThrottledWindow(ctx, i, ref)) return false;
    if (w.mem_used_ratio && *w.mem_used_ratio >= kMemHighRatio && !memory_signal) return false;
    return true;
  };
  if (!telemetry) {
    SkippedCheck skip;
    skip.check = "gpu_contention";
    skip.missing_fields = {"mem_other_processes_mb|gpu_util"};
    skip.reason =
        "no GPU telemetry to confirm another process on the GPU; only unexplained slowdowns are "
        "reported";
    ctx.report->skipped_checks.push_back(std::move(skip));
  }
  // Per window: the contended device's signal (with telemetry), or the whole
  // window's inflation (without).
  std::vector<std::optional<ContentionSignal>> hit(W.size());
  for (size_t i = 0; i < W.size(); ++i) {
    if (i < ctx.cold_windows.size() && ctx.cold_windows[i]) continue;
    if (!flat(i)) continue;
    if (telemetry) {
      auto s = signal_at(i);
      if (s && unexplained(i, s->by_memory)) hit[i] = s;
    } else if (inflated(i) && unexplained(i, false)) {
      ContentionSignal s;
      s.num = ctx.inflation_num[i];
      s.den = ctx.inflation_den[i];
      for (const WorkCell& c : ctx.windows[i].work) {
        if (static_cast<bool>(c.key.from_batch_record) != ctx.use_batch_records) continue;
        if (ctx.steady.count(c.key)) s.samples += ctx.use_inference ? c.inference_n : c.total_n;
      }
      hit[i] = s;
    }
  }
  auto flagged = [&](size_t i) { return hit[i].has_value(); };
  double num = 0, den = 0;
  int64_t samples = 0, requests = 0;
  size_t n_flagged = 0;
  std::set<int64_t> gpus;
  double other_in = 0, util_in = 0, median_other = 0, median_util = 0;
  int n_other = 0, n_util = 0;
  for (size_t i = 0; i < W.size(); ++i) {
    if (!hit[i]) continue;
    const ContentionSignal& s = *hit[i];
    ++n_flagged;
    num += s.num;
    den += s.den;
    samples += s.samples;
    requests += ctx.windows[i].requests;
    if (!telemetry) continue;
    gpus.insert(s.gpu);
    const ContentionDevice& cd = devices[s.gpu];
    if (s.other_mb) {
      other_in += *s.other_mb;
      median_other += cd.median_other;
      ++n_other;
    }
    if (s.util) {
      util_in += *s.util;
      median_util += cd.median_util;
      ++n_util;
    }
  }
  if (den <= 0) return;
  const double ratio = num / den;
  if (ratio < kContentionInflation || samples < 3) return;
  if (!telemetry && (n_flagged < 2 || samples < 10)) return;
  const auto out = ctx.InflationWhere([&](size_t i) { return W[i].requests > 0 && !flagged(i); });
  const FindingSeverity sev =
      !telemetry ? FindingSeverity::kInfo
                 : (ratio >= kContentionCriticalInflation ? FindingSeverity::kCritical
                                                          : FindingSeverity::kWarning);
  // Name the GPU when the log has several and one of them is contended.
  const std::string on_gpu = known_gpus.size() > 1 && gpus.size() == 1 && *gpus.begin() >= 0
                                 ? fmt::format(" GPU {}", *gpus.begin())
                                 : std::string();
  Finding f = NewFinding(
      "gpu_contention", sev,
      telemetry ? fmt::format("Another workload on{} slows {} {:.1f}x at equal work",
                              on_gpu.empty() ? " the GPU" : on_gpu, MetricName(ctx), ratio)
                : fmt::format("{} {:.1f}x slower at equal work with no change in our load "
                              "(unconfirmed: no GPU telemetry)",
                              MetricName(ctx), ratio));
  f.evidence.push_back(fmt::format(
      "{} {:.1f}x the same-work baseline{} in {} (vs {:.2f}x elsewhere) while our "
      "request rate and batch sizes stayed flat",
      MetricName(ctx), ratio, on_gpu.empty() ? "" : " on" + on_gpu,
      Plural(static_cast<int64_t>(n_flagged), "window", "windows"), out ? out->ratio : 1.0));
  if (n_other > 0) {
    const double total = devices[*gpus.begin()].total_mb;
    f.evidence.push_back(fmt::format(
        "other processes held {} MB of GPU memory then{} (typically {} MB)",
        FormatNumber(other_in / n_other),
        gpus.size() == 1 && total > 0
            ? fmt::format(", {} of the card's {} MB", FormatPercent(other_in / n_other / total),
                          FormatNumber(total))
            : std::string(),
        FormatNumber(median_other / n_other)));
    AddMetric(&f, "other_processes_mb", other_in / n_other);
  }
  if (n_util > 0) {
    f.evidence.push_back(fmt::format("GPU utilization {}% then (typically {}%)",
                                     FormatNumber(util_in / n_util),
                                     FormatNumber(median_util / n_util)));
    AddMetric(&f, "gpu_util", util_in / n_util);
  }
  AddMetric(&f, "inflation", ratio);
  f.affected_count = requests;
  f.affected_fraction = Frac(requests, ctx.agg.requests());
  f.time_ranges = ctx.RangesWhere(flagged);
  f.request_ids = ctx.SlowestIdsWhere(flagged);
  f.recommendation =
      telemetry
          ? "Move the other workload to another GPU, or partition the GPU (MIG, or MPS with "
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE) so it cannot take this server's SMs and memory "
            "bandwidth; schedule batch jobs off-peak."
          : "Log GPU telemetry (gpu records or an nvidia-smi CSV with memory.used per process, "
            "utilization.gpu, clocks.sm) to tell contention from throttling, and check what "
            "else ran on the GPU in these windows.";
  ctx.report->findings.push_back(std::move(f));
}

// --------------------------------------------------------------- cold_start
void CheckColdStart(AnalysisContext& ctx) {
  if (!ctx.Require("cold_start", {{LogField::kInferenceMs, LogField::kTotalMs}})) return;
  struct Cold {
    RequestExample e;
    double steady;
    int32_t batch;
  };
  std::vector<Cold> cold;
  int64_t keys_checked = 0;
  for (const auto& [key, w] : ctx.agg.work()) {
    if (static_cast<bool>(key.from_batch_record) != ctx.use_batch_records) continue;
    const LatencyHistogram& h = ctx.use_inference ? w.inference : w.total;
    auto it = ctx.steady.find(key);
    if (h.count() < kColdMinKeySamples || it == ctx.steady.end()) continue;
    ++keys_checked;
    for (const RequestExample& e : w.first.items()) {
      if (e.value >= kColdRatio * it->second && e.value - it->second >= kColdMinExtraMs) {
        cold.push_back({e, it->second, key.batch_size});
      }
    }
  }
  // Episodes: the equal-work inflation of a window jumps to >= kColdEpisodeRatio
  // from normal (or at the log's start) and decays back -- a restart, a new
  // instance or a model reload warming up -- with no throttling or co-tenant
  // to explain it.
  struct Episode {
    size_t begin, end;
    double peak;
    int64_t requests;
  };
  std::vector<Episode> episodes;
  const double ref_clock = ReferenceClock(ctx);
  ctx.cold_windows.assign(ctx.windows.size(), false);
  std::optional<double> prev;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    const auto& infl = ctx.inflation[i];
    if (!infl || ctx.windows[i].requests < 3) continue;
    const bool onset = *infl >= kColdEpisodeRatio && (!prev || *prev < kColdSettled);
    prev = infl;
    const WindowStats& w = ctx.report->time_series.windows[i];
    if (!onset || ThrottledWindow(ctx, i, ref_clock) ||
        (w.mem_other_processes_mb && *w.mem_other_processes_mb >= kContentionOtherMinMb) ||
        (w.mem_used_ratio && *w.mem_used_ratio >= kMemHighRatio) || ctx.windows[i].ooms > 0) {
      continue;
    }
    // Decaying: each step at most 5% up, most steps down, the first one by
    // >= 10% -- a plateau that ends abruptly is a condition, not a warm-up.
    double last = *infl;
    size_t end = i + 1, steps = 0, down = 0;
    bool settled = false, first_drop = false;
    for (size_t j = i + 1; j < ctx.windows.size() && j <= i + kColdMaxWindows; ++j) {
      const auto& x = ctx.inflation[j];
      if (!x) continue;
      if (steps == 0) first_drop = *x <= 0.9 * last;
      if (*x > last * 1.05) break;
      ++steps;
      down += *x < last;
      last = *x;
      end = j;
      if (*x < kColdSettled) {
        settled = true;
        break;
      }
    }
    if (!settled || !first_drop || static_cast<double>(down) < 0.7 * static_cast<double>(steps))
      continue;
    Episode e{i, end, *infl, 0};
    for (size_t j = i; j < end; ++j) {
      e.requests += ctx.windows[j].requests;
      ctx.cold_windows[j] = true;
    }
    episodes.push_back(e);
    prev = ctx.inflation[end];
    i = end;
  }
  if (keys_checked == 0 && episodes.empty()) {
    ctx.SkipForSamples(
        "cold_start",
        fmt::format("no equal-work key has {} samples for a steady baseline", kColdMinKeySamples));
    return;
  }
  if (cold.empty() && episodes.empty()) return;
  std::sort(cold.begin(), cold.end(), [](const Cold& a, const Cold& b) {
    return a.e.value / a.steady > b.e.value / b.steady;
  });
  double max_ratio = cold.empty() ? 0 : cold.front().e.value / cold.front().steady;
  double max_extra = 0;
  std::set<int32_t> batches;
  for (const Cold& c : cold) {
    max_extra = std::max(max_extra, c.e.value - c.steady);
    if (c.batch > 0) batches.insert(c.batch);
    ctx.explained_ids.push_back(c.e.id);
  }
  int64_t episode_requests = 0;
  for (const Episode& e : episodes) {
    max_ratio = std::max(max_ratio, e.peak);
    episode_requests += e.requests;
  }
  const bool big_samples = max_ratio >= kColdWarnRatio && max_extra >= kColdWarnExtraMs;
  const bool long_episode = Frac(episode_requests, ctx.agg.requests()) >= 0.01;
  const FindingSeverity sev =
      big_samples || long_episode ? FindingSeverity::kWarning : FindingSeverity::kInfo;
  Finding f = NewFinding(
      "cold_start", sev,
      episodes.empty() || (episodes.size() == 1 && episodes[0].begin == 0)
          ? fmt::format("First requests {:.0f}x slower than steady state (cold start)", max_ratio)
          : fmt::format("{} {:.1f}x slower while warming up (restart or new instance?)",
                        MetricName(ctx), max_ratio));
  for (size_t i = 0; i < cold.size() && i < 3; ++i) {
    const Cold& c = cold[i];
    f.evidence.push_back(fmt::format(
        "{} {} at batch {} took {} vs {} steady ({:.0f}x){}", i == 0 ? "the first" : "an early",
        ctx.use_batch_records ? "batch" : "request", c.batch > 0 ? std::to_string(c.batch) : "?",
        FormatMs(c.e.value), FormatMs(c.steady), c.e.value / c.steady,
        c.e.ts_us != std::numeric_limits<int64_t>::max() ? " at " + ctx.Time(c.e.ts_us) : ""));
  }
  for (const Episode& e : episodes) {
    const double secs = static_cast<double>(e.end - e.begin) * ctx.WindowSeconds();
    f.evidence.push_back(
        fmt::format("at {} {} jumped to {:.1f}x the equal-work baseline and decayed back over {} "
                    "({} requests)",
                    ctx.Time(ctx.window_start_us[e.begin]), MetricName(ctx), e.peak,
                    FormatMs(secs * 1000), e.requests));
  }
  AddMetric(&f, "max_ratio", max_ratio);
  AddMetric(&f, "max_extra_ms", max_extra);
  f.affected_count = static_cast<int64_t>(cold.size()) + episode_requests;
  f.affected_fraction =
      Frac(f.affected_count, ctx.use_batch_records ? ctx.agg.batches() : ctx.agg.requests());
  for (const Cold& c : cold) {
    if (static_cast<int>(f.request_ids.size()) >= ctx.config.max_request_ids) break;
    f.request_ids.push_back(c.e.id);
  }
  if (f.request_ids.empty()) {
    f.request_ids =
        ctx.SlowestIdsWhere([&](size_t i) { return static_cast<bool>(ctx.cold_windows[i]); });
  }
  for (const Cold& c : cold) {
    if (auto w = ctx.WindowOf(c.e.ts_us)) ctx.cold_windows[*w] = true;
  }
  f.time_ranges = ctx.RangesWhere([&](size_t i) { return static_cast<bool>(ctx.cold_windows[i]); });
  f.recommendation = fmt::format(
      "Warm up at startup before reporting ready: run a few dummy batches at every batch size you "
      "serve{} so CUDA context creation, cuDNN autotuning and lazy loading happen before real "
      "traffic; pad inputs to fixed shapes so autotuning does not repeat.",
      batches.empty() ? "" : fmt::format(" ({} seen cold here)", fmt::join(batches, ", ")));
  ctx.report->findings.push_back(std::move(f));
}

// ------------------------------------------------------------- error_burst
bool AnyStatus(const std::vector<CountEntry>& top, bool (*pred)(std::string_view)) {
  return !top.empty() && pred(top.front().key);
}

bool LooksOom(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l.find("oom") != std::string::npos || l.find("out of memory") != std::string::npos ||
         l.find("out_of_memory") != std::string::npos;
}

bool LooksRejected(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "503" || l == "429" || l.find("queue") != std::string::npos ||
         l.find("overload") != std::string::npos || l.find("reject") != std::string::npos ||
         l.find("exhausted") != std::string::npos || l.find("unavailable") != std::string::npos;
}

bool LooksTimeout(std::string_view s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "504" || l.find("timeout") != std::string::npos ||
         l.find("deadline") != std::string::npos || l.find("timed out") != std::string::npos;
}

void CheckErrorBurst(AnalysisContext& ctx) {
  if (!ctx.Require("error_burst", {{LogField::kStatus, LogField::kError}})) return;
  const FlagCounter& err = ctx.agg.flag(RecordFlag::kError);
  if (err.hits == 0) return;
  const double overall = err.fraction();
  // Bursts are looked for on windows ~10x finer than the time series: a 30 s
  // burst must not drown in a 2 min window.
  const std::vector<AnalysisContext::FineWindow> W = ctx.FineWindows(kBurstFineWindows);
  std::vector<double> rates;
  for (const auto& w : W) {
    if (w.requests >= kBurstWindowMinRequests) rates.push_back(Frac(w.errors, w.requests));
  }
  const double median = ChangeDetector::Median(rates);
  auto burst = [&](size_t i) {
    const auto& w = W[i];
    return w.requests >= kBurstWindowMinRequests && w.errors >= kBurstMinErrors &&
           Frac(w.errors, w.requests) >= std::max(kBurstMinRate, kBurstOverMedian * median + 0.01);
  };
  int64_t burst_errors = 0, burst_requests = 0;
  size_t burst_windows = 0;
  double peak = 0;
  for (size_t i = 0; i < W.size(); ++i) {
    if (!burst(i)) continue;
    ++burst_windows;
    burst_errors += W[i].errors;
    burst_requests += W[i].requests;
    peak = std::max(peak, Frac(W[i].errors, W[i].requests));
  }
  const bool is_burst =
      burst_windows > 0 && burst_errors >= kBurstMinErrors &&
      static_cast<double>(burst_windows) <= 0.5 * static_cast<double>(rates.size());
  const bool steady = overall >= kErrorRateWarn && err.hits >= kBurstMinErrors;
  const bool notable = overall >= kErrorRateInfo && err.hits >= 10;
  if (!is_burst && !steady && !notable) return;
  FindingSeverity sev = FindingSeverity::kInfo;
  if (is_burst || steady) sev = FindingSeverity::kWarning;
  if ((is_burst && peak >= kBurstCriticalRate) || overall >= kErrorRateCritical)
    sev = FindingSeverity::kCritical;
  std::vector<TimeRange> ranges;
  for (size_t i = 0; is_burst && i < W.size(); ++i) {
    if (!burst(i)) continue;
    if (!ranges.empty() && ranges.back().end_us == W[i].start_us) {
      ranges.back().end_us = W[i].end_us;
    } else {
      ranges.push_back({W[i].start_us, W[i].end_us});
    }
  }
  auto in_burst = [&](int64_t ts) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const TimeRange& r) { return ts >= r.start_us && ts < r.end_us; });
  };
  Finding f = NewFinding(
      "error_burst", sev,
      is_burst ? fmt::format("Error burst: up to {} of requests failed{}", FormatPercent(peak),
                             ranges.empty() ? "" : " from " + ctx.Time(ranges.front().start_us))
               : fmt::format("{} of requests failed", FormatPercent(overall)));
  const auto& top = ctx.report->summary.errors_by_status;
  std::vector<std::string> parts;
  for (size_t i = 0; i < top.size() && i < 3; ++i) {
    parts.push_back(fmt::format("'{}' x{}", top[i].key, top[i].count));
  }
  f.evidence.push_back(fmt::format("{} of {} requests failed ({}): {}", err.hits, err.eligible,
                                   FormatPercent(overall), fmt::join(parts, ", ")));
  if (is_burst) {
    f.evidence.push_back(
        fmt::format("{} errors in {} (error rate up to {} vs a typical {})", burst_errors,
                    Plural(static_cast<int64_t>(burst_windows), "window", "windows"),
                    FormatPercent(peak), FormatPercent(median)));
  }
  AddMetric(&f, "error_rate", overall);
  if (is_burst) AddMetric(&f, "peak_error_rate", peak);
  f.affected_count = is_burst ? burst_errors : err.hits;
  f.affected_fraction = is_burst ? Frac(burst_errors, ctx.agg.requests()) : overall;
  f.time_ranges = ranges;
  for (const RequestExample& e : err.examples.items()) {
    if (static_cast<int>(f.request_ids.size()) >= ctx.config.max_request_ids) break;
    if (!is_burst || in_burst(e.ts_us)) f.request_ids.push_back(e.id);
  }
  if (f.request_ids.empty()) f.request_ids = ctx.Ids(err.examples);
  if (AnyStatus(top, LooksOom)) {
    f.recommendation =
        "Most errors are out-of-memory: see the oom finding (cap the batch size, "
        "expandable_segments).";
  } else if (AnyStatus(top, LooksRejected)) {
    f.recommendation =
        "Most errors are rejections by a full queue or an overloaded server: see queue_saturation "
        "(add capacity, enable batching) and have clients retry with backoff.";
  } else if (AnyStatus(top, LooksTimeout)) {
    f.recommendation =
        "Most errors are timeouts: cut latency first (see the other findings) or raise the "
        "deadline to above the p99 latency.";
  } else {
    f.recommendation = fmt::format(
        "Look at the server log{} for the cause of '{}'; if it is bad client input, validate it at "
        "the edge and return 4xx without using the GPU.",
        ranges.empty() ? "" : " around " + ctx.Time(ranges.front().start_us),
        top.empty() ? std::string("error") : top.front().key);
  }
  ctx.report->findings.push_back(std::move(f));
}

// -------------------------------------------------------- latency_outliers
// The stages (bits by LogStage) whose slowness a finding of `kind` explains;
// queue wait is a symptom of every slow stage behind it.
uint32_t StagesExplainedBy(std::string_view kind) {
  auto bit = [](LogStage st) { return 1u << static_cast<int>(st); };
  const uint32_t queue = bit(LogStage::kQueue);
  if (kind == "cpu_preprocess_bound")
    return queue | bit(LogStage::kDecode) | bit(LogStage::kPreprocess);
  if (kind == "transfer_bound") return queue | bit(LogStage::kH2d) | bit(LogStage::kD2h);
  if (kind == "postprocess_bound") return queue | bit(LogStage::kPostprocess);
  if (kind == "queue_saturation" || kind == "underbatching" || kind == "batch_window_too_long")
    return queue;
  if (kind == "oom" || kind == "gpu_memory_pressure" || kind == "memory_fragmentation" ||
      kind == "memory_leak" || kind == "cold_start" || kind == "gpu_throttling" ||
      kind == "gpu_contention") {
    return queue | bit(LogStage::kInference);
  }
  return ~0u;  // error_burst and anything else: whatever the stage.
}

// The stage holding most of a request's logged time; -1 when none is logged.
int DominantStage(const RequestExample& e) {
  int best = -1;
  for (int s = 0; s < static_cast<int>(e.stage_ms.size()); ++s) {
    const float v = e.stage_ms[static_cast<size_t>(s)];
    if (!std::isnan(v) && v > 0 && (best < 0 || v > e.stage_ms[static_cast<size_t>(best)]))
      best = s;
  }
  return best;
}

void CheckOutliers(AnalysisContext& ctx) {
  if (!ctx.Require("latency_outliers", {{LogField::kTotalMs, LogField::kInferenceMs}})) return;
  const bool use_total = !ctx.agg.stage(LogStage::kTotal).empty();
  const LatencyHistogram& h = ctx.agg.stage(use_total ? LogStage::kTotal : LogStage::kInference);
  if (h.count() < kOutlierMinRequests) {
    ctx.SkipForSamples("latency_outliers", fmt::format("only {} requests (a tail needs {})",
                                                       h.count(), kOutlierMinRequests));
    return;
  }
  const double q = h.count() >= 5000 ? 0.999 : 0.99;
  const double tail = h.Quantile(q), p50 = h.Quantile(0.5);
  if (p50 <= 0 || tail / p50 < kOutlierRatio || tail - p50 < kOutlierMinExtraMs) return;
  // What the other findings explain: their time ranges (one window of slack)
  // for requests that spent most of their time in a stage the finding is
  // about (a warm-up episode does not explain a request that spent 90% of its
  // time decoding a huge image), cold-start samples and failed requests.
  struct Explained {
    TimeRange range;
    uint32_t stages;  // bit per LogStage.
  };
  std::vector<Explained> explained;
  for (const Finding& f : ctx.report->findings) {
    if (f.severity == FindingSeverity::kInfo && f.kind != "cold_start") continue;
    const uint32_t stages = StagesExplainedBy(f.kind);
    for (const TimeRange& r : f.time_ranges) {
      explained.push_back({{r.start_us - ctx.window_us, r.end_us + ctx.window_us}, stages});
    }
  }
  std::set<std::string> explained_ids(ctx.explained_ids.begin(), ctx.explained_ids.end());
  std::vector<const RequestExample*> considered, unexplained;
  for (const RequestExample& e : ctx.agg.slowest().items()) {
    if (e.value < tail) break;
    considered.push_back(&e);
    const int stage = DominantStage(e);
    const bool in_range = std::any_of(explained.begin(), explained.end(), [&](const Explained& x) {
      return e.ts_us >= x.range.start_us && e.ts_us < x.range.end_us &&
             (stage < 0 || (x.stages >> stage) & 1u);
    });
    if (!in_range && !explained_ids.count(e.id) && !e.error) unexplained.push_back(&e);
  }
  if (considered.empty() || unexplained.size() * 2 < considered.size()) return;
  const double ratio = tail / p50;
  const FindingSeverity sev = ratio >= kOutlierWarnRatio && unexplained.size() >= 3
                                  ? FindingSeverity::kWarning
                                  : FindingSeverity::kInfo;
  Finding f = NewFinding("latency_outliers", sev,
                         fmt::format("Long latency tail: p{} is {:.0f}x the median",
                                     q == 0.999 ? "99.9" : "99", ratio));
  f.evidence.push_back(fmt::format("{} p{} = {} vs p50 = {}", use_total ? "total" : "inference",
                                   q == 0.999 ? "99.9" : "99", FormatMs(tail), FormatMs(p50)));
  f.evidence.push_back(
      fmt::format("{} of the {} slowest requests are not explained by another finding",
                  unexplained.size(), considered.size()));
  // Where the unexplained outliers spend their time, vs typical requests.
  double sums[kNumLogStages - 1] = {};
  double total_sum = 0;
  for (const RequestExample* e : unexplained) {
    total_sum += e->value;
    for (int s = 0; s < kNumLogStages - 1; ++s) {
      if (!std::isnan(e->stage_ms[static_cast<size_t>(s)]))
        sums[s] += e->stage_ms[static_cast<size_t>(s)];
    }
  }
  int dominant = -1;
  for (int s = 0; s < kNumLogStages - 1; ++s) {
    if (sums[s] > 0 && (dominant < 0 || sums[s] > sums[dominant])) dominant = s;
  }
  std::string dominant_name;
  if (dominant >= 0 && total_sum > 0) {
    dominant_name = std::string(LogStageName(static_cast<LogStage>(dominant)));
    double typical = 0;
    for (const StageSummary& st : ctx.report->stages) {
      if (st.stage == dominant_name && st.share) typical = *st.share;
    }
    f.evidence.push_back(fmt::format(
        "the unexplained outliers spend {} of their time in {} (typically {})",
        FormatPercent(sums[dominant] / total_sum), dominant_name, FormatPercent(typical)));
    AddMetric(&f, "dominant_stage_share", sums[dominant] / total_sum);
  }
  AddMetric(&f, "tail_ms", tail);
  AddMetric(&f, "p50_ms", p50);
  AddMetric(&f, "tail_ratio", ratio);
  const double above = 1.0 - h.FractionAtOrBelow(kOutlierRatio * p50);
  f.affected_count = static_cast<int64_t>(std::llround(above * static_cast<double>(h.count())));
  f.affected_fraction = above;
  for (const RequestExample* e : unexplained) {
    if (static_cast<int>(f.request_ids.size()) >= ctx.config.max_request_ids) break;
    f.request_ids.push_back(e->id);
  }
  for (const RequestExample* e : unexplained) {
    if (f.time_ranges.size() >= 10) break;
    if (auto w = ctx.WindowOf(e->ts_us)) {
      const TimeRange r = ctx.WindowRange(*w);
      if (std::none_of(f.time_ranges.begin(), f.time_ranges.end(),
                       [&](const TimeRange& t) { return t.start_us == r.start_us; })) {
        f.time_ranges.push_back(r);
      }
    }
  }
  std::sort(f.time_ranges.begin(), f.time_ranges.end(),
            [](const TimeRange& a, const TimeRange& b) { return a.start_us < b.start_us; });
  if (dominant_name == "queue") {
    f.recommendation =
        "The tail is queueing during bursts: add headroom (instances, batching) or shed load "
        "early; set a per-request deadline so stale requests are dropped, not served late.";
  } else if (dominant_name == "inference") {
    f.recommendation =
        "The tail is in inference itself: log GPU telemetry (gpu records) to see what the GPU was "
        "doing then -- other processes, clock drops, allocator stalls -- and set a per-request "
        "deadline.";
  } else if (dominant_name == "decode" || dominant_name == "preprocess") {
    f.recommendation =
        "The tail is in decode/preprocess: a few very large images dominate; cap the accepted "
        "image size or downscale during decode.";
  } else if (dominant_name == "postprocess") {
    f.recommendation =
        "The tail is in postprocess: images with many detections; raise the confidence threshold "
        "and lower max_det.";
  } else {
    f.recommendation =
        "Look at the listed requests: log per-stage times (queue_ms, inference_ms, ...) to see "
        "where the tail comes from, and set a per-request deadline.";
  }
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace

void RunRules(AnalysisContext* ctx) {
  AnalysisContext& c = *ctx;
  CheckOom(c);
  CheckMemoryPressure(c);
  CheckFragmentation(c);
  CheckLeak(c);
  CheckColdStart(c);
  CheckThrottling(c);
  CheckContention(c);
  CheckUnderbatching(c);
  CheckBatchWindow(c);
  CheckQueueSaturation(c);
  CheckStageBound(c, {"cpu_preprocess_bound",
                      {LogStage::kDecode, LogStage::kPreprocess},
                      &TimeBucket::pre_ms,
                      RecordFlag::kPreDominant,
                      0.35,
                      0.6,
                      0.25,
                      2.0,
                      1.0,
                      "decode + preprocess"});
  CheckStageBound(c, {"transfer_bound",
                      {LogStage::kH2d, LogStage::kD2h},
                      &TimeBucket::xfer_ms,
                      RecordFlag::kTransferDominant,
                      0.25,
                      0.5,
                      0.15,
                      1.0,
                      0.5,
                      "host-device transfers (h2d + d2h)"});
  CheckStageBound(c, {"postprocess_bound",
                      {LogStage::kPostprocess},
                      &TimeBucket::post_ms,
                      RecordFlag::kPostDominant,
                      0.25,
                      0.5,
                      0.15,
                      1.0,
                      0.5,
                      "postprocess"});
  CheckErrorBurst(c);
  CheckOutliers(c);
}

}  // namespace yoloscope
