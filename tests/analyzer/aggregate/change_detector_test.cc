#include "analyzer/aggregate/change_detector.h"

#include <gtest/gtest.h>

#include <random>

namespace yoloscope {
namespace {

std::vector<std::optional<double>> Noise(size_t n, double level, double sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(level, sigma);
  std::vector<std::optional<double>> v;
  for (size_t i = 0; i < n; ++i) v.push_back(d(rng));
  return v;
}

TEST(ChangeDetectorTest, FindsASpike) {
  auto v = Noise(60, 50, 2, 1);
  v[30] = 200;
  v[31] = 180;
  const auto spikes = ChangeDetector::FindSpikes(v);
  ASSERT_EQ(spikes.size(), 1u);
  EXPECT_EQ(spikes[0].begin, 30u);
  EXPECT_EQ(spikes[0].end, 32u);
  EXPECT_DOUBLE_EQ(spikes[0].peak, 200);
}

TEST(ChangeDetectorTest, NoSpikeInNoise) {
  for (uint32_t seed = 1; seed < 20; ++seed) {
    EXPECT_TRUE(ChangeDetector::FindSpikes(Noise(60, 50, 3, seed)).empty()) << seed;
  }
}

TEST(ChangeDetectorTest, ConstantSeriesHasNoSpikeForTinyWiggles) {
  std::vector<std::optional<double>> v(40, 10.0);
  v[5] = 10.2;
  EXPECT_TRUE(ChangeDetector::FindSpikes(v).empty());
}

TEST(ChangeDetectorTest, FindsALevelShift) {
  auto v = Noise(40, 20, 1, 2);
  for (size_t i = 25; i < 40; ++i) *v[i] += 15;
  const auto shift = ChangeDetector::FindLevelShift(v);
  ASSERT_TRUE(shift.has_value());
  EXPECT_NEAR(static_cast<double>(shift->at), 25, 1);
  EXPECT_NEAR(shift->before, 20, 1);
  EXPECT_NEAR(shift->after, 35, 1);
}

TEST(ChangeDetectorTest, NoLevelShiftInNoise) {
  for (uint32_t seed = 1; seed < 20; ++seed) {
    EXPECT_FALSE(ChangeDetector::FindLevelShift(Noise(60, 20, 2, seed)).has_value()) << seed;
  }
}

TEST(ChangeDetectorTest, SkipsMissingWindows) {
  std::vector<std::optional<double>> v = Noise(30, 10, 0.5, 3);
  v[3] = std::nullopt;
  v[10] = std::nullopt;
  v[20] = 100;
  const auto spikes = ChangeDetector::FindSpikes(v);
  ASSERT_EQ(spikes.size(), 1u);
  EXPECT_EQ(spikes[0].begin, 20u);
}

TEST(ChangeDetectorTest, TrendFit) {
  std::vector<double> x, y;
  for (int i = 0; i < 10; ++i) {
    x.push_back(i);
    y.push_back(3.0 * i + 5);
  }
  const auto t = ChangeDetector::FitTrend(x, y);
  EXPECT_NEAR(t.slope, 3.0, 1e-9);
  EXPECT_NEAR(t.intercept, 5.0, 1e-9);
  EXPECT_NEAR(t.r2, 1.0, 1e-9);
}

TEST(ChangeDetectorTest, MedianAndMad) {
  EXPECT_DOUBLE_EQ(ChangeDetector::Median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(ChangeDetector::Median({4, 1, 2, 3}), 2.5);
  EXPECT_DOUBLE_EQ(ChangeDetector::Median({}), 0);
  EXPECT_DOUBLE_EQ(ChangeDetector::Mad({1, 2, 3, 4, 100}, 3), 1);
}

}  // namespace
}  // namespace yoloscope
