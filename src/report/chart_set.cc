#include "report/chart_set.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "report/chart_downsampler.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

// `v` rounded to `digits` significant digits (so the JSON stays short).
double RoundSignificant(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return v;
  const int exponent = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int shift = digits - 1 - exponent;
  if (shift >= 0) {
    const double p = std::pow(10.0, std::min(shift, 300));
    return std::round(v * p) / p;
  }
  const double p = std::pow(10.0, -shift);
  return std::round(v / p) * p;
}

double RoundDecimals(double v, int decimals) {
  if (!std::isfinite(v)) return v;
  const double p = std::pow(10.0, decimals);
  return std::round(v * p) / p;
}

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// Row order with x ascending (stable), for time and scatter charts.
std::vector<size_t> AscendingOrder(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  if (!std::is_sorted(x.begin(), x.end())) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      // NaN last.
      if (std::isnan(x[a])) return false;
      if (std::isnan(x[b])) return true;
      return x[a] < x[b];
    });
  }
  return order;
}

double At(const std::vector<double>& v, size_t i) { return i < v.size() ? v[i] : std::nan(""); }

// The rows of `chart` to write, in x order.
std::vector<size_t> RowsToWrite(const Chart& chart, const ChartSetOptions& options) {
  const size_t n = chart.x.size();
  const size_t k = std::max<size_t>(chart.series.size(), 1);
  if (chart.kind == "bars") {
    std::vector<size_t> rows(std::min(n, std::max<size_t>(options.max_points_per_chart / k, 1)));
    std::iota(rows.begin(), rows.end(), 0);
    return rows;
  }
  // Work on x-sorted copies so that the downsamplers see ascending x.
  const std::vector<size_t> order = AscendingOrder(chart.x);
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = chart.x[order[i]];
  std::vector<std::vector<double>> values(chart.series.size(), std::vector<double>(n));
  std::vector<const std::vector<double>*> series;
  for (size_t s = 0; s < chart.series.size(); ++s) {
    for (size_t i = 0; i < n; ++i) values[s][i] = At(chart.series[s].values, order[i]);
    series.push_back(&values[s]);
  }
  std::vector<size_t> picked;
  if (chart.kind == "scatter") {
    const size_t per_series = std::max<size_t>(options.max_points_per_chart / k / k, 4);
    for (const auto* s : series) {
      for (size_t r : ChartDownsampler::ScatterRows(x, *s, per_series)) picked.push_back(r);
    }
    std::sort(picked.begin(), picked.end());
    picked.erase(std::unique(picked.begin(), picked.end()), picked.end());
  } else {
    picked =
        ChartDownsampler::TimeRows(x, series, options.max_points_per_chart, options.pixel_buckets);
  }
  for (size_t& r : picked) r = order[r];
  return picked;
}

}  // namespace

const char* SeriesStyleName(SeriesStyle style) {
  switch (style) {
    case SeriesStyle::kLine:
      return "line";
    case SeriesStyle::kArea:
      return "area";
    case SeriesStyle::kDashed:
      return "dashed";
    case SeriesStyle::kPoints:
      return "points";
    case SeriesStyle::kBars:
      return "bars";
    case SeriesStyle::kStep:
      return "step";
  }
  return "line";
}

Chart MakeTimeChart(std::string id, std::string title, std::string y_label, std::vector<double> x,
                    std::string y2_label) {
  Chart c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.y_label = std::move(y_label);
  c.y2_label = std::move(y2_label);
  c.x = std::move(x);
  return c;
}

Chart MakeAxisChart(std::string id, std::string title, std::string kind, std::string x_label,
                    std::string y_label) {
  Chart c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.kind = std::move(kind);
  c.x_label = std::move(x_label);
  c.y_label = std::move(y_label);
  return c;
}

ChartSeries MakeSeries(std::string label, std::string unit, SeriesStyle style,
                       std::vector<double> values, int axis, std::string color) {
  ChartSeries s;
  s.label = std::move(label);
  s.unit = std::move(unit);
  s.style = style;
  s.axis = axis;
  s.color = std::move(color);
  s.values = std::move(values);
  return s;
}

bool AddSeriesIfData(Chart* chart, ChartSeries series) {
  for (double v : series.values) {
    if (std::isfinite(v)) {
      chart->series.push_back(std::move(series));
      return true;
    }
  }
  return false;
}

const char* StageColor(std::string_view stage) {
  static constexpr std::pair<const char*, const char*> kColors[] = {
      {"queue", "#b07aa1"},       {"decode", "#edc948"},    {"preprocess", "#f28e2b"},
      {"h2d", "#76b7b2"},         {"inference", "#4e79a7"}, {"d2h", "#59a14f"},
      {"postprocess", "#ff9da7"}, {"other", "#9c755f"}};
  for (const auto& [name, color] : kColors) {
    if (stage == name) return color;
  }
  return "";
}

bool Chart::HasData() const {
  for (const ChartSeries& s : series) {
    for (double v : s.values) {
      if (std::isfinite(v)) return true;
    }
  }
  return false;
}

Chart& ChartSet::Add(Chart chart) {
  charts_.push_back(std::move(chart));
  return charts_.back();
}

void ChartSet::AddBand(ChartBand band) { bands_.push_back(std::move(band)); }

const Chart* ChartSet::Find(const std::string& id) const {
  for (const Chart& c : charts_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Json ChartSet::ToJson(const ChartSetOptions& options) const {
  Json out = Json::object();
  out["schema"] = "yoloscope.charts.v1";
  out["time_axis"] = time_axis_;
  Json charts = Json::array();
  for (const Chart& c : charts_) {
    const bool time_x = c.kind == "time";
    const std::vector<size_t> rows = RowsToWrite(c, options);
    Json j = Json::object();
    j["id"] = c.id;
    j["title"] = c.title;
    j["kind"] = c.kind;
    j["stacked"] = c.stacked;
    j["x_label"] = c.x_label;
    j["y_label"] = c.y_label;
    j["y2_label"] = c.y2_label;
    j["note"] = c.note;
    Json x = Json::array();
    Json labels = Json::array();
    for (size_t r : rows) {
      const double v = c.x[r];
      x.push_back(Number(time_x ? RoundDecimals(v, options.x_decimals)
                                : RoundSignificant(v, options.significant_digits)));
      if (c.kind == "bars") labels.push_back(r < c.x_labels.size() ? c.x_labels[r] : "");
    }
    j["x"] = std::move(x);
    j["x_labels"] = std::move(labels);
    j["y_labels"] = c.y_labels;
    Json series = Json::array();
    for (const ChartSeries& s : c.series) {
      Json sj = Json::object();
      sj["label"] = s.label;
      sj["unit"] = s.unit;
      sj["style"] = SeriesStyleName(s.style);
      sj["axis"] = s.axis;
      sj["color"] = s.color;
      Json values = Json::array();
      for (size_t r : rows) {
        values.push_back(Number(RoundSignificant(At(s.values, r), options.significant_digits)));
      }
      sj["values"] = std::move(values);
      series.push_back(std::move(sj));
    }
    j["series"] = std::move(series);
    j["rows_in"] = c.x.size();
    j["rows_out"] = rows.size();
    charts.push_back(std::move(j));
  }
  out["charts"] = std::move(charts);
  Json bands = Json::array();
  for (const ChartBand& b : bands_) {
    bands.push_back({{"id", b.id},
                     {"label", b.label},
                     {"kind", b.kind},
                     {"severity", b.severity},
                     {"chart", b.chart},
                     {"start", Number(RoundDecimals(b.start, options.x_decimals))},
                     {"end", Number(RoundDecimals(b.end, options.x_decimals))}});
  }
  out["bands"] = std::move(bands);
  return out;
}

}  // namespace yoloscope
