#include "analyzer/rules/memory_leak.h"

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

void MemoryLeakRule::Run(AnalysisContext& ctx) const {
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
    if (y.size() < t_.leak_min_points) continue;
    const double total = totals.empty() ? 0 : *std::max_element(totals.begin(), totals.end());
    // The whole series, or its second half / last quarter: a leak that
    // started mid-log.
    for (size_t from : {size_t{0}, y.size() / 2, y.size() * 3 / 4}) {
      const size_t n = y.size() - from;
      if (n < t_.leak_min_points) break;
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
      const double threshold =
          total > 0 ? std::max(t_.leak_min_growth_mb, t_.leak_min_growth_of_total * total)
                    : std::max(t_.leak_min_growth_mb, 0.2 * first);
      if (!(trend.slope > 0 && trend.r2 >= t_.leak_min_r2 && monotone >= t_.leak_min_monotone &&
            growth >= threshold)) {
        continue;
      }
      // Constant load: the request rate and batch size of the first and last
      // thirds agree within t_.leak_flat_load_ratio.
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
        if (a && b && *a > 0 && *b > 0 && std::max(*a / *b, *b / *a) > t_.leak_flat_load_ratio)
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
  if (max_points < t_.leak_min_points) {
    ctx.SkipForSamples("memory_leak", fmt::format("memory in only {} time windows (needs {})",
                                                  max_points, t_.leak_min_points));
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

}  // namespace yoloscope
