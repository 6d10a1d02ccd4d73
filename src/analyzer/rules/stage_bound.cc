#include "analyzer/rules/stage_bound.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "analyzer/aggregate/change_detector.h"
#include "analyzer/rules/rule_helpers.h"

namespace yoloscope {

void StageBoundRule::Run(AnalysisContext& ctx) const {
  double mean = 0;
  int64_t n = 0;
  for (LogStage s : spec_.stages) {
    mean += StageMean(ctx, s);
    n = std::max(n, ctx.agg.stage(s).count());
  }
  if (n < t_.stage_min_samples) {
    ctx.SkipForSamples(spec_.kind, fmt::format("only {} requests with {} (needs {})", n,
                                               spec_.label, t_.stage_min_samples));
    return;
  }
  const double total = TotalMean(ctx);
  if (total <= 0) return;
  const double share = mean / total;
  const double inf = StageMean(ctx, LogStage::kInference);
  const bool vs_inf =
      ctx.agg.stage(LogStage::kInference).empty() || mean >= t_.min_of_inference * inf;
  // Windows where the stage at least doubled over its typical level and
  // takes a large share: a period of CPU starvation, a PCIe hiccup, ...
  std::vector<double> window_means;
  for (const TimeBucket& b : ctx.windows) {
    if (b.requests >= t_.burst_window_min_requests && !(b.*spec_.window_stat).empty()) {
      window_means.push_back((b.*spec_.window_stat).mean());
    }
  }
  const double typical = ChangeDetector::Median(window_means);
  auto slow_window = [&](size_t i) {
    const TimeBucket& b = ctx.windows[i];
    const RunningStat& st = b.*spec_.window_stat;
    if (b.requests < t_.burst_window_min_requests || st.empty() || b.total_ms.empty() ||
        b.total_ms.mean() <= 0)
      return false;
    const double m = st.mean();
    return window_means.size() >= 4 && m >= t_.stage_burst_factor * typical && m >= t_.min_ms &&
           m / b.total_ms.mean() >= t_.info_share &&
           m - typical >= t_.stage_burst_added_share * b.total_ms.mean();
  };
  int64_t slow_requests = 0;
  size_t slow_windows = 0;
  double slow_sum = 0, slow_total = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    if (!slow_window(i)) continue;
    ++slow_windows;
    slow_requests += ctx.windows[i].requests;
    slow_sum += (ctx.windows[i].*spec_.window_stat).sum;
    slow_total += ctx.windows[i].total_ms.sum;
  }
  const FlagCounter& flag = ctx.agg.flag(spec_.flag);
  // Without the per-request flag (no total_ms) the means are all there is.
  const bool many_dominated =
      flag.eligible == 0 || flag.fraction() >= t_.min_dominated_fraction;
  const bool period_dominated =
      flag.eligible == 0 ||
      flag.fraction() >= t_.period_dominated_ratio * Frac(slow_requests, ctx.agg.requests());
  const bool by_windows =
      (slow_windows >= 2 || (slow_windows > 0 && Frac(slow_requests, ctx.agg.requests()) >= 0.05)) &&
      period_dominated;
  FindingSeverity sev;
  bool global = true;
  if (share >= t_.warn_share && mean >= t_.min_ms && vs_inf && many_dominated) {
    sev = share >= t_.critical_share ? FindingSeverity::kCritical : FindingSeverity::kWarning;
  } else if (by_windows) {
    sev = FindingSeverity::kWarning;
    global = false;
  } else if (share >= t_.info_share && mean >= t_.min_ms / 2) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  const double slow_mean = slow_requests > 0 ? slow_sum / static_cast<double>(slow_requests) : 0;
  Finding f = NewFinding(
      spec_.kind, sev,
      global ? fmt::format("{} take {} of request latency", spec_.label, FormatPercent(share))
             : fmt::format("{} {:.1f}x slower for a period ({} of latency then)", spec_.label,
                           slow_mean / std::max(typical, 1e-6),
                           FormatPercent(slow_sum / std::max(slow_total, 1e-9))));
  if (global) {
    f.evidence.push_back(fmt::format(
        "{} mean {} of {} total{}", spec_.label, FormatMs(mean), FormatMs(total),
        inf > 0 ? fmt::format(" (inference {}, {:.1f}x)", FormatMs(inf), mean / inf) : ""));
    if (flag.eligible > 0) {
      f.evidence.push_back(fmt::format("{} of requests spent >= {} of their time there",
                                       FormatPercent(flag.fraction()),
                                       FormatPercent(ctx.agg.config().stage_dominant_share)));
    }
    f.affected_count = flag.hits;
    f.affected_fraction = flag.fraction();
    f.request_ids = ctx.Ids(flag.examples);
  } else {
    f.affected_count = slow_requests;
    f.affected_fraction = Frac(slow_requests, ctx.agg.requests());
    f.request_ids = ctx.SlowestIdsWhere(slow_window);
  }
  if (by_windows) {
    f.evidence.push_back(fmt::format(
        "in {} ({} of requests) {} averaged {} vs a typical {}, {} of latency",
        Plural(static_cast<int64_t>(slow_windows), "window", "windows"),
        FormatPercent(Frac(slow_requests, ctx.agg.requests())), spec_.label, FormatMs(slow_mean),
        FormatMs(typical), FormatPercent(slow_sum / std::max(slow_total, 1e-9))));
    f.time_ranges = ctx.RangesWhere(slow_window);
  }
  AddMetric(&f, "share", share);
  AddMetric(&f, "mean_ms", mean);
  if (inf > 0) AddMetric(&f, "vs_inference", mean / inf);
  const auto& summary = ctx.report->summary;
  std::vector<std::string> rec;
  if (spec_.kind == "cpu_preprocess_bound") {
    if (summary.throughput_rps) {
      const double cores = *summary.throughput_rps * mean / 1000.0;
      f.evidence.push_back(fmt::format("at {} rps decode+preprocess keep ~{} CPU cores busy",
                                       FormatNumber(*summary.throughput_rps), FormatNumber(cores)));
      rec.push_back(fmt::format(
          "Add preprocess workers (at least {}, one per busy core plus headroom) so images "
          "are decoded in parallel ahead of the batcher.",
          std::max<int64_t>(2, static_cast<int64_t>(std::ceil(cores * 1.5)))));
    } else {
      rec.push_back(
          "Add preprocess workers so images are decoded in parallel ahead of the batcher.");
    }
    const RunningStat& mp = ctx.agg.input_megapixels();
    if (!mp.empty()) {
      f.evidence.push_back(fmt::format("input images average {} MP", FormatNumber(mp.mean())));
      AddMetric(&f, "input_megapixels", mp.mean());
    }
    rec.push_back(
        "Decode JPEGs at reduced scale (libjpeg-turbo DCT scaling) and letterbox on the GPU; ask "
        "clients to send images no larger than ~2x the network input.");
  } else if (spec_.kind == "transfer_bound") {
    rec.push_back(
        "Use pinned (page-locked) host buffers with non_blocking copies, upload uint8 and "
        "normalize "
        "on the GPU (4x fewer bytes than float32), overlap copies with compute on a second CUDA "
        "stream, and check the PCIe link width/generation (nvidia-smi -q).");
  } else {
    const RunningStat& det = ctx.agg.detections();
    if (!det.empty()) {
      f.evidence.push_back(fmt::format("{} detections per image on average (max {})",
                                       FormatNumber(det.mean()), FormatNumber(det.max)));
      AddMetric(&f, "mean_detections", det.mean());
      const double r = ctx.agg.detections_vs_post().Correlation();
      if (r >= 0.5) {
        f.evidence.push_back(
            fmt::format("postprocess time follows the detection count (r = {:.2f})", r));
        AddMetric(&f, "detections_correlation", r);
      }
    }
    rec.push_back(
        "Raise the confidence threshold (e.g. to 0.25) and lower max_det so NMS sees fewer boxes, "
        "run NMS on the GPU (torchvision.ops.batched_nms), and decode the output tensor "
        "vectorized.");
  }
  f.recommendation = JoinSentences(rec);
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace yoloscope
