#include "analyzer/rules/underbatching.h"

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
namespace {

int64_t NextPow2(double v) {
  int64_t p = 1;
  while (static_cast<double>(p) < v && p < (int64_t{1} << 20)) p *= 2;
  return p;
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

int64_t KnownGpus(const AnalysisContext& ctx) {
  int64_t n = 0;
  for (const auto& [gpu, g] : ctx.agg.by_gpu()) {
    if (gpu >= -1 && g.requests > 0) ++n;
  }
  return std::max<int64_t>(1, n);
}

}  // namespace

void UnderbatchingRule::Run(AnalysisContext& ctx) const {
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
  const bool by_queue = ub.eligible > 0 && ub.hits >= 3 &&
                        ub.fraction() >= t_.underbatched_fraction &&
                        *mean_batch <= t_.underbatched_mean_batch;
  // Also with queue_len logged: a request that arrives while one batch-1 run
  // is on the GPU and nobody else waits logs queue_len 0, yet waits; at 65%
  // batch-1 utilization 40% of latency was queue wait while only ~12% of
  // requests saw >= 2 others queued (accuracy corpus, no_batching).
  const bool by_rate = *mean_batch <= t_.underbatched_rate_mean_batch &&
                       qshare >= t_.underbatched_rate_queue_share && utilization &&
                       *utilization >= t_.underbatched_utilization;
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
  const auto cap = SafeBatchCap(MemoryByBatch(ctx.agg), t_.mem_safe_ratio);
  if (cap && *cap >= 2) max_batch = std::min(max_batch, *cap);
  const double wait = std::clamp(std::round(0.25 * b1.value_or(20.0)), 1.0, 10.0);
  AddMetric(&f, "suggested_max_batch", static_cast<double>(max_batch));
  AddMetric(&f, "suggested_max_wait_ms", wait);
  f.time_ranges = ctx.RangesWhere([&](size_t i) {
    const auto& w = ctx.report->time_series.windows[i];
    return w.requests > 0 && w.batch_size_mean &&
           *w.batch_size_mean <= t_.underbatched_mean_batch &&
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

}  // namespace yoloscope
