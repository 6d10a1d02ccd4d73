#include "analyzer/rules/queue_saturation.h"

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

void QueueSaturationRule::Run(AnalysisContext& ctx) const {
  const FlagCounter& qd = ctx.agg.flag(RecordFlag::kQueueDominant);
  const FlagCounter& ql = ctx.agg.flag(RecordFlag::kQueueLoaded);
  const FlagCounter& rej = ctx.agg.flag(RecordFlag::kRejected);
  const LatencyHistogram& q = ctx.agg.stage(LogStage::kQueue);
  const double qshare = QueueShare(ctx);
  const auto& summary = ctx.report->summary;
  const bool varies = !q.empty() && q.Quantile(0.9) >= 2.0 * q.Quantile(0.25) + 1.0;
  const bool by_queue = qd.hits >= 3 && qd.fraction() >= t_.queue_dominant_fraction &&
                        (ql.eligible > 0 ? ql.fraction() >= t_.queue_loaded_fraction : varies);
  const bool by_rejects =
      rej.hits >= 1 && rej.fraction() >= t_.rejection_rate && (rej.hits >= 3 || rej.eligible < 100);
  const bool by_len =
      q.empty() && summary.p90_queue_len &&
      *summary.p90_queue_len >= std::max(8.0, 2.0 * summary.mean_batch_size.value_or(1.0));
  // Load bursts: windows where the queue wait at least doubled over its
  // typical level and makes up a large part of latency.
  std::vector<double> window_queue;
  for (const TimeBucket& b : ctx.windows) {
    if (b.requests >= t_.burst_window_min_requests && !b.queue_ms.empty())
      window_queue.push_back(b.queue_ms.mean());
  }
  const double typical_queue = ChangeDetector::Median(window_queue);
  const double loaded = static_cast<double>(ctx.agg.config().loaded_queue_len);
  auto burst_window = [&](size_t i) {
    const TimeBucket& b = ctx.windows[i];
    if (b.requests < t_.burst_window_min_requests || b.queue_ms.empty() || b.total_ms.empty())
      return false;
    const double qm = b.queue_ms.mean();
    return qm >= std::max(t_.queue_burst_factor * typical_queue, typical_queue + 5.0) &&
           qm >= t_.queue_burst_share * b.total_ms.mean() &&
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
      (rej.fraction() >= t_.rejection_rate && rej.hits > 0) || qshare >= t_.queue_critical_share
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
  if (summary.served_rps) AddMetric(&f, "served_rps", *summary.served_rps);
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
          ctx.windows[i].requests >= t_.burst_window_min_requests) {
        onset = std::max(onset, *ctx.inflation[i]);
      }
      if (ws >= r.start_us && ws < r.end_us) {
        rate += ctx.report->time_series.windows[i].throughput_rps;
        ++n;
      }
    }
    rate /= static_cast<double>(std::max<size_t>(1, n));
    if (onset < t_.queue_slowdown_inflation ||
        (ctx.median_rate_rps > 0 && rate > t_.flat_load * ctx.median_rate_rps)) {
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
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg), t_.mem_safe_ratio);
  if (summary.max_batch_size && cap && *cap > *summary.max_batch_size) {
    rec.push_back(
        fmt::format("Memory allows batches of up to {}: raise the max batch size.", *cap));
  }
  rec.push_back(fmt::format(
      "Add capacity (more model instances or GPUs){}, and bound the queue: shed load early with "
      "503 "
      "and client retries with backoff instead of letting latency grow.",
      summary.served_rps
          ? fmt::format(" -- the service handles {} rps now", FormatNumber(*summary.served_rps))
          : ""));
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace yoloscope
