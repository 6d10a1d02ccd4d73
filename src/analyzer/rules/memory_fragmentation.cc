#include "analyzer/rules/memory_fragmentation.h"

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

// A reserved pool this many times the largest allocation seen is
// fragmentation even without split blocks in the samples (see Run).
constexpr double kRunawayPoolFactor = 20.0;

// The mean of the finite values in [begin, end); NaN when there are none.
double FiniteMeanOf(const std::vector<double>& v, size_t begin, size_t end) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = begin; i < end && i < v.size(); ++i) {
    if (std::isfinite(v[i])) {
      sum += v[i];
      ++n;
    }
  }
  return n ? sum / static_cast<double>(n) : NAN;
}

}  // namespace

void MemoryFragmentationRule::Run(AnalysisContext& ctx) const {
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
    const bool large = b.reserved_last > 0 && b.gap_last >= t_.frag_share * b.reserved_last &&
                       b.gap_last >= t_.frag_min_gap_mb;
    const bool growing =
        growth >= std::max(t_.frag_growth_share * b.reserved_last, t_.frag_min_growth_mb);
    const bool split =
        std::isfinite(inact_last) && inact_last >= t_.frag_inactive_share * b.reserved_last;
    const bool alloc_flat = !use_alloc || std::fabs(b.alloc_last - b.alloc_first) <=
                                              0.5 * std::max(growth, 0.0) + 0.1 * b.alloc_first;
    // When the allocator reports its split blocks, they are the measure: a
    // gap of whole free blocks is a warm cache. The caching allocator keeps
    // its high-water mark, so a healthy server whose largest batch grew
    // mid-log (batch 1-2 for a while, then a burst of batch 4) shows reserved
    // - allocated growing by that batch's activations while allocated stays
    // flat -- 4 of the 8 healthy-control logs of the accuracy corpus
    // (docs/diagnosis.md, "Accuracy") were called fragmented that way.
    // (Windows where only request records carry memory have no split
    // figure: those are left out of the thirds' means.)
    bool split_evidence = true;
    const double inact_first_known = FiniteMeanOf(inact, 0, k);
    const double inact_last_known = FiniteMeanOf(inact, n - k, n);
    if (use_alloc && std::isfinite(inact_first_known) && std::isfinite(inact_last_known)) {
      const bool split_known = inact_last_known >= t_.frag_inactive_share * b.reserved_last;
      const bool split_growing =
          inact_last_known - inact_first_known >=
          std::max(t_.frag_growth_share * b.reserved_last, t_.frag_min_growth_mb);
      // Free blocks coalesce after each batch, so samples taken between
      // batches may show few split blocks even when the allocator keeps
      // carving new segments for new sizes (the lab's sim_fragmentation:
      // 2.3 GB reserved for batches that never held more than 43 MB). A pool
      // 20x the most the server ever had allocated is past any warm cache
      // (the healthy controls of the accuracy corpus keep <= 11x).
      double most_allocated = 0;
      for (double a : alloc) most_allocated = std::max(most_allocated, a);
      const bool runaway_pool = growing && most_allocated > 0 &&
                                b.reserved_last >= kRunawayPoolFactor * most_allocated;
      split_evidence = split_known || split_growing || runaway_pool;
    }
    if (large && (growing || split) && alloc_flat && split_evidence) {
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

}  // namespace yoloscope
