#include "whatif/batch_latency_fit.h"

#include <gtest/gtest.h>

#include <random>

namespace yoloscope {
namespace {

// Batches of size b take 1000 + 500 b us, with a +-10% spread.
std::map<int, std::vector<double>> LinearSamples(std::vector<int> sizes, int per_size = 21) {
  std::map<int, std::vector<double>> out;
  for (int b : sizes) {
    for (int i = 0; i < per_size; ++i) {
      const double rel = 0.9 + 0.2 * i / (per_size - 1);  // 0.9 .. 1.1, median 1.0
      out[b].push_back((1000 + 500 * b) * rel);
    }
  }
  return out;
}

TEST(BatchLatencyFitTest, MedianAndSpreadPerObservedSize) {
  auto fit = BatchLatencyFit::Create(LinearSamples({1, 2, 4}));
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  ASSERT_EQ(fit->observed().size(), 3u);
  const ObservedBatchSize& b4 = fit->observed()[2];
  EXPECT_EQ(b4.batch_size, 4);
  EXPECT_EQ(b4.batches, 21);
  EXPECT_NEAR(b4.median_us, 3000, 1e-6);
  EXPECT_NEAR(b4.p10_us, 3000 * 0.92, 1e-6);
  EXPECT_NEAR(b4.p90_us, 3000 * 1.08, 1e-6);
  EXPECT_TRUE(fit->IsObserved(2));
  EXPECT_FALSE(fit->IsObserved(3));
}

TEST(BatchLatencyFitTest, InterpolatesBetweenAndExtrapolatesLinearlyAbove) {
  auto fit = BatchLatencyFit::Create(LinearSamples({1, 2, 4, 8}));
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->MedianUs(3), 2500, 1e-6);   // between 2 and 4
  EXPECT_NEAR(fit->MedianUs(6), 4000, 1e-6);   // between 4 and 8
  // The data are exactly linear, so the least-squares slope is the truth.
  EXPECT_NEAR(fit->upper_slope_us(), 500, 1e-6);
  EXPECT_NEAR(fit->MedianUs(16), 1000 + 500 * 16, 1e-6);
  EXPECT_NEAR(fit->MedianUs(32), 1000 + 500 * 32, 1e-6);
}

TEST(BatchLatencyFitTest, BelowSmallestObservedNeverUnderConstantPerImageCost) {
  // Only 4 and 8 observed: fixed cost 1000 us, slope 500 -> L(1) = 1500
  // by the line, above the per-image floor 3000/4 = 750.
  auto fit = BatchLatencyFit::Create(LinearSamples({4, 8}));
  ASSERT_TRUE(fit.ok());
  EXPECT_NEAR(fit->MedianUs(1), 1500, 1e-6);
  // A steep curve whose line would go below zero is floored.
  std::map<int, std::vector<double>> steep;
  for (int i = 0; i < 5; ++i) {
    steep[4].push_back(400);
    steep[8].push_back(4000);
  }
  auto f2 = BatchLatencyFit::Create(steep);
  ASSERT_TRUE(f2.ok());
  EXPECT_NEAR(f2->MedianUs(1), 100, 1e-6);  // 400 * 1 / 4
}

TEST(BatchLatencyFitTest, SamplingReproducesObservedDistributionAndScalesResiduals) {
  auto fit = BatchLatencyFit::Create(LinearSamples({1, 2, 4}));
  ASSERT_TRUE(fit.ok());
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    const double s = fit->SampleUs(2, rng);
    EXPECT_GE(s, 2000 * 0.9 - 1e-9);
    EXPECT_LE(s, 2000 * 1.1 + 1e-9);
    // Unobserved 3: the median 2500 times a residual in [0.9, 1.1].
    const double t = fit->SampleUs(3, rng);
    EXPECT_GE(t, 2500 * 0.9 - 1e-9);
    EXPECT_LE(t, 2500 * 1.1 + 1e-9);
  }
}

TEST(BatchLatencyFitTest, DegenerateInputs) {
  // No usable batch at all.
  auto none = BatchLatencyFit::Create({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("cannot predict: needs"), std::string::npos);
  // Too few batches (and non-positive samples are dropped).
  auto few = BatchLatencyFit::Create({{1, {100, 100, -5, 0}}, {2, {150}}});
  ASSERT_FALSE(few.ok());
  EXPECT_NE(few.status().message().find("the log has 3"), std::string::npos);
  // One size: only that size can be estimated.
  auto one = BatchLatencyFit::Create({{4, {100, 110, 120, 130, 140}}});
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->CanEstimate(4));
  EXPECT_FALSE(one->CanEstimate(1));
  EXPECT_FALSE(one->CanEstimate(8));
}

}  // namespace
}  // namespace yoloscope
