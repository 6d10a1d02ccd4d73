#include "analyzer/rules/gpu_contention.h"

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

// Another workload on one GPU, judged per device: its other-process memory
// against that GPU's own capacity and its own median, its utilization
// against its own median, and the inference of the work that ran on it. A
// window's device state is a sum over gpu_ids (a phantom "unknown" device of
// records without gpu_id, or the other GPUs of a multi-GPU host, would
// otherwise inflate the capacity the co-tenant is compared with, and dilute
// its slowdown).
struct ContentionDevice {
  std::vector<double> others, utils;
  double total_mb = 0;
  double median_other = 0, median_util = 0;
};

struct ContentionSignal {
  int64_t gpu = -2;
  bool by_memory = false;                // other-process memory (else utilization).
  std::optional<double> other_mb, util;  // the device's means in the window.
  double num = 0, den = 0;               // equal-work inflation sums.
  int64_t samples = 0;
};

// Equal-work inflation sums of window `i` on `gpu`; the whole window when no
// work in it names a GPU (requests logged without gpu_id).
void DeviceInflation(const AnalysisContext& ctx, size_t i, int64_t gpu, ContentionSignal* s) {
  bool any_known = false, any_here = false;
  double num = 0, den = 0, all_num = 0, all_den = 0;
  int64_t n_here = 0, n_all = 0;
  for (const WorkCell& c : ctx.windows[i].work) {
    if (static_cast<bool>(c.key.from_batch_record) != ctx.use_batch_records) continue;
    auto it = ctx.steady.find(c.key);
    if (it == ctx.steady.end()) continue;
    const int64_t n = ctx.use_inference ? c.inference_n : c.total_n;
    const double sum = ctx.use_inference ? c.inference_sum : c.total_sum;
    if (n <= 0) continue;
    all_num += sum;
    all_den += static_cast<double>(n) * it->second;
    n_all += n;
    if (c.key.gpu_id >= 0) any_known = true;
    if (c.key.gpu_id == gpu) {
      any_here = true;
      num += sum;
      den += static_cast<double>(n) * it->second;
      n_here += n;
    }
  }
  if (any_here) {
    s->num = num;
    s->den = den;
    s->samples = n_here;
  } else if (!any_known) {
    s->num = all_num;
    s->den = all_den;
    s->samples = n_all;
  }
}

}  // namespace

void GpuContentionRule::Run(AnalysisContext& ctx) const {
  const auto& W = ctx.report->time_series.windows;
  const bool telemetry = ctx.Has(LogField::kMemOther) || ctx.Has(LogField::kGpuUtil);
  std::map<int64_t, ContentionDevice> devices;
  for (const TimeBucket& b : ctx.windows) {
    for (const DeviceWindow& d : b.devices) {
      ContentionDevice& cd = devices[d.gpu_id];
      if (!d.mem_other.empty()) cd.others.push_back(d.mem_other.mean());
      if (!d.gpu_util.empty()) cd.utils.push_back(d.gpu_util.mean());
      if (!d.mem_total.empty()) cd.total_mb = std::max(cd.total_mb, d.mem_total.max);
    }
  }
  std::set<int64_t> known_gpus;
  for (auto& [gpu, cd] : devices) {
    cd.median_other = ChangeDetector::Median(cd.others);
    cd.median_util = ChangeDetector::Median(cd.utils);
    if (gpu >= 0 && (!cd.others.empty() || !cd.utils.empty())) known_gpus.insert(gpu);
  }
  const double ref = ReferenceClock(ctx);
  auto flat = [&](size_t i) {
    const WindowStats& w = W[i];
    if (w.requests == 0) return false;
    if (ctx.median_rate_rps > 0 && w.throughput_rps > t_.flat_load * ctx.median_rate_rps)
      return false;
    if (ctx.median_batch_size > 0 && w.batch_size_mean &&
        *w.batch_size_mean > t_.flat_load * ctx.median_batch_size) {
      return false;
    }
    return true;
  };
  // The device of window i on which another workload shows, slowing the work
  // that ran on it by >= t_.contention_inflation.
  auto signal_at = [&](size_t i) -> std::optional<ContentionSignal> {
    std::optional<ContentionSignal> best;
    for (const DeviceWindow& d : ctx.windows[i].devices) {
      const ContentionDevice& cd = devices[d.gpu_id];
      ContentionSignal s;
      s.gpu = d.gpu_id;
      if (!d.mem_other.empty()) s.other_mb = d.mem_other.mean();
      if (!d.gpu_util.empty()) s.util = d.gpu_util.mean();
      if (s.other_mb) {
        s.by_memory = *s.other_mb >= std::max(t_.contention_other_min_mb,
                                              t_.contention_other_share * cd.total_mb) &&
                      *s.other_mb >= 1.5 * cd.median_other + 1;
        if (!s.by_memory) continue;
      } else {
        // Utilization is a weak signal (our own slower kernels raise it too):
        // used only on a GPU whose other-process memory is not logged.
        if (!cd.others.empty() || !s.util || *s.util < t_.contention_util ||
            *s.util < cd.median_util + 15) {
          continue;
        }
      }
      DeviceInflation(ctx, i, d.gpu_id, &s);
      if (s.den <= 0 || s.num / s.den < t_.contention_inflation) continue;
      if (!best || s.num / s.den > best->num / best->den) best = s;
    }
    return best;
  };
  auto inflated = [&](size_t i) {
    return ctx.inflation[i] && *ctx.inflation[i] >= t_.contention_inflation &&
           ctx.windows[i].requests >= 1;
  };
  auto unexplained = [&](size_t i, bool memory_signal) {
    const WindowStats& w = W[i];
    if (ThrottledWindow(ctx, i, ref, t_.throttle_clock_drop)) return false;
    if (w.mem_used_ratio && *w.mem_used_ratio >= t_.mem_high_ratio && !memory_signal) return false;
    return true;
  };
  if (!telemetry) {
    SkippedCheck skip;
    skip.check = "gpu_contention";
    skip.missing_fields = {"mem_other_processes_mb|gpu_util"};
    skip.reason =
        "no GPU telemetry to confirm another process on the GPU; only unexplained slowdowns are "
        "reported";
    ctx.report->skipped_checks.push_back(std::move(skip));
  }
  // Per window: the contended device's signal (with telemetry), or the whole
  // window's inflation (without).
  std::vector<std::optional<ContentionSignal>> hit(W.size());
  for (size_t i = 0; i < W.size(); ++i) {
    if (i < ctx.cold_windows.size() && ctx.cold_windows[i]) continue;
    if (!flat(i)) continue;
    if (telemetry) {
      auto s = signal_at(i);
      if (s && unexplained(i, s->by_memory)) hit[i] = s;
    } else if (inflated(i) && unexplained(i, false)) {
      ContentionSignal s;
      s.num = ctx.inflation_num[i];
      s.den = ctx.inflation_den[i];
      for (const WorkCell& c : ctx.windows[i].work) {
        if (static_cast<bool>(c.key.from_batch_record) != ctx.use_batch_records) continue;
        if (ctx.steady.count(c.key)) s.samples += ctx.use_inference ? c.inference_n : c.total_n;
      }
      hit[i] = s;
    }
  }
  auto flagged = [&](size_t i) { return hit[i].has_value(); };
  double num = 0, den = 0;
  int64_t samples = 0, requests = 0;
  size_t n_flagged = 0;
  std::set<int64_t> gpus;
  double other_in = 0, util_in = 0, median_other = 0, median_util = 0;
  int n_other = 0, n_util = 0;
  for (size_t i = 0; i < W.size(); ++i) {
    if (!hit[i]) continue;
    const ContentionSignal& s = *hit[i];
    ++n_flagged;
    num += s.num;
    den += s.den;
    samples += s.samples;
    requests += ctx.windows[i].requests;
    if (!telemetry) continue;
    gpus.insert(s.gpu);
    const ContentionDevice& cd = devices[s.gpu];
    if (s.other_mb) {
      other_in += *s.other_mb;
      median_other += cd.median_other;
      ++n_other;
    }
    if (s.util) {
      util_in += *s.util;
      median_util += cd.median_util;
      ++n_util;
    }
  }
  if (den <= 0) return;
  const double ratio = num / den;
  if (ratio < t_.contention_inflation || samples < 3) return;
  if (!telemetry && (n_flagged < 2 || samples < 10)) return;
  const auto out = ctx.InflationWhere([&](size_t i) { return W[i].requests > 0 && !flagged(i); });
  const FindingSeverity sev =
      !telemetry ? FindingSeverity::kInfo
                 : (ratio >= t_.contention_critical_inflation ? FindingSeverity::kCritical
                                                              : FindingSeverity::kWarning);
  // Name the GPU when the log has several and one of them is contended.
  const std::string on_gpu = known_gpus.size() > 1 && gpus.size() == 1 && *gpus.begin() >= 0
                                 ? fmt::format(" GPU {}", *gpus.begin())
                                 : std::string();
  Finding f = NewFinding(
      "gpu_contention", sev,
      telemetry ? fmt::format("Another workload on{} slows {} {:.1f}x at equal work",
                              on_gpu.empty() ? " the GPU" : on_gpu, MetricName(ctx), ratio)
                : fmt::format("{} {:.1f}x slower at equal work with no change in our load "
                              "(unconfirmed: no GPU telemetry)",
                              MetricName(ctx), ratio));
  f.evidence.push_back(fmt::format(
      "{} {:.1f}x the same-work baseline{} in {} (vs {:.2f}x elsewhere) while our "
      "request rate and batch sizes stayed flat",
      MetricName(ctx), ratio, on_gpu.empty() ? "" : " on" + on_gpu,
      Plural(static_cast<int64_t>(n_flagged), "window", "windows"), out ? out->ratio : 1.0));
  if (n_other > 0) {
    const double total = devices[*gpus.begin()].total_mb;
    f.evidence.push_back(fmt::format(
        "other processes held {} MB of GPU memory then{} (typically {} MB)",
        FormatNumber(other_in / n_other),
        gpus.size() == 1 && total > 0
            ? fmt::format(", {} of the card's {} MB", FormatPercent(other_in / n_other / total),
                          FormatNumber(total))
            : std::string(),
        FormatNumber(median_other / n_other)));
    AddMetric(&f, "other_processes_mb", other_in / n_other);
  }
  if (n_util > 0) {
    f.evidence.push_back(fmt::format("GPU utilization {}% then (typically {}%)",
                                     FormatNumber(util_in / n_util),
                                     FormatNumber(median_util / n_util)));
    AddMetric(&f, "gpu_util", util_in / n_util);
  }
  AddMetric(&f, "inflation", ratio);
  f.affected_count = requests;
  f.affected_fraction = Frac(requests, ctx.agg.requests());
  f.time_ranges = ctx.RangesWhere(flagged);
  f.request_ids = ctx.SlowestIdsWhere(flagged);
  f.recommendation =
      telemetry
          ? "Move the other workload to another GPU, or partition the GPU (MIG, or MPS with "
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE) so it cannot take this server's SMs and memory "
            "bandwidth; schedule batch jobs off-peak."
          : "Log GPU telemetry (gpu records or an nvidia-smi CSV with memory.used per process, "
            "utilization.gpu, clocks.sm) to tell contention from throttling, and check what "
            "else ran on the GPU in these windows.";
  ctx.report->findings.push_back(std::move(f));
}

}  // namespace yoloscope
