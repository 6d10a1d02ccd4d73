#include "analyzer/rules/latency_outliers.h"

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

}  // namespace

void LatencyOutliersRule::Run(AnalysisContext& ctx) const {
  const bool use_total = !ctx.agg.stage(LogStage::kTotal).empty();
  const LatencyHistogram& h = ctx.agg.stage(use_total ? LogStage::kTotal : LogStage::kInference);
  if (h.count() < t_.outlier_min_requests) {
    ctx.SkipForSamples("latency_outliers", fmt::format("only {} requests (a tail needs {})",
                                                       h.count(), t_.outlier_min_requests));
    return;
  }
  const double q = h.count() >= 5000 ? 0.999 : 0.99;
  const double tail = h.Quantile(q), p50 = h.Quantile(0.5);
  if (p50 <= 0 || tail / p50 < t_.outlier_ratio || tail - p50 < t_.outlier_min_extra_ms) return;
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
  const FindingSeverity sev = ratio >= t_.outlier_warn_ratio && unexplained.size() >= 3
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
  const double above = 1.0 - h.FractionAtOrBelow(t_.outlier_ratio * p50);
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

}  // namespace yoloscope
