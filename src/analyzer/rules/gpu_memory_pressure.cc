#include "analyzer/rules/gpu_memory_pressure.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyzer/aggregate/change_detector.h"
#include "analyzer/rules/rule_helpers.h"

namespace yoloscope {

void GpuMemoryPressureRule::Run(AnalysisContext& ctx) const {
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
      if (!d.mem_ratio.empty() && d.mem_ratio.max >= t_.mem_high_ratio) return true;
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
  if (infl && *infl >= t_.mem_pressure_inflation) {
    sev = (*infl >= t_.mem_pressure_critical_inflation || peak >= t_.mem_critical_ratio)
              ? FindingSeverity::kCritical
              : FindingSeverity::kWarning;
  } else if (peak >= 0.95 || hi.fraction() >= 0.05) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  Finding f = NewFinding(
      "gpu_memory_pressure", sev,
      infl && *infl >= t_.mem_pressure_inflation
          ? fmt::format("GPU memory at {} of total slows {} {:.1f}x",
                        FormatPercent(std::max(peak, t_.mem_high_ratio)), MetricName(ctx), *infl)
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
        FormatPercent(t_.mem_high_ratio), FormatPercent(peak),
        FormatMs(
            (ctx.use_inference ? best->inference_mem_high : best->total_mem_high).Quantile(0.5)),
        FormatMs((ctx.use_inference ? best->inference_mem_normal : best->total_mem_normal)
                     .Quantile(0.5))));
  } else if (window_inflation) {
    f.evidence.push_back(fmt::format(
        "{} {:.1f}x the equal-work baseline in the {} when memory was >= {} of total, vs the rest",
        MetricName(ctx), *window_inflation,
        Plural(static_cast<int64_t>(high_windows), "window", "windows"),
        FormatPercent(t_.mem_high_ratio)));
  } else {
    f.evidence.push_back(fmt::format(
        "memory peaked at {} of total; no slowdown at equal work measured", FormatPercent(peak)));
  }
  if (hi.eligible > 0) {
    f.evidence.push_back(fmt::format("{} of {} records ran at >= {} of GPU memory", hi.hits,
                                     hi.eligible, FormatPercent(t_.mem_high_ratio)));
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
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg), t_.mem_safe_ratio);
  const auto& by_batch = MemoryByBatch(ctx.agg);
  if (cap && !by_batch.empty() && by_batch.rbegin()->first > *cap) {
    rec.push_back(fmt::format("Cap the max batch size at {} (it kept memory below {}).", *cap,
                              FormatPercent(t_.mem_safe_ratio)));
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

}  // namespace yoloscope
