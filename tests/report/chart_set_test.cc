#include "report/chart_set.h"

#include <gtest/gtest.h>

#include <cmath>

namespace yoloscope {
namespace {

const double kNaN = std::nan("");

TEST(ChartSetTest, JsonHasTheDocumentedShape) {
  ChartSet set;
  Chart& c = set.Add(Chart{});
  c.id = "latency_percentiles";
  c.title = "Latency";
  c.x = {1767225600.1234567, 1767225601.0, 1767225602.0};
  ChartSeries s;
  s.label = "p99";
  s.unit = "ms";
  s.style = SeriesStyle::kDashed;
  s.axis = 1;
  s.values = {12.345678, kNaN, 0.000123456};
  c.series.push_back(s);
  set.AddBand({"alert-0", "gpu_memory_high", "alert", "critical", "", 1767225600.5, 1767225601.5});
  const nlohmann::json j = set.ToJson(ChartSetOptions{});
  EXPECT_EQ(j["schema"], "yoloscope.charts.v1");
  EXPECT_EQ(j["time_axis"], "epoch");
  ASSERT_EQ(j["charts"].size(), 1u);
  const auto& cj = j["charts"][0];
  EXPECT_EQ(cj["id"], "latency_percentiles");
  EXPECT_EQ(cj["kind"], "time");
  EXPECT_DOUBLE_EQ(cj["x"][0].get<double>(), 1767225600.123);            // ms resolution
  EXPECT_DOUBLE_EQ(cj["series"][0]["values"][0].get<double>(), 12.346);  // 5 digits
  EXPECT_TRUE(cj["series"][0]["values"][1].is_null());                   // NaN -> null
  EXPECT_DOUBLE_EQ(cj["series"][0]["values"][2].get<double>(), 0.00012346);
  EXPECT_EQ(cj["series"][0]["style"], "dashed");
  EXPECT_EQ(cj["series"][0]["axis"], 1);
  EXPECT_EQ(cj["rows_in"], 3);
  EXPECT_EQ(cj["rows_out"], 3);
  ASSERT_EQ(j["bands"].size(), 1u);
  EXPECT_EQ(j["bands"][0]["severity"], "critical");
  EXPECT_DOUBLE_EQ(j["bands"][0]["start"].get<double>(), 1767225600.5);
}

TEST(ChartSetTest, EveryChartStaysUnderThePointCap) {
  ChartSet set;
  Chart& t = set.Add(Chart{});
  t.id = "t";
  const size_t n = 3'000'000;
  for (size_t i = 0; i < n; ++i) t.x.push_back(1.7e9 + static_cast<double>(i) * 0.01);
  for (int k = 0; k < 4; ++k) {
    ChartSeries s;
    s.label = "s" + std::to_string(k);
    s.values.resize(n);
    for (size_t i = 0; i < n; ++i) s.values[i] = std::sin(static_cast<double>(i + k) * 1e-3);
    t.series.push_back(std::move(s));
  }
  t.series[2].values[1'234'567] = 99;  // a spike
  Chart& sc = set.Add(Chart{});
  sc.id = "s";
  sc.kind = "scatter";
  ChartSeries pts;
  for (size_t i = 0; i < 400'000; ++i) {
    sc.x.push_back(static_cast<double>(i % 16 + 1));
    pts.values.push_back(static_cast<double>(i % 977));
  }
  sc.series.push_back(pts);
  ChartSetOptions opts;
  opts.max_points_per_chart = 50'000;
  const nlohmann::json j = set.ToJson(opts);
  for (const auto& c : j["charts"]) {
    const size_t rows = c["x"].size();
    EXPECT_LE(rows * c["series"].size(), 50'000u) << c["id"];
    for (const auto& s : c["series"]) EXPECT_EQ(s["values"].size(), rows);
  }
  bool spike = false;
  for (const auto& v : j["charts"][0]["series"][2]["values"]) {
    spike = spike || (v.is_number() && v.get<double>() == 99);
  }
  EXPECT_TRUE(spike);
  // Scatter x comes out ascending (uPlot needs it).
  const auto& sx = j["charts"][1]["x"];
  for (size_t i = 1; i < sx.size(); ++i) EXPECT_LE(sx[i - 1].get<double>(), sx[i].get<double>());
}

TEST(ChartSetTest, UnsortedTimeRowsAreSorted) {
  ChartSet set;
  Chart& c = set.Add(Chart{});
  c.id = "t";
  c.x = {3, 1, 2};
  c.series.push_back({"a", "", SeriesStyle::kLine, 0, "", {30, 10, 20}});
  const nlohmann::json j = set.ToJson({});
  EXPECT_EQ(j["charts"][0]["x"], nlohmann::json::array({1, 2, 3}));
  EXPECT_EQ(j["charts"][0]["series"][0]["values"], nlohmann::json::array({10, 20, 30}));
}

TEST(ChartSetTest, HasData) {
  Chart c;
  EXPECT_FALSE(c.HasData());
  c.series.push_back({"a", "", SeriesStyle::kLine, 0, "", {kNaN, kNaN}});
  EXPECT_FALSE(c.HasData());
  c.series.push_back({"b", "", SeriesStyle::kLine, 0, "", {kNaN, 0.0}});
  EXPECT_TRUE(c.HasData());
}

}  // namespace
}  // namespace yoloscope
