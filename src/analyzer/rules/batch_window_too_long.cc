#include "analyzer/rules/batch_window_too_long.h"

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

void BatchWindowTooLongRule::Run(AnalysisContext& ctx) const {
  const LowLoadStats& ll = ctx.agg.low_load();
  if (ll.requests < t_.stage_min_samples) {
    ctx.SkipForSamples(
        "batch_window_too_long",
        fmt::format("only {} requests at low load (needs {})", ll.requests, t_.stage_min_samples));
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
  const bool fixed_wait = p25 >= t_.window_spread * p75;
  const bool not_filling = low_batch <= std::max(1.5, 0.5 * static_cast<double>(max_batch));
  if (!(low_frac >= t_.window_low_load_fraction && p50 >= t_.window_min_ms &&
        share >= t_.window_share && fixed_wait && not_filling)) {
    return;
  }
  const FindingSeverity sev =
      p50 >= t_.window_warn_ms ? FindingSeverity::kWarning : FindingSeverity::kInfo;
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

}  // namespace yoloscope
