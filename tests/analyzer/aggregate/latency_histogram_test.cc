#include "analyzer/aggregate/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace yoloscope {
namespace {

double ExactQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<int64_t>(rank, 1, static_cast<int64_t>(v.size()));
  return v[static_cast<size_t>(rank - 1)];
}

void ExpectClose(const LatencyHistogram& h, const std::vector<double>& values, double rel) {
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    const double exact = ExactQuantile(values, q);
    const double got = h.Quantile(q);
    if (exact < 0.001) {
      EXPECT_LE(got, 0.001) << "q=" << q;
    } else {
      EXPECT_NEAR(got, exact, rel * exact) << "q=" << q;
    }
  }
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZeros) {
  LatencyHistogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Quantile(0.5), 0.0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.FractionAtOrBelow(10), 0.0);
}

TEST(LatencyHistogramTest, FinePrecisionWithinOnePercentOfExactPercentiles) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> latency(std::log(25.0), 1.2);  // ms, wide spread.
  std::vector<double> values;
  LatencyHistogram h;
  for (int i = 0; i < 200000; ++i) {
    const double v = latency(rng);
    values.push_back(v);
    h.Record(v);
  }
  ExpectClose(h, values, 0.004);  // <= 0.39% by construction.
  EXPECT_EQ(h.count(), 200000);
  EXPECT_DOUBLE_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_DOUBLE_EQ(h.min(), *std::min_element(values.begin(), values.end()));
}

TEST(LatencyHistogramTest, CoversOneMicrosecondToOneHour) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> exp10(-3.0, std::log10(3.6e6));  // 1 us .. 1 h in ms.
  std::vector<double> values;
  LatencyHistogram h;
  for (int i = 0; i < 50000; ++i) {
    const double v = std::pow(10.0, exp10(rng));
    values.push_back(v);
    h.Record(v);
  }
  ExpectClose(h, values, 0.01);
}

TEST(LatencyHistogramTest, CoarsePrecisionWithinItsBound) {
  std::mt19937 rng(5);
  std::gamma_distribution<double> latency(2.0, 10.0);
  std::vector<double> values;
  LatencyHistogram h(LatencyHistogram::kCoarseBits);
  for (int i = 0; i < 20000; ++i) {
    const double v = latency(rng) + 0.5;
    values.push_back(v);
    h.Record(v);
  }
  ExpectClose(h, values, 0.032);
}

TEST(LatencyHistogramTest, MergeEqualsSingleHistogram) {
  std::mt19937 rng(11);
  std::exponential_distribution<double> latency(0.05);
  LatencyHistogram all, a, b;
  for (int i = 0; i < 30000; ++i) {
    const double v = latency(rng);
    all.Record(v);
    (i % 3 == 0 ? a : b).Record(v);
  }
  // Make b's range start below a's so that Merge has to grow on both ends.
  b.Record(0.0001);
  all.Record(0.0001);
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_DOUBLE_EQ(a.min(), all.min());
  EXPECT_DOUBLE_EQ(a.max(), all.max());
  EXPECT_NEAR(a.sum(), all.sum(), 1e-6 * all.sum());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) EXPECT_DOUBLE_EQ(a.Quantile(q), all.Quantile(q));
}

TEST(LatencyHistogramTest, MergeAcrossPrecisions) {
  LatencyHistogram fine, coarse(LatencyHistogram::kCoarseBits);
  for (int i = 1; i <= 1000; ++i) coarse.Record(i);
  fine.Merge(coarse);
  EXPECT_EQ(fine.count(), 1000);
  EXPECT_NEAR(fine.Quantile(0.5), 500, 500 * 0.035);
  EXPECT_DOUBLE_EQ(fine.max(), 1000);
}

TEST(LatencyHistogramTest, IgnoresInvalidValuesAndClampsExtremes) {
  LatencyHistogram h;
  h.Record(-1);
  h.Record(std::numeric_limits<double>::quiet_NaN());
  h.Record(std::numeric_limits<double>::infinity());
  EXPECT_TRUE(h.empty());
  h.Record(0.0);
  h.Record(1e10);  // ~116 days in ms: the top bucket, max stays exact.
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.Quantile(0.0), 0.0);
  EXPECT_EQ(h.Quantile(1.0), 1e10);
  EXPECT_EQ(h.BucketIndex(0.0), 0);
  EXPECT_EQ(h.BucketIndex(1e12), h.BucketIndex(1e10));
}

TEST(LatencyHistogramTest, BucketMidpointsWithinHalfBucket) {
  LatencyHistogram h;
  for (double v : {0.001, 0.0123, 1.0, 7.77, 123.4, 9999.0, 3.6e6}) {
    const double mid = h.BucketMidpoint(h.BucketIndex(v));
    EXPECT_NEAR(mid, v, v / 256.0 + 1e-12) << v;
  }
}

TEST(LatencyHistogramTest, FractionAtOrBelow) {
  LatencyHistogram h;
  for (int i = 1; i <= 100; ++i) h.Record(i);
  EXPECT_NEAR(h.FractionAtOrBelow(50), 0.5, 0.011);
  EXPECT_EQ(h.FractionAtOrBelow(1000), 1.0);
  EXPECT_EQ(h.FractionAtOrBelow(0.5), 0.0);
}

}  // namespace
}  // namespace yoloscope
