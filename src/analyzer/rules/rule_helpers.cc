#include "analyzer/rules/rule_helpers.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace yoloscope {

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

std::optional<int64_t> SafeBatchCap(const std::map<int64_t, BatchMemory>& by_batch,
                                    double safe_mem_ratio) {
  std::optional<int64_t> cap;
  for (const auto& [b, m] : by_batch) {
    if (m.ooms > 0) break;
    if (m.max_ratio >= safe_mem_ratio) break;
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

double TotalMean(const AnalysisContext& ctx) {
  if (!ctx.agg.stage(LogStage::kTotal).empty()) return StageMean(ctx, LogStage::kTotal);
  double sum = 0;
  for (int s = 0; s < kNumLogStages - 1; ++s) sum += StageMean(ctx, static_cast<LogStage>(s));
  return sum;
}

const char* MetricName(const AnalysisContext& ctx) {
  return ctx.use_inference ? "inference" : "total latency";
}

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

double ReferenceClock(const AnalysisContext& ctx) {
  std::vector<double> clocks;
  for (const WindowStats& w : ctx.report->time_series.windows) {
    if (w.sm_clock_mhz) clocks.push_back(*w.sm_clock_mhz);
  }
  if (clocks.empty()) return 0;
  std::sort(clocks.begin(), clocks.end());
  return clocks[static_cast<size_t>(0.9 * static_cast<double>(clocks.size() - 1))];
}

bool ThrottledWindow(const AnalysisContext& ctx, size_t i, double ref_clock, double clock_drop) {
  const WindowStats& w = ctx.report->time_series.windows[i];
  if (w.throttled_fraction && *w.throttled_fraction >= 0.5) return true;
  return ref_clock > 0 && w.sm_clock_mhz && *w.sm_clock_mhz <= clock_drop * ref_clock;
}

}  // namespace yoloscope
