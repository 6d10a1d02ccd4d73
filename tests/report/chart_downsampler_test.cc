#include "report/chart_downsampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

namespace yoloscope {
namespace {

const double kNaN = std::nan("");

std::vector<double> Range(size_t n) {
  std::vector<double> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<double>(i);
  return x;
}

TEST(ChartDownsamplerTest, KeepsSpikesAndDipsOfOneRow) {
  const size_t n = 1'000'000;
  std::vector<double> x = Range(n), y(n);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(10, 1);
  for (size_t i = 0; i < n; ++i) y[i] = noise(rng);
  const std::set<size_t> spikes = {3, 123'457, 500'000, 999'998};
  for (size_t i : spikes) y[i] = 1000;  // one-row spikes
  y[777'777] = -500;                    // one-row dip
  for (size_t buckets : {1, 7, 100, 2000}) {
    const std::vector<size_t> rows = ChartDownsampler::MinMaxRows(x, {&y}, buckets);
    const std::set<size_t> kept(rows.begin(), rows.end());
    // A spike is kept whenever no higher one shares its bucket (always at 100+
    // buckets here); the global maximum and minimum always.
    if (buckets >= 100) {
      for (size_t i : spikes) EXPECT_TRUE(kept.count(i)) << "spike " << i << " lost at " << buckets;
    }
    bool a_spike = false;
    for (size_t i : spikes) a_spike = a_spike || kept.count(i);
    EXPECT_TRUE(a_spike) << buckets;
    EXPECT_TRUE(kept.count(777'777)) << buckets;
    EXPECT_TRUE(kept.count(0));
    EXPECT_TRUE(kept.count(n - 1));
    EXPECT_LE(rows.size(), 3 * buckets + 2);
    EXPECT_TRUE(std::is_sorted(rows.begin(), rows.end()));
  }
}

TEST(ChartDownsamplerTest, EachSeriesKeepsItsOwnExtremesPerBucket) {
  std::vector<double> x = Range(100), a(100, 1.0), b(100, 5.0);
  a[10] = 9;   // bucket 0 of 2
  b[20] = -9;  // bucket 0
  a[60] = -3;  // bucket 1
  b[90] = 50;  // bucket 1
  const std::vector<size_t> rows = ChartDownsampler::MinMaxRows(x, {&a, &b}, 2);
  const std::set<size_t> kept(rows.begin(), rows.end());
  for (size_t i : {10, 20, 60, 90}) EXPECT_TRUE(kept.count(i)) << i;
}

TEST(ChartDownsamplerTest, KeepsGapsSoLinesDoNotBridgeMissingData) {
  std::vector<double> x = Range(10'000), y(10'000, 1.0);
  for (size_t i = 4000; i < 6000; ++i) y[i] = kNaN;
  const std::vector<size_t> rows = ChartDownsampler::MinMaxRows(x, {&y}, 10);
  bool gap = false;
  for (size_t r : rows) gap = gap || std::isnan(y[r]);
  EXPECT_TRUE(gap);
}

TEST(ChartDownsamplerTest, TimeRowsRespectsThePointCap) {
  const size_t n = 2'000'000;
  std::vector<double> x = Range(n);
  std::vector<std::vector<double>> series(6, std::vector<double>(n));
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0, 100);
  for (auto& s : series) {
    for (double& v : s) v = u(rng);
  }
  std::vector<const std::vector<double>*> ptrs;
  for (const auto& s : series) ptrs.push_back(&s);
  const size_t cap = 50'000;
  const std::vector<size_t> rows = ChartDownsampler::TimeRows(x, ptrs, cap, 2000);
  EXPECT_LE(rows.size() * series.size(), cap);
  EXPECT_GT(rows.size() * series.size(), cap / 8) << "should use most of the budget";
  // The global extremes of every series survive.
  for (const auto& s : series) {
    const size_t imax = static_cast<size_t>(std::max_element(s.begin(), s.end()) - s.begin());
    const size_t imin = static_cast<size_t>(std::min_element(s.begin(), s.end()) - s.begin());
    EXPECT_TRUE(std::binary_search(rows.begin(), rows.end(), imax));
    EXPECT_TRUE(std::binary_search(rows.begin(), rows.end(), imin));
  }
}

TEST(ChartDownsamplerTest, SmallChartsAreNotTouched) {
  std::vector<double> x = Range(500), y(500, 2.0);
  const std::vector<size_t> rows = ChartDownsampler::TimeRows(x, {&y}, 50'000, 2000);
  EXPECT_EQ(rows.size(), 500u);
}

TEST(ChartDownsamplerTest, DropsRowsWithoutFiniteX) {
  std::vector<double> x = {0, kNaN, 2, INFINITY, 4};
  std::vector<double> y = {1, 2, 3, 4, 5};
  const std::vector<size_t> rows = ChartDownsampler::TimeRows(x, {&y}, 50'000, 2000);
  EXPECT_EQ(rows, (std::vector<size_t>{0, 2, 4}));
  EXPECT_TRUE(ChartDownsampler::MinMaxRows({kNaN}, {&y}, 4).empty());
}

TEST(ChartDownsamplerTest, TinyCapStillReturnsFirstAndLast) {
  std::vector<double> x = Range(1000);
  std::vector<std::vector<double>> series(20, std::vector<double>(1000, 1.0));
  std::vector<const std::vector<double>*> ptrs;
  for (const auto& s : series) ptrs.push_back(&s);
  const std::vector<size_t> rows = ChartDownsampler::TimeRows(x, ptrs, 40, 2000);
  EXPECT_LE(rows.size(), 2u);
  EXPECT_EQ(rows.back(), 999u);
}

TEST(ChartDownsamplerTest, ScatterKeepsColumnExtremesUnderTheCap) {
  const size_t n = 300'000;
  std::vector<double> x(n), y(n);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> batch(1, 32);
  std::normal_distribution<double> noise(0, 0.5);
  for (size_t i = 0; i < n; ++i) {
    x[i] = batch(rng);
    y[i] = 1.5 + 0.2 * x[i] + noise(rng);
  }
  y[12345] = 400;  // an outlier must survive
  y[54321] = -50;
  y[999] = kNaN;
  const size_t cap = 20'000;
  const std::vector<size_t> rows = ChartDownsampler::ScatterRows(x, y, cap);
  EXPECT_LE(rows.size(), cap);
  EXPECT_TRUE(std::binary_search(rows.begin(), rows.end(), 12345u));
  EXPECT_TRUE(std::binary_search(rows.begin(), rows.end(), 54321u));
  EXPECT_FALSE(std::binary_search(rows.begin(), rows.end(), 999u));
  // Every batch size still has points.
  std::set<double> columns;
  for (size_t r : rows) columns.insert(x[r]);
  EXPECT_EQ(columns.size(), 32u);
}

}  // namespace
}  // namespace yoloscope
