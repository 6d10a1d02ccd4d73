// ChartSet: the charts of a report or of the live page as plain data, and
// their JSON form ("yoloscope.charts.v1") that web/src/report.js draws with
// uPlot. The HTML report (from an analysis) and the live page (from the
// server's ring buffer) both build a ChartSet, so one renderer serves both.
//
// JSON form (ToJson):
//   {"schema": "yoloscope.charts.v1",
//    "time_axis": "epoch" | "relative",   // x of time charts: Unix seconds, or
//                                         // seconds from the log's start
//    "charts": [ {"id", "title", "kind": "time"|"bars"|"scatter", "stacked",
//                 "x_label", "y_label", "y2_label", "note",
//                 "x": [...], "x_labels": [...],        // x_labels: bars only
//                 "y_labels": [...],                    // names of y = 1, 2, ...
//                 "series": [ {"label", "unit", "style", "axis", "color",
//                              "values": [...]} ],        // null = no value
//                 "rows_in": N, "rows_out": M} ],        // before / after downsampling
//    "bands": [ {"id", "label", "kind": "alert"|"finding", "severity",
//                "chart", "start", "end"} ]}            // seconds, like x
//
// Downsampling (per chart, in ToJson): time charts keep, for every pixel
// bucket of x, the rows holding each series' minimum and maximum (and the
// first and last row), so spikes survive; scatter charts keep one point per
// grid cell plus each column's extremes. Either way a chart has at most
// `max_points_per_chart` values (rows x series). Values are rounded to
// `significant_digits`, x to `x_decimals`, to keep the page small.
//
// Plain value types; not synchronized.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace yoloscope {

// Chart ids shared by the report, the live page and the finding links.
inline constexpr char kChartLatencyStages[] = "latency_stages";
inline constexpr char kChartLatencyPercentiles[] = "latency_percentiles";
inline constexpr char kChartThroughput[] = "throughput";
inline constexpr char kChartGpuMemory[] = "gpu_memory";
inline constexpr char kChartGpuUtil[] = "gpu_util";
inline constexpr char kChartQueue[] = "queue";
inline constexpr char kChartBatchSizes[] = "batch_sizes";
inline constexpr char kChartInferenceVsBatch[] = "inference_vs_batch";
inline constexpr char kChartWhereTimeGoes[] = "where_time_goes";
inline constexpr char kChartAlerts[] = "alerts";
// The what-if panel (`analyze --what-if ... --html`): settings side by side.
inline constexpr char kChartWhatIfLatency[] = "what_if_latency";
inline constexpr char kChartWhatIfThroughput[] = "what_if_throughput";
inline constexpr char kChartWhatIfDistribution[] = "what_if_distribution";

enum class SeriesStyle { kLine, kArea, kDashed, kPoints, kBars, kStep };

// "line", "area", "dashed", "points", "bars", "step".
const char* SeriesStyleName(SeriesStyle style);

// The colour of a pipeline stage ("queue", "decode", "preprocess", "h2d",
// "inference", "d2h", "postprocess", "other") in every chart; "" for others.
const char* StageColor(std::string_view stage);

struct ChartSeries {
  std::string label;
  std::string unit;  // "ms", "MB", "%", "req/s", "" ...
  SeriesStyle style = SeriesStyle::kLine;
  int axis = 0;                // 0: left y axis, 1: right y axis.
  std::string color;           // CSS colour; "" = the renderer's palette.
  std::vector<double> values;  // One per x; NaN = no value (a gap).
};

struct Chart {
  std::string id;
  std::string title;
  std::string kind = "time";  // "time", "bars" or "scatter".
  bool stacked = false;       // time charts: series drawn cumulatively.
  std::string x_label, y_label, y2_label;
  std::string note;                   // Shown under the title, e.g. what is missing from the log.
  std::vector<double> x;              // Time charts: seconds (see time_axis).
  std::vector<std::string> x_labels;  // Bars: one label per x.
  std::vector<std::string> y_labels;  // When set, y = 1, 2, ... are drawn as these names.
  std::vector<ChartSeries> series;

  // True when some series has a finite value.
  bool HasData() const;
};

// A time chart (kind "time") over `x` (seconds), for the report and the live page.
Chart MakeTimeChart(std::string id, std::string title, std::string y_label, std::vector<double> x,
                    std::string y2_label = "");

// A "bars" or "scatter" chart with labelled axes; x and series are added by the caller.
Chart MakeAxisChart(std::string id, std::string title, std::string kind, std::string x_label,
                    std::string y_label);

// A series with the given fields (shared by the report and the live page).
ChartSeries MakeSeries(std::string label, std::string unit, SeriesStyle style,
                       std::vector<double> values, int axis = 0, std::string color = "");

// Appends `series` to `chart` when it has at least one finite value; returns
// whether it did (a series of only gaps would draw nothing).
bool AddSeriesIfData(Chart* chart, ChartSeries series);

// A highlighted time range: an alert firing, or a finding's time range.
struct ChartBand {
  std::string id;  // "alert-3", "finding-0-1", ...
  std::string label;
  std::string kind;           // "alert" or "finding".
  std::string severity;       // "critical", "warning", "info" (colours the band).
  std::string chart;          // The chart it belongs to; "" = every time chart.
  double start = 0, end = 0;  // Seconds, in the charts' time axis.
};

struct ChartSetOptions {
  size_t max_points_per_chart = 50'000;  // rows x series, after downsampling.
  size_t pixel_buckets = 2'000;          // x buckets of a time chart (about its width in px).
  int significant_digits = 5;            // y values.
  int x_decimals = 3;                    // time x values (ms resolution in seconds).
};

class ChartSet {
 public:
  // Appends `chart` (ids should be unique) and returns it for filling in.
  Chart& Add(Chart chart);
  void AddBand(ChartBand band);
  // "epoch" (default) or "relative".
  void set_time_axis(std::string axis) { time_axis_ = std::move(axis); }
  const std::string& time_axis() const { return time_axis_; }

  const std::vector<Chart>& charts() const { return charts_; }
  const std::vector<ChartBand>& bands() const { return bands_; }
  // The chart with `id`, or nullptr.
  const Chart* Find(const std::string& id) const;

  // The JSON form, downsampled per `options`. Never throws.
  nlohmann::json ToJson(const ChartSetOptions& options) const;

 private:
  std::string time_axis_ = "epoch";
  std::vector<Chart> charts_;
  std::vector<ChartBand> bands_;
};

}  // namespace yoloscope
