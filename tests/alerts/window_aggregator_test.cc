#include "alerts/window_aggregator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "alerts/test_records.h"

namespace yoloscope {
namespace {

using testing::kSecond;
using testing::kT0;

double Eval(const WindowAggregator& w, const char* aggregation, int64_t now_us) {
  double q = 0;
  const Aggregation a = *ParseAggregationName(aggregation, &q);
  return w.Evaluate(a, q, now_us);
}

TEST(WindowAggregatorTest, EveryAggregation) {
  WindowAggregator w(10, /*keep_quantiles=*/true);
  // 1..100 spread over seconds 0..9 (10 per second, in shuffled order).
  std::vector<int> values(100);
  for (int i = 0; i < 100; ++i) values[i] = i + 1;
  std::shuffle(values.begin(), values.end(), std::mt19937(7));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(w.Add(kT0 + (i / 10) * kSecond + (i % 10) * 1000, values[i]));
  }
  const int64_t now = kT0 + 10 * kSecond;
  EXPECT_DOUBLE_EQ(Eval(w, "mean", now), 50.5);
  EXPECT_DOUBLE_EQ(Eval(w, "sum", now), 5050);
  EXPECT_DOUBLE_EQ(Eval(w, "count", now), 100);
  EXPECT_DOUBLE_EQ(Eval(w, "rate", now), 505);  // sum per second of window
  EXPECT_DOUBLE_EQ(Eval(w, "max", now), 100);
  EXPECT_DOUBLE_EQ(Eval(w, "min", now), 1);
  EXPECT_DOUBLE_EQ(Eval(w, "last", now), values[99]);  // latest event time
  EXPECT_NEAR(Eval(w, "p50", now), 50, 0.5);
  EXPECT_NEAR(Eval(w, "p90", now), 90, 0.9);
  EXPECT_NEAR(Eval(w, "p99", now), 99, 0.99);
  EXPECT_DOUBLE_EQ(Eval(w, "p100", now), 100);
}

TEST(WindowAggregatorTest, QuantilesWithinOnePercent) {
  WindowAggregator w(60, true);
  std::mt19937 rng(1);
  std::lognormal_distribution<double> dist(3.0, 1.0);
  std::vector<double> all;
  for (int i = 0; i < 20000; ++i) {
    const double v = dist(rng);
    all.push_back(v);
    w.Add(kT0 + (i % 60) * kSecond, v);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = all[static_cast<size_t>(std::ceil(q * all.size())) - 1];
    EXPECT_NEAR(w.Evaluate(Aggregation::kQuantile, q, kT0 + 60 * kSecond), exact, exact * 0.01)
        << "q=" << q;
  }
}

TEST(WindowAggregatorTest, ZeroAndNegativeValues) {
  WindowAggregator w(5, true);
  for (double v : {-3.0, 0.0, 0.0, 2.0}) w.Add(kT0, v);
  const int64_t now = kT0 + kSecond;
  EXPECT_DOUBLE_EQ(Eval(w, "min", now), -3);
  EXPECT_DOUBLE_EQ(Eval(w, "p50", now), -3);  // the non-positive bin reads as the minimum
  EXPECT_NEAR(Eval(w, "p99", now), 2, 0.02);
  EXPECT_DOUBLE_EQ(Eval(w, "mean", now), -0.25);
}

TEST(WindowAggregatorTest, SamplesLeaveTheWindow) {
  WindowAggregator w(5, false);
  for (int s = 0; s < 10; ++s) w.Add(kT0 + s * kSecond + 500'000, s);
  // At a second boundary the window is exactly the last 5 seconds: 5..9.
  EXPECT_DOUBLE_EQ(Eval(w, "count", kT0 + 10 * kSecond), 5);
  EXPECT_DOUBLE_EQ(Eval(w, "mean", kT0 + 10 * kSecond), 7);
  EXPECT_DOUBLE_EQ(Eval(w, "min", kT0 + 10 * kSecond), 5);
  // Samples at or after `now` wait for a later evaluation.
  EXPECT_DOUBLE_EQ(Eval(w, "max", kT0 + 8 * kSecond), 7);
  // Two seconds later 5 and 6 have left and nothing new came.
  EXPECT_DOUBLE_EQ(Eval(w, "count", kT0 + 12 * kSecond), 3);
  EXPECT_FALSE(w.EmptyAt(kT0 + 14 * kSecond));
  EXPECT_TRUE(w.EmptyAt(kT0 + 15 * kSecond));
  // An empty window: counts are 0, the rest undefined.
  EXPECT_DOUBLE_EQ(Eval(w, "count", kT0 + 20 * kSecond), 0);
  EXPECT_DOUBLE_EQ(Eval(w, "sum", kT0 + 20 * kSecond), 0);
  EXPECT_DOUBLE_EQ(Eval(w, "rate", kT0 + 20 * kSecond), 0);
  EXPECT_TRUE(std::isnan(Eval(w, "mean", kT0 + 20 * kSecond)));
  EXPECT_TRUE(std::isnan(Eval(w, "max", kT0 + 20 * kSecond)));
  EXPECT_TRUE(std::isnan(Eval(w, "last", kT0 + 20 * kSecond)));
}

TEST(WindowAggregatorTest, LateSamplesCountUntilTheirSecondLeavesTheRing) {
  WindowAggregator w(5, false);
  ASSERT_TRUE(w.Add(kT0 + 10 * kSecond, 1));
  EXPECT_TRUE(w.Add(kT0 + 6 * kSecond, 2));   // within the ring: kept
  EXPECT_FALSE(w.Add(kT0 + 5 * kSecond, 3));  // 5 s older than the newest: dropped
  EXPECT_DOUBLE_EQ(Eval(w, "sum", kT0 + 11 * kSecond), 3);
  // A newer second reuses the slot of an old one.
  EXPECT_TRUE(w.Add(kT0 + 11 * kSecond, 10));  // slot of second 6
  EXPECT_DOUBLE_EQ(Eval(w, "sum", kT0 + 12 * kSecond), 11);
}

TEST(WindowAggregatorTest, UnalignedNowIncludesThePartialSecond) {
  WindowAggregator w(3, false);
  w.Add(kT0 + 1 * kSecond, 1);
  w.Add(kT0 + 3 * kSecond + 100'000, 2);
  // now = 3.5 s: end second 4, window seconds 1..3.
  EXPECT_DOUBLE_EQ(Eval(w, "sum", kT0 + 3 * kSecond + 500'000), 3);
}

TEST(WindowAggregatorTest, BucketsMergeLikeSamples) {
  BucketStats a, b, all;
  for (int i = 0; i < 50; ++i) {
    a.Add(kT0 + i, i * 1.5, true);
    all.Add(kT0 + i, i * 1.5, true);
  }
  for (int i = 50; i < 80; ++i) {
    b.Add(kT0 + i, i * 0.5, true);
    all.Add(kT0 + i, i * 0.5, true);
  }
  a.Merge(b);
  EXPECT_EQ(a.count, all.count);
  EXPECT_DOUBLE_EQ(a.sum, all.sum);
  EXPECT_DOUBLE_EQ(a.min, all.min);
  EXPECT_DOUBLE_EQ(a.max, all.max);
  EXPECT_DOUBLE_EQ(a.last, all.last);
  EXPECT_EQ(a.bins, all.bins);

  WindowAggregator w(10, true);
  w.AddBucket(WindowAggregator::SecondOf(kT0), a);
  EXPECT_DOUBLE_EQ(Eval(w, "count", kT0 + kSecond), 80);
}

TEST(WindowAggregatorTest, BinsAreMonotonicAndTight) {
  int prev = 0;
  for (double v = 0.0005; v < 1e9; v *= 1.013) {
    const int bin = QuantileBin(v);
    EXPECT_GE(bin, prev);
    prev = bin;
    if (v > 0.002 && v < 7e9) {
      EXPECT_NEAR(QuantileBinValue(bin), v, v * 0.0101) << v;
    }
  }
  EXPECT_EQ(QuantileBin(0), 0);
  EXPECT_EQ(QuantileBin(-1), 0);
  EXPECT_LT(QuantileBin(1e30), kNumQuantileBins);
}

// Quantiles come from a histogram carried from one evaluation to the next;
// they must equal the histogram summed afresh, whatever comes in between:
// late samples, merged buckets, reused slots, skipped seconds, jumps ahead
// and back. A copy evaluated first far in the past has to start over.
TEST(WindowAggregatorTest, CarriedQuantilesEqualFreshOnes) {
  std::mt19937 rng(16);
  auto bits = [](double v) {
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(b));
    return b;
  };
  for (const int64_t window_s : {1, 7, 60}) {
    WindowAggregator w(window_s, /*keep_quantiles=*/true, /*ring_slack_s=*/3);
    std::lognormal_distribution<double> value(2.0, 1.5);
    int64_t now_s = 0;
    for (int step = 0; step < 3000; ++step) {
      const int adds = static_cast<int>(rng() % 6);
      for (int i = 0; i < adds; ++i) {
        // Mostly around the current second, sometimes late, or far ahead
        // (reusing the slots of seconds still in the carried window).
        const int64_t s = rng() % 20 == 0
                              ? now_s + static_cast<int64_t>(rng() % (window_s + 10))
                              : now_s - static_cast<int64_t>(rng() % (window_s + 6)) + 2;
        const int64_t t = kT0 + s * kSecond + static_cast<int64_t>(rng() % 1'000'000);
        if (rng() % 5 == 0) {
          BucketStats b;
          for (int k = static_cast<int>(rng() % 4); k >= 0; --k) b.Add(t, value(rng), true);
          w.AddBucket(WindowAggregator::SecondOf(t), b);
        } else {
          w.Add(t, rng() % 50 == 0 ? 0.0 : value(rng));
        }
      }
      const int move = static_cast<int>(rng() % 100);
      now_s += move < 80 ? 1 : move < 90 ? 0 : move < 95 ? window_s + 5 : -2;
      const int64_t now_us = kT0 + now_s * kSecond + (rng() % 3 == 0 ? 250'000 : 0);
      for (const char* q : {"p50", "p99"}) {
        const double carried = Eval(w, q, now_us);
        WindowAggregator fresh = w;
        Eval(fresh, q, kT0 - 1000 * kSecond);  // start over
        const double expected = Eval(fresh, q, now_us);
        ASSERT_EQ(bits(carried), bits(expected)) << "window " << window_s << " step " << step << " "
                                                 << q << ": " << carried << " vs " << expected;
      }
    }
  }
}

}  // namespace
}  // namespace yoloscope
