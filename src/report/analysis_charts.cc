#include "report/analysis_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "report/json_fields.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Pipeline order of the stage names the analyzer uses.
constexpr const char* kStageOrder[] = {"queue",     "decode", "preprocess",  "h2d",
                                       "inference", "d2h",    "postprocess", "other"};

double Seconds(double us) { return us / 1e6; }

// The numeric members of time_series.windows[] as columns, read in one pass
// (a per-key lookup in 10^5+ windows is far slower); `stage_means_ms.<stage>`
// for the nested per-stage means. A value that is absent, null or not a
// number is NaN.
class WindowColumns {
 public:
  explicit WindowColumns(const Json& windows) : n_(windows.size()) {
    for (size_t i = 0; i < n_; ++i) {
      const Json& w = windows[i];
      if (!w.is_object()) continue;
      for (auto it = w.begin(); it != w.end(); ++it) {
        const Json& v = it.value();
        if (v.is_number()) {
          Column(it.key())[i] = v.get<double>();
        } else if (v.is_object() && it.key() == "stage_means_ms") {
          for (auto st = v.begin(); st != v.end(); ++st) {
            if (!st.value().is_number()) continue;
            Column("stage_means_ms." + st.key())[i] = st.value().get<double>();
            if (std::find(stages_.begin(), stages_.end(), st.key()) == stages_.end()) {
              stages_.push_back(st.key());
            }
          }
        }
      }
    }
  }

  size_t size() const { return n_; }
  // Column `key` times `scale` (all NaN when no window has it).
  std::vector<double> Get(const std::string& key, double scale = 1.0) const {
    auto it = columns_.find(key);
    if (it == columns_.end()) return std::vector<double>(n_, kNaN);
    if (scale == 1.0) return it->second;
    std::vector<double> out = it->second;
    for (double& v : out) v *= scale;
    return out;
  }
  // Stage names seen in stage_means_ms, in first-seen order.
  const std::vector<std::string>& stages() const { return stages_; }

 private:
  std::vector<double>& Column(const std::string& key) {
    auto it = columns_.find(key);
    if (it == columns_.end()) it = columns_.emplace(key, std::vector<double>(n_, kNaN)).first;
    return it->second;
  }

  size_t n_;
  std::unordered_map<std::string, std::vector<double>> columns_;
  std::vector<std::string> stages_;
};

// Adds series `label` to `chart` when it has data; returns whether it did.
bool AddSeries(Chart* chart, std::string label, std::string unit, SeriesStyle style,
               std::vector<double> values, int axis = 0, std::string color = "") {
  return AddSeriesIfData(chart, MakeSeries(std::move(label), std::move(unit), style,
                                           std::move(values), axis, std::move(color)));
}

// Markers at windows where `count` > 0, drawn at `level` (or `fallback`, or 0).
std::vector<double> Markers(const std::vector<double>& count, const std::vector<double>& level,
                            const std::vector<double>& fallback) {
  std::vector<double> out(count.size(), kNaN);
  for (size_t i = 0; i < count.size(); ++i) {
    if (!(count[i] > 0)) continue;
    double y = i < level.size() ? level[i] : kNaN;
    if (!std::isfinite(y)) y = i < fallback.size() ? fallback[i] : kNaN;
    out[i] = std::isfinite(y) ? y : 0;
  }
  return out;
}

void AddLatencyStages(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c = MakeTimeChart(kChartLatencyStages, "Latency by stage over time", "ms (window mean)", x);
  // Stage names: pipeline order first, then any other key the windows carry.
  std::vector<std::string> names;
  for (const char* st : kStageOrder) names.push_back(st);
  for (const std::string& k : cols.stages()) {
    if (std::find(names.begin(), names.end(), k) == names.end() && k != "total") {
      names.push_back(k);
    }
  }
  for (const std::string& name : names) {
    AddSeries(&c, name, "ms", SeriesStyle::kArea, cols.Get("stage_means_ms." + name), 0,
              StageColor(name));
  }
  if (!c.series.empty()) {
    c.stacked = true;
  } else {
    // Older analyses: only the queue mean is per window.
    const bool has_queue = AddSeries(&c, "queue (mean)", "ms", SeriesStyle::kArea,
                                     cols.Get("queue_ms_mean"), 0, StageColor("queue"));
    AddSeries(&c, "total p50", "ms", SeriesStyle::kDashed, cols.Get("total_p50_ms"), 0, "#555555");
    if (!c.series.empty()) {
      c.note = has_queue
                   ? "Per-stage window means are not in this analysis "
                     "(time_series.windows[].stage_means_ms); showing the queue mean "
                     "against the total p50."
                   : "Per-stage window means are not in this analysis; showing the total p50.";
    }
  }
  set->Add(std::move(c));
}

void AddPercentiles(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c = MakeTimeChart(kChartLatencyPercentiles, "Latency p50 / p99 over time", "ms", x);
  AddSeries(&c, "total p50", "ms", SeriesStyle::kLine, cols.Get("total_p50_ms"), 0, "#4e79a7");
  AddSeries(&c, "total p99", "ms", SeriesStyle::kLine, cols.Get("total_p99_ms"), 0, "#e15759");
  AddSeries(&c, "inference p50", "ms", SeriesStyle::kDashed, cols.Get("inference_p50_ms"), 0,
            "#76b7b2");
  AddSeries(&c, "inference p99", "ms", SeriesStyle::kDashed, cols.Get("inference_p99_ms"), 0,
            "#f28e2b");
  set->Add(std::move(c));
}

void AddThroughput(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c = MakeTimeChart(kChartThroughput, "Throughput and errors", "req/s", x, "error rate %");
  AddSeries(&c, "throughput", "req/s", SeriesStyle::kLine, cols.Get("throughput_rps"), 0,
            "#59a14f");
  AddSeries(&c, "error rate", "%", SeriesStyle::kLine, cols.Get("error_rate", 100.0), 1, "#e15759");
  set->Add(std::move(c));
}

void AddGpuMemory(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c = MakeTimeChart(kChartGpuMemory, "GPU memory", "MB", x);
  std::vector<double> used = cols.Get("mem_used_mb");
  std::vector<double> total = cols.Get("mem_total_mb");
  AddSeries(&c, "used", "MB", SeriesStyle::kArea, used, 0, "#4e79a7");
  AddSeries(&c, "total", "MB", SeriesStyle::kDashed, total, 0, "#333333");
  AddSeries(&c, "reserved", "MB", SeriesStyle::kLine, cols.Get("mem_reserved_mb"), 0, "#b07aa1");
  AddSeries(&c, "allocated", "MB", SeriesStyle::kLine, cols.Get("mem_allocated_mb"), 0, "#59a14f");
  AddSeries(&c, "other processes", "MB", SeriesStyle::kLine, cols.Get("mem_other_processes_mb"), 0,
            "#9c755f");
  const bool has_memory = !c.series.empty();
  // OOMs sit on the ceiling (the total line, else the used line), allocation
  // retries on the used line; 0 without memory data.
  AddSeries(&c, "allocation retries", "", SeriesStyle::kPoints,
            Markers(cols.Get("alloc_retries"), used, total), 0, "#ff7f0e");
  // Drawn last, so on top of the retries when both hit the ceiling.
  AddSeries(&c, "OOM", "", SeriesStyle::kPoints, Markers(cols.Get("ooms"), total, used), 0,
            "#d62728");
  if (!has_memory && !c.series.empty()) {
    c.note =
        "The log has OOMs or allocation retries but no memory fields (mem_used_mb, "
        "mem_total_mb).";
  } else if (!has_memory) {
    c.note = "Needs mem_used_mb / mem_total_mb (request, batch or gpu records).";
  }
  set->Add(std::move(c));
}

void AddGpuUtil(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c = MakeTimeChart(kChartGpuUtil, "GPU utilisation", "%", x, "MHz");
  AddSeries(&c, "GPU utilisation", "%", SeriesStyle::kLine, cols.Get("gpu_util"), 0, "#4e79a7");
  AddSeries(&c, "SM clock", "MHz", SeriesStyle::kStep, cols.Get("sm_clock_mhz"), 1, "#f28e2b");
  AddSeries(&c, "throttled", "%", SeriesStyle::kStep, cols.Get("throttled_fraction", 100.0), 0,
            "#e15759");
  if (c.series.empty()) c.note = "Needs gpu_util or sm_clock_mhz (gpu telemetry records).";
  set->Add(std::move(c));
}

void AddQueue(const WindowColumns& cols, const std::vector<double>& x, ChartSet* set) {
  Chart c =
      MakeTimeChart(kChartQueue, "Queue length and batch size", "requests", x, "queue wait ms");
  AddSeries(&c, "queue length (mean)", "", SeriesStyle::kLine, cols.Get("queue_len_mean"), 0,
            "#b07aa1");
  AddSeries(&c, "batch size (mean)", "", SeriesStyle::kStep, cols.Get("batch_size_mean"), 0,
            "#4e79a7");
  AddSeries(&c, "queue wait (mean)", "ms", SeriesStyle::kDashed, cols.Get("queue_ms_mean"), 1,
            "#e15759");
  if (c.series.empty()) c.note = "Needs queue_len, queue_ms or batch_size.";
  set->Add(std::move(c));
}

void AddBatchSizes(const Json& analysis, ChartSet* set) {
  Chart c =
      MakeAxisChart(kChartBatchSizes, "Batch size distribution", "bars", "batch size", "count");
  std::vector<double> requests, batches;
  const Json& sizes = JsonFields::Array(JsonFields::Object(analysis, "summary"), "batch_sizes");
  for (const Json& e : sizes) {
    const auto b = JsonFields::Integer(e, "batch_size");
    if (!b) continue;
    c.x.push_back(static_cast<double>(c.x.size()));
    c.x_labels.push_back(std::to_string(*b));
    requests.push_back(JsonFields::Number(e, "requests"));
    const double n = JsonFields::Number(e, "batches");
    batches.push_back(n > 0 ? n : kNaN);
  }
  AddSeries(&c, "requests", "", SeriesStyle::kBars, std::move(requests), 0, "#4e79a7");
  AddSeries(&c, "batches", "", SeriesStyle::kBars, std::move(batches), 0, "#f28e2b");
  if (c.series.empty()) c.note = "Needs batch_size.";
  set->Add(std::move(c));
}

void AddInferenceVsBatch(const Json& analysis, const WindowColumns& cols, ChartSet* set) {
  Chart c = MakeAxisChart(kChartInferenceVsBatch, "Inference time vs batch size", "scatter",
                          "batch size", "inference ms");
  std::vector<double> xs, ys, ws;
  std::string point_label;
  const Json& samples = JsonFields::Object(analysis, "inference_samples");
  const Json& sb = JsonFields::Array(samples, "batch_size");
  const Json& si = JsonFields::Array(samples, "inference_ms");
  if (!sb.empty() && sb.size() == si.size()) {
    point_label = "inference (sampled runs)";
    for (size_t i = 0; i < sb.size(); ++i) {
      if (!sb[i].is_number() || !si[i].is_number()) continue;
      xs.push_back(sb[i].get<double>());
      ys.push_back(si[i].get<double>());
      ws.push_back(1.0);
    }
  }
  if (xs.empty()) {
    point_label = "inference p50 per batch size / input / model";
    for (const Json& b : JsonFields::Array(analysis, "baselines")) {
      const std::string metric = JsonFields::Text(b, "metric");
      if (!metric.empty() && metric != "inference_ms") continue;
      const double batch = JsonFields::Number(b, "batch_size");
      double ms = JsonFields::Number(b, "p50_ms");
      if (!std::isfinite(ms)) ms = JsonFields::Number(b, "mean_ms");
      const double n = JsonFields::Number(b, "count");
      if (!std::isfinite(batch) || !std::isfinite(ms)) continue;
      xs.push_back(batch);
      ys.push_back(ms);
      ws.push_back(n > 0 ? n : 1.0);
    }
  }
  if (xs.empty()) {
    point_label = "window: mean batch vs inference p50";
    const std::vector<double> batch = cols.Get("batch_size_mean");
    const std::vector<double> ms = cols.Get("inference_p50_ms");
    const std::vector<double> requests = cols.Get("requests");
    for (size_t i = 0; i < cols.size(); ++i) {
      if (!std::isfinite(batch[i]) || !std::isfinite(ms[i])) continue;
      xs.push_back(batch[i]);
      ys.push_back(ms[i]);
      ws.push_back(std::isfinite(requests[i]) ? std::max(1.0, requests[i]) : 1.0);
    }
  }
  c.x = xs;
  double a = 0, b = 0;
  const bool fitted = AnalysisCharts::FitAffine(xs, ys, ws, &a, &b);
  AddSeries(&c, point_label, "ms", SeriesStyle::kPoints, ys, 0, "#4e79a7");
  if (fitted) {
    std::vector<double> fit(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) fit[i] = a + b * xs[i];
    char label[96];
    std::snprintf(label, sizeof(label), "fit: %.3g ms + %.3g ms x batch", a, b);
    AddSeries(&c, label, "ms", SeriesStyle::kLine, std::move(fit), 0, "#e15759");
  }
  if (c.series.empty()) c.note = "Needs batch_size with inference_ms.";
  set->Add(std::move(c));
}

void AddWhereTimeGoes(const Json& analysis, ChartSet* set) {
  Chart c = MakeAxisChart(kChartWhereTimeGoes, "Where the time goes", "bars", "stage", "mean ms");
  std::vector<double> mean;
  for (const Json& s : JsonFields::Array(analysis, "stages")) {
    const std::string name = JsonFields::Text(s, "stage");
    if (name.empty() || name == "total") continue;
    const double m = JsonFields::Number(s, "mean_ms");
    const double share = JsonFields::Number(s, "share");
    std::string label = name;
    if (std::isfinite(share)) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "\n%.0f%%", share * 100);
      label += buf;  // uPlot draws "\n" as a second line under the tick.
    }
    c.x.push_back(static_cast<double>(c.x.size()));
    c.x_labels.push_back(std::move(label));
    mean.push_back(m);
  }
  AddSeries(&c, "mean per request", "ms", SeriesStyle::kBars, std::move(mean), 0, "#4e79a7");
  if (c.series.empty()) c.note = "Needs per-stage timings (queue_ms, inference_ms, ...).";
  set->Add(std::move(c));
}

std::string SeverityColor(const std::string& severity) {
  if (severity == "critical") return "#d62728";
  if (severity == "warning") return "#ff7f0e";
  return "#1f77b4";
}

// The alert timeline: one row per rule, a thick segment per firing; every
// firing also becomes a band on all time charts.
void AddAlerts(const Json& analysis, double end_s, ChartSet* set) {
  Chart c;
  c.id = kChartAlerts;
  c.title = "Alert timeline";
  const Json* alerts = JsonFields::Find(analysis, "alerts");
  if (alerts == nullptr || !alerts->is_array()) {
    c.note = "Alerts were not evaluated for this analysis.";
    set->Add(std::move(c));
    return;
  }
  struct Firing {
    size_t rule;
    double start, end;
  };
  std::vector<Firing> firings;
  std::vector<std::string> colors;  // per rule, from its first firing's severity
  for (size_t i = 0; i < alerts->size(); ++i) {
    const Json& a = (*alerts)[i];
    const std::string rule = JsonFields::Text(a, "rule");
    auto fired = JsonFields::TimeUs(a, "fired_at_us");
    if (!fired) fired = JsonFields::TimeUs(a, "fired_at");
    if (!fired) continue;
    auto resolved = JsonFields::TimeUs(a, "resolved_at_us");
    if (!resolved) resolved = JsonFields::TimeUs(a, "resolved_at");
    const double start = Seconds(static_cast<double>(*fired));
    // Still firing: up to the end of the log.
    const double end = resolved               ? Seconds(static_cast<double>(*resolved))
                       : std::isfinite(end_s) ? std::max(end_s, start)
                                              : start;
    auto it = std::find(c.y_labels.begin(), c.y_labels.end(), rule);
    const size_t row = static_cast<size_t>(it - c.y_labels.begin());
    if (it == c.y_labels.end()) {
      c.y_labels.push_back(rule);
      colors.push_back(SeverityColor(JsonFields::Text(a, "severity")));
    }
    firings.push_back({row, start, end});
    ChartBand band;
    band.id = "alert-" + std::to_string(i);
    band.kind = "alert";
    band.severity = JsonFields::Text(a, "severity");
    band.label = rule + (resolved ? "" : " (still firing)");
    band.start = start;
    band.end = end;
    set->AddBand(std::move(band));
  }
  // Rows: every start, end and just-after-end; a rule's series sits at its
  // row level wherever one of its firings covers x, and is a gap elsewhere.
  constexpr double kGapS = 1e-3;
  for (const Firing& f : firings) {
    c.x.push_back(f.start);
    c.x.push_back(f.end);
    c.x.push_back(f.end + kGapS);
  }
  std::sort(c.x.begin(), c.x.end());
  c.x.erase(std::unique(c.x.begin(), c.x.end()), c.x.end());
  for (size_t r = 0; r < c.y_labels.size(); ++r) {
    ChartSeries s;
    s.label = c.y_labels[r];
    s.style = SeriesStyle::kLine;
    s.color = colors[r];
    s.values.assign(c.x.size(), kNaN);
    for (const Firing& f : firings) {
      if (f.rule != r) continue;
      for (size_t i = 0; i < c.x.size(); ++i) {
        if (c.x[i] >= f.start && c.x[i] <= f.end) s.values[i] = static_cast<double>(r + 1);
      }
    }
    c.series.push_back(std::move(s));
  }
  if (firings.empty()) c.note = "No alert fired.";
  set->Add(std::move(c));
}

void AddFindingBands(const Json& analysis, ChartSet* set) {
  const Json& findings = JsonFields::Array(analysis, "findings");
  for (size_t i = 0; i < findings.size(); ++i) {
    const Json& f = findings[i];
    const Json& ranges = JsonFields::Array(f, "time_ranges");
    for (size_t r = 0; r < ranges.size(); ++r) {
      auto start = JsonFields::TimeUs(ranges[r], "start_us");
      if (!start) start = JsonFields::TimeUs(ranges[r], "start");
      auto end = JsonFields::TimeUs(ranges[r], "end_us");
      if (!end) end = JsonFields::TimeUs(ranges[r], "end");
      if (!start || !end) continue;
      ChartBand band;
      band.id = "finding-" + std::to_string(i) + "-" + std::to_string(r);
      band.kind = "finding";
      band.severity = JsonFields::Text(f, "severity");
      band.label = JsonFields::Text(f, "title");
      band.chart = AnalysisCharts::ChartForFinding(JsonFields::Text(f, "kind"));
      band.start = Seconds(static_cast<double>(*start));
      band.end = Seconds(static_cast<double>(std::max(*start, *end)));
      set->AddBand(std::move(band));
    }
  }
}

// The what-if panel's charts, from the "what_if" member (schema
// yoloscope.whatif.v1): one bar group per column -- the log itself, the
// logged setting through the model, then each what-if that could be
// predicted.
void AddWhatIf(const Json& analysis, ChartSet* set) {
  const Json& w = JsonFields::Object(analysis, "what_if");
  if (w.empty()) return;
  std::vector<std::string> labels;
  std::vector<const Json*> columns;
  const Json& observed = JsonFields::Object(JsonFields::Object(w, "log"), "observed");
  labels.push_back("observed");
  columns.push_back(&observed);
  labels.push_back("logged (pred.)");
  columns.push_back(&JsonFields::Object(JsonFields::Object(w, "logged"), "predicted"));
  const Json& rows = JsonFields::Array(w, "what_if");
  for (size_t i = 0; i < rows.size(); ++i) {
    if (JsonFields::Find(rows[i], "predicted") == nullptr) continue;
    labels.push_back("[" + std::to_string(i + 1) + "] " + JsonFields::Text(rows[i], "label"));
    columns.push_back(&JsonFields::Object(rows[i], "predicted"));
  }
  auto column = [&](const char* key, double scale) {
    std::vector<double> v;
    for (const Json* c : columns) v.push_back(JsonFields::Number(*c, key) * scale);
    return v;
  };
  Chart lat = MakeAxisChart(kChartWhatIfLatency, "Latency by setting (served requests)", "bars",
                            "setting", "ms");
  Chart thr = MakeAxisChart(kChartWhatIfThroughput, "Throughput and rejections by setting", "bars",
                            "setting", "req/s");
  thr.y2_label = "rejected %";
  for (size_t i = 0; i < labels.size(); ++i) {
    lat.x.push_back(static_cast<double>(i));
    thr.x.push_back(static_cast<double>(i));
  }
  lat.x_labels = labels;
  thr.x_labels = labels;
  // Widest first: p99 behind p90 behind p50.
  AddSeries(&lat, "p99", "ms", SeriesStyle::kBars, column("p99_ms", 1), 0, "#e15759");
  AddSeries(&lat, "p90", "ms", SeriesStyle::kBars, column("p90_ms", 1), 0, "#f28e2b");
  AddSeries(&lat, "p50", "ms", SeriesStyle::kBars, column("p50_ms", 1), 0, "#4e79a7");
  AddSeries(&thr, "throughput", "req/s", SeriesStyle::kBars, column("throughput_per_s", 1), 0,
            "#59a14f");
  AddSeries(&thr, "rejected", "%", SeriesStyle::kBars, column("rejection_rate", 100), 1, "#e15759");
  lat.note = "observed: the log itself; (pred.): the what-if model (docs/what-if.md).";
  set->Add(std::move(lat));
  set->Add(std::move(thr));

  // The whole distribution: served latency at every percentile, a line per
  // column (logs and reports without distribution_ms draw none).
  const Json& quantiles = JsonFields::Array(JsonFields::Object(w, "log"), "distribution_quantiles");
  if (quantiles.empty()) return;
  Chart dist =
      MakeAxisChart(kChartWhatIfDistribution, "Latency distribution by setting (served requests)",
                    "scatter", "percentile", "ms");
  for (const Json& q : quantiles) dist.x.push_back(q.is_number() ? q.get<double>() * 100 : kNaN);
  for (size_t i = 0; i < columns.size(); ++i) {
    const Json& d = JsonFields::Array(*columns[i], "distribution_ms");
    if (d.size() != quantiles.size()) continue;
    std::vector<double> v;
    for (const Json& x : d) v.push_back(x.is_number() ? x.get<double>() : kNaN);
    AddSeries(&dist, labels[i], "ms", i == 0 ? SeriesStyle::kDashed : SeriesStyle::kLine,
              std::move(v));
  }
  dist.note = "Each line: the latency below which that percent of served requests finished.";
  if (dist.HasData()) set->Add(std::move(dist));
}

}  // namespace

const char* AnalysisCharts::ChartForFinding(std::string_view kind) {
  static constexpr std::pair<const char*, const char*> kMap[] = {
      {"oom", kChartGpuMemory},
      {"gpu_memory_pressure", kChartGpuMemory},
      {"memory_fragmentation", kChartGpuMemory},
      {"memory_leak", kChartGpuMemory},
      {"queue_saturation", kChartQueue},
      {"underbatching", kChartQueue},
      {"batch_window_too_long", kChartLatencyStages},
      {"cpu_preprocess_bound", kChartLatencyStages},
      {"transfer_bound", kChartLatencyStages},
      {"postprocess_bound", kChartLatencyStages},
      {"gpu_contention", kChartGpuUtil},
      {"gpu_throttling", kChartGpuUtil},
      {"cold_start", kChartLatencyPercentiles},
      {"error_burst", kChartThroughput},
      {"latency_outliers", kChartLatencyPercentiles},
  };
  for (const auto& [k, chart] : kMap) {
    if (kind == k) return chart;
  }
  return kChartLatencyPercentiles;
}

bool AnalysisCharts::FitAffine(const std::vector<double>& x, const std::vector<double>& y,
                               const std::vector<double>& w, double* a, double* b) {
  double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  double x_min = INFINITY, x_max = -INFINITY;
  const size_t n = std::min({x.size(), y.size(), w.size()});
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || !(w[i] > 0)) continue;
    sw += w[i];
    sx += w[i] * x[i];
    sy += w[i] * y[i];
    sxx += w[i] * x[i] * x[i];
    sxy += w[i] * x[i] * y[i];
    x_min = std::min(x_min, x[i]);
    x_max = std::max(x_max, x[i]);
  }
  if (!(sw > 0) || !(x_max > x_min)) return false;
  const double mx = sx / sw, my = sy / sw;
  const double vxx = sxx / sw - mx * mx;
  if (!(vxx > 0)) return false;
  *b = (sxy / sw - mx * my) / vxx;
  *a = my - *b * mx;
  return true;
}

ChartSet AnalysisCharts::Build(const Json& analysis) {
  ChartSet set;
  const bool monotonic =
      JsonFields::Bool(JsonFields::Object(analysis, "input"), "ts_monotonic", false);
  set.set_time_axis(monotonic ? "relative" : "epoch");
  // A finer series made for charts wins over the analysis windows (span / 60).
  const Json& ts = JsonFields::Object(analysis, "time_series");
  const Json& fine = JsonFields::Array(ts, "chart_windows");
  const Json& windows = fine.empty() ? JsonFields::Array(ts, "windows") : fine;
  const WindowColumns cols(windows);
  std::vector<double> x = cols.Get("start_us", 1e-6);
  double end_s = kNaN;
  for (double e : cols.Get("end_us", 1e-6)) {
    if (std::isfinite(e)) end_s = std::isfinite(end_s) ? std::max(end_s, e) : e;
  }
  AddLatencyStages(cols, x, &set);
  AddPercentiles(cols, x, &set);
  AddThroughput(cols, x, &set);
  AddGpuMemory(cols, x, &set);
  AddGpuUtil(cols, x, &set);
  AddQueue(cols, x, &set);
  AddBatchSizes(analysis, &set);
  AddInferenceVsBatch(analysis, cols, &set);
  AddWhereTimeGoes(analysis, &set);
  AddAlerts(analysis, end_s, &set);
  AddFindingBands(analysis, &set);
  AddWhatIf(analysis, &set);
  return set;
}

}  // namespace yoloscope
