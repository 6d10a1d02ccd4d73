#include "analyzer/rules/cold_start.h"

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

void ColdStartRule::Run(AnalysisContext& ctx) const {
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
    if (h.count() < t_.cold_min_key_samples || it == ctx.steady.end()) continue;
    ++keys_checked;
    for (const RequestExample& e : w.first.items()) {
      if (e.value >= t_.cold_ratio * it->second && e.value - it->second >= t_.cold_min_extra_ms) {
        cold.push_back({e, it->second, key.batch_size});
      }
    }
  }
  // Episodes: the equal-work inflation of a window jumps to >= t_.cold_episode_ratio
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
    const bool at_start = !prev;
    const bool onset = *infl >= t_.cold_episode_ratio && (at_start || *prev < t_.cold_settled);
    prev = infl;
    const WindowStats& w = ctx.report->time_series.windows[i];
    if (!onset || ThrottledWindow(ctx, i, ref_clock, t_.throttle_clock_drop) ||
        (w.mem_other_processes_mb && *w.mem_other_processes_mb >= t_.contention_other_min_mb) ||
        (w.mem_used_ratio && *w.mem_used_ratio >= t_.mem_high_ratio) || ctx.windows[i].ooms > 0 ||
        ctx.windows[i].alloc_retries > 0) {
      // An OOM or allocator-flush episode is its own evidence (oom), not a
      // warm-up.
      continue;
    }
    // Decaying: each step at most 5% up, most steps down, the first one by
    // >= 10% -- a plateau that ends abruptly is a condition, not a warm-up.
    double last = *infl;
    size_t end = i + 1, steps = 0, down = 0;
    bool settled = false, first_drop = false;
    for (size_t j = i + 1; j < ctx.windows.size() && j <= i + t_.cold_max_windows; ++j) {
      const auto& x = ctx.inflation[j];
      if (!x) continue;
      if (steps == 0) first_drop = *x <= 0.9 * last;
      if (*x > last * 1.05) break;
      ++steps;
      down += *x < last;
      last = *x;
      end = j;
      if (*x < t_.cold_settled) {
        settled = true;
        break;
      }
    }
    if (!settled || !first_drop || static_cast<double>(down) < 0.7 * static_cast<double>(steps))
      continue;
    // Mid-log, one slow window and back at once is a host stall (a shared
    // CPU's neighbour; the lab's overload scenario under a parallel test
    // run showed 3.6x for 100 ms), not a warm-up: a restart decays over at
    // least two windows. At the log's start one window is enough -- there
    // is no earlier window to compare with.
    if (!at_start && end - i < t_.cold_min_mid_log_windows) continue;
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
    ctx.SkipForSamples("cold_start",
                       fmt::format("no equal-work key has {} samples for a steady baseline",
                                   t_.cold_min_key_samples));
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
  const bool big_samples = max_ratio >= t_.cold_warn_ratio && max_extra >= t_.cold_warn_extra_ms;
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

}  // namespace yoloscope
