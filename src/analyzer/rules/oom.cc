#include "analyzer/rules/oom.h"

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

void OomRule::Run(AnalysisContext& ctx) const {
  const FlagCounter& oom = ctx.agg.flag(RecordFlag::kOom);
  const FlagCounter& retry = ctx.agg.flag(RecordFlag::kAllocRetry);
  if (oom.hits == 0 && retry.hits == 0) return;
  const auto by_batch = MemoryByBatch(ctx.agg);
  std::vector<int64_t> oom_batches;
  for (const auto& [b, m] : by_batch) {
    if (m.ooms > 0) oom_batches.push_back(b);
  }
  const std::optional<int64_t> cap = SafeBatchCap(by_batch, t_.mem_safe_ratio);
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
  // Records that retried: counted over the merged log, not per reading thread.
  const int64_t retry_records = ctx.agg.alloc_retry_records();
  f.affected_count = oom.hits > 0 ? oom.hits : retry_records;
  f.affected_fraction = Frac(f.affected_count, ctx.agg.requests() + ctx.agg.batches());
  f.request_ids = ctx.Ids(main.examples);
  if (oom.hits > 0) {
    f.evidence.push_back(
        fmt::format("{} of {} records report out of memory (oom=true or an OOM status/error)",
                    oom.hits, oom.eligible));
  }
  if (retry_records > 0) {
    f.evidence.push_back(fmt::format(
        "{} needed cudaMalloc retries after freeing the allocator cache ({} retries in all)",
        Plural(retry_records, "record", "records"), ctx.agg.alloc_retries_total()));
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

}  // namespace yoloscope
