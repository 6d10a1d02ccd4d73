#include "analyzer/rules/gpu_throttling.h"

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

void GpuThrottlingRule::Run(AnalysisContext& ctx) const {
  const double ref = ReferenceClock(ctx);
  auto flagged = [&](size_t i) {
    return ctx.windows[i].requests > 0 && ThrottledWindow(ctx, i, ref, t_.throttle_clock_drop);
  };
  size_t n_flagged = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) n_flagged += flagged(i);
  if (n_flagged == 0) return;
  const auto in = ctx.InflationWhere(flagged);
  const auto out =
      ctx.InflationWhere([&](size_t i) { return ctx.windows[i].requests > 0 && !flagged(i); });
  std::optional<double> ratio;
  if (in) ratio = in->ratio / (out && out->ratio > 0 ? out->ratio : 1.0);
  const FlagCounter& th = ctx.agg.flag(RecordFlag::kThrottled);
  FindingSeverity sev;
  if (ratio && *ratio >= t_.throttle_inflation) {
    sev = *ratio >= 2.0 ? FindingSeverity::kCritical : FindingSeverity::kWarning;
  } else if (!ratio && th.fraction() >= 0.1) {
    sev = FindingSeverity::kInfo;
  } else {
    return;
  }
  double clock_in = 0, temp_max = -1;
  int n_clock = 0;
  for (size_t i = 0; i < ctx.windows.size(); ++i) {
    const WindowStats& w = ctx.report->time_series.windows[i];
    if (w.temp_c) temp_max = std::max(temp_max, *w.temp_c);
    if (flagged(i) && w.sm_clock_mhz) {
      clock_in += *w.sm_clock_mhz;
      ++n_clock;
    }
  }
  Finding f =
      NewFinding("gpu_throttling", sev,
                 ratio ? fmt::format("GPU clocks throttled: {} {:.1f}x slower at equal work",
                                     MetricName(ctx), *ratio)
                       : std::string("GPU reports clock throttling"));
  if (n_clock > 0 && ref > 0) {
    clock_in /= n_clock;
    f.evidence.push_back(
        fmt::format("SM clock {} MHz in the throttled windows vs {} MHz normally ({} lower)",
                    FormatNumber(clock_in), FormatNumber(ref), FormatPercent(1 - clock_in / ref)));
    AddMetric(&f, "sm_clock_mhz", clock_in);
    AddMetric(&f, "reference_clock_mhz", ref);
  }
  if (th.eligible > 0) {
    f.evidence.push_back(fmt::format(
        "{} of {} GPU samples report an active slowdown reason (thermal / power cap / HW slowdown)",
        th.hits, th.eligible));
  }
  if (ratio) {
    f.evidence.push_back(
        fmt::format("{} {:.1f}x the equal-work baseline while throttled (vs the other windows)",
                    MetricName(ctx), *ratio));
    AddMetric(&f, "inflation", *ratio);
  }
  if (temp_max > 0) {
    f.evidence.push_back(fmt::format("temperature up to {} C", FormatNumber(temp_max)));
    AddMetric(&f, "max_temp_c", temp_max);
  }
  f.affected_count = in ? in->requests : 0;
  f.affected_fraction = Frac(f.affected_count, ctx.agg.requests());
  f.time_ranges = ctx.RangesWhere(flagged);
  f.request_ids = ctx.SlowestIdsWhere(flagged);
  f.recommendation =
      "Check cooling (fans, airflow, inlet temperature) and the power limit (nvidia-smi -q -d "
      "PERFORMANCE,POWER,TEMPERATURE); raise the power limit or lock application clocks "
      "(nvidia-smi -ac) where allowed, and spread load across GPUs so none runs hot.";
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace yoloscope
