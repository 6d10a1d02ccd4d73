#include "server/live_series.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace yoloscope {
namespace {

using Json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLatencyFloorMs = 0.01;  // bucket 0 starts at 10 us
constexpr int kBucketsPerOctave = 8;
constexpr const char* kStageNames[LiveSeries::kStages] = {
    "queue", "decode", "preprocess", "h2d", "inference", "d2h", "postprocess"};

// The stage times of a record, in kStageNames order.
std::array<std::optional<double>, LiveSeries::kStages> Stages(const RequestLogRecord& r) {
  return {r.queue_ms,     r.decode_ms, r.preprocess_ms, r.h2d_ms,
          r.inference_ms, r.d2h_ms,    r.postprocess_ms};
}

void KeepMax(const std::optional<double>& v, double* slot) {
  if (v && std::isfinite(*v) && *v >= 0) *slot = std::max(*slot, *v);
}

double Known(double v) { return v >= 0 ? v : kNaN; }

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

ChartSeries Series(std::string label, std::string unit, SeriesStyle style,
                   std::vector<double> values, int axis = 0, std::string color = "") {
  return MakeSeries(std::move(label), std::move(unit), style, std::move(values), axis,
                    std::move(color));
}

// Adds the series that have a finite value.
void AddIfData(Chart* chart, ChartSeries s) { AddSeriesIfData(chart, std::move(s)); }

}  // namespace

LiveSeries::LiveSeries(const LiveSeriesConfig& config, Clock* clock)
    : config_(config), clock_(clock) {
  config_.window_s = std::clamp(config_.window_s, 10, 3600);
  config_.summary_s = std::clamp(config_.summary_s, 1, config_.window_s);
  slots_.resize(static_cast<size_t>(config_.window_s) + 2);
}

int64_t LiveSeries::NowSecond() const {
  const int64_t us = clock_->WallNowUs();
  return us >= 0 ? us / 1'000'000 : (us - 999'999) / 1'000'000;
}

LiveSeries::Slot& LiveSeries::SlotFor(int64_t second) {
  const size_t n = slots_.size();
  Slot& s = slots_[static_cast<size_t>(((second % static_cast<int64_t>(n)) + n) % n)];
  if (s.second != second) {
    s = Slot();
    s.second = second;
  }
  return s;
}

std::vector<const LiveSeries::Slot*> LiveSeries::Range(int64_t from, int64_t to) const {
  std::vector<const Slot*> out;
  const size_t n = slots_.size();
  for (int64_t t = from; t <= to; ++t) {
    const Slot& s = slots_[static_cast<size_t>(((t % static_cast<int64_t>(n)) + n) % n)];
    out.push_back(s.second == t ? &s : nullptr);
  }
  return out;
}

int LiveSeries::LatencyBucket(double ms) {
  if (!(ms > kLatencyFloorMs)) return 0;
  const int b = static_cast<int>(std::floor(std::log2(ms / kLatencyFloorMs) * kBucketsPerOctave));
  return std::clamp(b, 0, kLatencyBuckets - 1);
}

double LiveSeries::BucketValue(int bucket) {
  return kLatencyFloorMs * std::exp2((bucket + 0.5) / kBucketsPerOctave);
}

double LiveSeries::Quantile(const std::array<uint32_t, kLatencyBuckets>& hist, int64_t count,
                            double q) {
  if (count <= 0) return kNaN;
  const double rank = q * static_cast<double>(count);
  int64_t seen = 0;
  for (int b = 0; b < kLatencyBuckets; ++b) {
    seen += hist[static_cast<size_t>(b)];
    if (static_cast<double>(seen) >= rank && seen > 0) return BucketValue(b);
  }
  return BucketValue(kLatencyBuckets - 1);
}

void LiveSeries::AddRequest(const RequestLogRecord& r) {
  const int64_t second = NowSecond();
  std::lock_guard<std::mutex> lock(mu_);
  Slot& s = SlotFor(second);
  ++s.requests;
  const bool oom = r.oom.value_or(false);
  if (oom) ++s.ooms;
  if (r.alloc_retries && *r.alloc_retries > 0) s.alloc_retries += *r.alloc_retries;
  // Device memory and the queue a request met at arrival, whatever its end.
  KeepMax(r.mem_used_mb, &s.mem_used);
  KeepMax(r.mem_total_mb, &s.mem_total);
  KeepMax(r.mem_reserved_mb, &s.mem_reserved);
  KeepMax(r.mem_allocated_mb, &s.mem_allocated);
  if (r.queue_len && *r.queue_len >= 0) {
    s.queue_len_sum += static_cast<double>(*r.queue_len);
    ++s.queue_len_count;
  }
  if (r.status != "ok") {
    ++s.errors;
    if (r.status == "queue_full" || r.status == "unavailable" || r.status == "log_unavailable") {
      ++s.refused;
    }
    return;
  }
  ++s.served;
  const auto stages = Stages(r);
  for (int i = 0; i < kStages; ++i) {
    const auto& v = stages[static_cast<size_t>(i)];
    if (v && std::isfinite(*v) && *v >= 0) {
      s.stage_sum[static_cast<size_t>(i)] += *v;
      ++s.stage_count[static_cast<size_t>(i)];
    }
  }
  if (r.total_ms && std::isfinite(*r.total_ms) && *r.total_ms >= 0) {
    ++s.total_hist[static_cast<size_t>(LatencyBucket(*r.total_ms))];
    ++s.total_count;
  }
  if (r.batch_size && *r.batch_size > 0) {
    const int64_t b = std::min<int64_t>(*r.batch_size, kMaxBatch);
    s.batch_size_sum += static_cast<double>(*r.batch_size);
    ++s.batch_size_count;
    ++s.batch_requests[static_cast<size_t>(b)];
    if (r.inference_ms && std::isfinite(*r.inference_ms)) {
      s.batch_inference_sum[static_cast<size_t>(b)] += *r.inference_ms;
    }
  }
}

void LiveSeries::AddGpuSample(const DeviceSample& sample) {
  const int64_t second = NowSecond();
  std::lock_guard<std::mutex> lock(mu_);
  Slot& s = SlotFor(second);
  KeepMax(sample.mem_used_mb, &s.mem_used);
  KeepMax(sample.mem_total_mb, &s.mem_total);
  KeepMax(sample.mem_other_processes_mb, &s.mem_other);
  if (sample.gpu_util && std::isfinite(*sample.gpu_util)) {
    s.gpu_util_sum += *sample.gpu_util;
    ++s.gpu_util_count;
  }
}

ChartSet LiveSeries::Charts() const {
  const int64_t last = NowSecond() - 1;
  int64_t first = last - config_.window_s + 1;
  ChartSet set;
  set.set_time_axis("epoch");
  std::vector<double> x;
  std::array<std::vector<double>, kStages> stage_mean;
  std::vector<double> p50, p99, rps, served_rps, error_rate, used, total, reserved, allocated,
      other, ooms, retries, util, queue_len, batch_mean, points_x, points_y;
  std::array<int64_t, kMaxBatch + 1> batch_requests{};
  std::array<double, kStages> stage_total{};
  std::array<int64_t, kStages> stage_n{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<const Slot*> slots = Range(first, last);
    // A server up for less than the window: start at its first second (at
    // least kMinRows back) instead of drawing minutes of nothing.
    constexpr size_t kMinRows = 30;
    size_t lead = 0;
    while (lead < slots.size() && slots[lead] == nullptr) ++lead;
    lead = std::min(lead, slots.size() > kMinRows ? slots.size() - kMinRows : 0);
    slots.erase(slots.begin(), slots.begin() + static_cast<std::ptrdiff_t>(lead));
    first += static_cast<int64_t>(lead);
    for (size_t i = 0; i < slots.size(); ++i) {
      const Slot* s = slots[i];
      x.push_back(static_cast<double>(first + static_cast<int64_t>(i)));
      for (int k = 0; k < kStages; ++k) {
        const size_t ku = static_cast<size_t>(k);
        const bool has = s != nullptr && s->stage_count[ku] > 0;
        stage_mean[ku].push_back(has ? s->stage_sum[ku] / static_cast<double>(s->stage_count[ku])
                                     : kNaN);
        if (has) {
          stage_total[ku] += s->stage_sum[ku];
          stage_n[ku] += s->stage_count[ku];
        }
      }
      const int64_t n = s != nullptr ? s->requests : 0;
      rps.push_back(static_cast<double>(n));
      served_rps.push_back(s != nullptr ? static_cast<double>(s->served) : 0.0);
      error_rate.push_back(n > 0 ? 100.0 * static_cast<double>(s->errors) / n : kNaN);
      p50.push_back(s != nullptr ? Quantile(s->total_hist, s->total_count, 0.5) : kNaN);
      p99.push_back(s != nullptr ? Quantile(s->total_hist, s->total_count, 0.99) : kNaN);
      used.push_back(s != nullptr ? Known(s->mem_used) : kNaN);
      total.push_back(s != nullptr ? Known(s->mem_total) : kNaN);
      reserved.push_back(s != nullptr ? Known(s->mem_reserved) : kNaN);
      allocated.push_back(s != nullptr ? Known(s->mem_allocated) : kNaN);
      other.push_back(s != nullptr ? Known(s->mem_other) : kNaN);
      util.push_back(s != nullptr && s->gpu_util_count > 0
                         ? s->gpu_util_sum / static_cast<double>(s->gpu_util_count)
                         : kNaN);
      queue_len.push_back(s != nullptr && s->queue_len_count > 0
                              ? s->queue_len_sum / static_cast<double>(s->queue_len_count)
                              : kNaN);
      batch_mean.push_back(s != nullptr && s->batch_size_count > 0
                               ? s->batch_size_sum / static_cast<double>(s->batch_size_count)
                               : kNaN);
      // OOM / retry markers sit on the used line (or at 0 without memory data).
      const double level = std::isfinite(used.back()) ? used.back() : 0.0;
      ooms.push_back(s != nullptr && s->ooms > 0 ? level : kNaN);
      retries.push_back(s != nullptr && s->alloc_retries > 0 ? level : kNaN);
      if (s == nullptr) continue;
      for (int b = 1; b <= kMaxBatch; ++b) {
        const int64_t m = s->batch_requests[static_cast<size_t>(b)];
        if (m == 0) continue;
        batch_requests[static_cast<size_t>(b)] += m;
        if (s->batch_inference_sum[static_cast<size_t>(b)] > 0) {
          points_x.push_back(b);
          points_y.push_back(s->batch_inference_sum[static_cast<size_t>(b)] /
                             static_cast<double>(m));
        }
      }
    }
  }

  Chart stages = MakeTimeChart(kChartLatencyStages, "Latency by stage (per-second mean)", "ms", x);
  stages.stacked = true;
  for (int k = 0; k < kStages; ++k) {
    AddIfData(&stages, Series(kStageNames[k], "ms", SeriesStyle::kArea,
                              stage_mean[static_cast<size_t>(k)], 0, StageColor(kStageNames[k])));
  }
  set.Add(std::move(stages));

  Chart pct = MakeTimeChart(kChartLatencyPercentiles, "Latency p50 / p99 (per second)", "ms", x);
  AddIfData(&pct, Series("total p50 (served)", "ms", SeriesStyle::kLine, p50, 0, "#4e79a7"));
  AddIfData(&pct, Series("total p99 (served)", "ms", SeriesStyle::kLine, p99, 0, "#e15759"));
  set.Add(std::move(pct));

  Chart thr = MakeTimeChart(kChartThroughput, "Throughput and errors", "req/s", x, "error rate %");
  AddIfData(&thr, Series("arriving", "req/s", SeriesStyle::kLine, rps, 0, "#9c755f"));
  AddIfData(&thr, Series("served", "req/s", SeriesStyle::kLine, served_rps, 0, "#59a14f"));
  AddIfData(&thr, Series("error rate", "%", SeriesStyle::kLine, error_rate, 1, "#e15759"));
  set.Add(std::move(thr));

  Chart mem = MakeTimeChart(kChartGpuMemory, "GPU memory", "MB", x);
  AddIfData(&mem, Series("used", "MB", SeriesStyle::kArea, used, 0, "#4e79a7"));
  AddIfData(&mem, Series("total", "MB", SeriesStyle::kDashed, total, 0, "#333333"));
  AddIfData(&mem, Series("reserved", "MB", SeriesStyle::kLine, reserved, 0, "#b07aa1"));
  AddIfData(&mem, Series("allocated", "MB", SeriesStyle::kLine, allocated, 0, "#59a14f"));
  AddIfData(&mem, Series("other processes", "MB", SeriesStyle::kLine, other, 0, "#9c755f"));
  AddIfData(&mem, Series("allocation retries", "", SeriesStyle::kPoints, retries, 0, "#ff7f0e"));
  AddIfData(&mem, Series("OOM", "", SeriesStyle::kPoints, ooms, 0, "#d62728"));  // on top
  if (mem.series.empty()) mem.note = "The backend reports no device memory (CPU).";
  set.Add(std::move(mem));

  Chart gpu = MakeTimeChart(kChartGpuUtil, "GPU utilisation", "%", x);
  AddIfData(&gpu, Series("GPU utilisation", "%", SeriesStyle::kLine, util, 0, "#4e79a7"));
  if (gpu.series.empty()) gpu.note = "No GPU telemetry (CPU, or telemetry off).";
  set.Add(std::move(gpu));

  Chart queue =
      MakeTimeChart(kChartQueue, "Queue length and batch size", "requests", x, "queue wait ms");
  AddIfData(&queue,
            Series("queue length (at arrival)", "", SeriesStyle::kLine, queue_len, 0, "#b07aa1"));
  AddIfData(&queue, Series("batch size (mean)", "", SeriesStyle::kStep, batch_mean, 0, "#4e79a7"));
  AddIfData(&queue,
            Series("queue wait (mean)", "ms", SeriesStyle::kDashed, stage_mean[0], 1, "#e15759"));
  set.Add(std::move(queue));

  Chart batches =
      MakeAxisChart(kChartBatchSizes, "Batch size distribution", "bars", "batch size", "requests");
  std::vector<double> counts;
  for (int b = 1; b <= kMaxBatch; ++b) {
    const int64_t m = batch_requests[static_cast<size_t>(b)];
    if (m == 0) continue;
    batches.x.push_back(static_cast<double>(batches.x.size()));
    batches.x_labels.push_back(b == kMaxBatch ? ">=" + std::to_string(b) : std::to_string(b));
    counts.push_back(static_cast<double>(m));
  }
  AddIfData(&batches, Series("requests", "", SeriesStyle::kBars, counts, 0, "#4e79a7"));
  set.Add(std::move(batches));

  Chart scatter = MakeAxisChart(kChartInferenceVsBatch, "Inference time vs batch size", "scatter",
                                "batch size", "inference ms");
  scatter.x = points_x;
  AddIfData(&scatter,
            Series("per-second mean", "ms", SeriesStyle::kPoints, points_y, 0, "#4e79a7"));
  // Affine least squares (the same fit as the report's).
  double sx = 0, sy = 0, sxx = 0, sxy = 0, lo = INFINITY, hi = -INFINITY;
  const double n = static_cast<double>(points_x.size());
  for (size_t i = 0; i < points_x.size(); ++i) {
    sx += points_x[i];
    sy += points_y[i];
    sxx += points_x[i] * points_x[i];
    sxy += points_x[i] * points_y[i];
    lo = std::min(lo, points_x[i]);
    hi = std::max(hi, points_x[i]);
  }
  if (n >= 2 && hi > lo) {
    const double mx = sx / n, my = sy / n, vxx = sxx / n - mx * mx;
    if (vxx > 0) {
      const double b = (sxy / n - mx * my) / vxx, a = my - b * mx;
      std::vector<double> fit(points_x.size());
      for (size_t i = 0; i < fit.size(); ++i) fit[i] = a + b * points_x[i];
      char label[96];
      std::snprintf(label, sizeof(label), "fit: %.3g ms + %.3g ms x batch", a, b);
      AddIfData(&scatter, Series(label, "ms", SeriesStyle::kLine, fit, 0, "#e15759"));
    }
  }
  set.Add(std::move(scatter));

  Chart where = MakeAxisChart(kChartWhereTimeGoes, "Where the time goes (window)", "bars", "stage",
                              "mean ms");
  double sum_means = 0;
  for (int k = 0; k < kStages; ++k) {
    const size_t ku = static_cast<size_t>(k);
    if (stage_n[ku] > 0) sum_means += stage_total[ku] / static_cast<double>(stage_n[ku]);
  }
  std::vector<double> means;
  for (int k = 0; k < kStages; ++k) {
    const size_t ku = static_cast<size_t>(k);
    if (stage_n[ku] == 0) continue;
    const double m = stage_total[ku] / static_cast<double>(stage_n[ku]);
    char label[48];
    std::snprintf(label, sizeof(label), "%s\n%.0f%%", kStageNames[k],
                  sum_means > 0 ? 100 * m / sum_means : 0.0);
    where.x.push_back(static_cast<double>(where.x.size()));
    where.x_labels.push_back(label);
    means.push_back(m);
  }
  AddIfData(&where, Series("mean per request", "ms", SeriesStyle::kBars, means, 0, "#4e79a7"));
  set.Add(std::move(where));
  return set;
}

Json LiveSeries::Snapshot(const ChartSetOptions& options) const {
  const int64_t now_us = clock_->WallNowUs();
  const int64_t last = NowSecond() - 1;
  const int64_t first = last - config_.summary_s + 1;
  int64_t requests = 0, served = 0, refused = 0, errors = 0, total_count = 0, queue_n = 0,
          batch_n = 0;
  double queue_sum = 0, batch_sum = 0, mem_used = -1, mem_total = -1, util = kNaN;
  std::array<uint32_t, kLatencyBuckets> hist{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Slot* s : Range(first, last)) {
      if (s == nullptr) continue;
      requests += s->requests;
      served += s->served;
      refused += s->refused;
      errors += s->errors;
      for (size_t b = 0; b < hist.size(); ++b) hist[b] += s->total_hist[b];
      total_count += s->total_count;
      queue_sum += s->queue_len_sum;
      queue_n += s->queue_len_count;
      batch_sum += s->batch_size_sum;
      batch_n += s->batch_size_count;
      // Memory and utilisation: the latest second that has them.
      if (s->mem_used >= 0) mem_used = s->mem_used;
      if (s->mem_total >= 0) mem_total = s->mem_total;
      if (s->gpu_util_count > 0) util = s->gpu_util_sum / static_cast<double>(s->gpu_util_count);
    }
  }
  const double secs = static_cast<double>(config_.summary_s);
  Json summary = Json::object();
  summary["requests"] = requests;
  summary["requests_per_s"] = static_cast<double>(requests) / secs;
  summary["served"] = served;
  summary["refused"] = refused;
  summary["failed"] = errors - refused;
  summary["served_per_s"] = static_cast<double>(served) / secs;
  summary["refused_per_s"] = static_cast<double>(refused) / secs;
  summary["failed_per_s"] = static_cast<double>(errors - refused) / secs;
  summary["p50_ms"] = Number(Quantile(hist, total_count, 0.5));
  summary["p99_ms"] = Number(Quantile(hist, total_count, 0.99));
  summary["error_rate"] =
      requests > 0 ? Json(static_cast<double>(errors) / static_cast<double>(requests)) : Json();
  summary["queue_len"] = queue_n > 0 ? Json(queue_sum / static_cast<double>(queue_n)) : Json();
  summary["batch_size"] = batch_n > 0 ? Json(batch_sum / static_cast<double>(batch_n)) : Json();
  summary["mem_used_mb"] = Number(Known(mem_used));
  summary["mem_total_mb"] = Number(Known(mem_total));
  summary["gpu_util"] = Number(util);
  Json out = Json::object();
  out["schema"] = "yoloscope.live.v1";
  out["now_us"] = now_us;
  out["window_s"] = config_.window_s;
  out["summary_s"] = config_.summary_s;
  out["summary"] = std::move(summary);
  out["charts"] = Charts().ToJson(options);
  return out;
}

}  // namespace yoloscope
