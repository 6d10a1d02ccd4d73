#include "whatif/arrival_replay.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

TEST(ArrivalReplayTest, ReplaysGapsAndScalesRate) {
  // Unsorted input, in Unix microseconds.
  auto r = ArrivalReplay::Create({1'000'300, 1'000'000, 1'000'100, 1'001'000});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 4u);
  EXPECT_EQ(r->ScaledNs(1.0), (std::vector<int64_t>{0, 100'000, 300'000, 1'000'000}));
  // x2: every gap halved, the pattern kept.
  EXPECT_EQ(r->ScaledNs(2.0), (std::vector<int64_t>{0, 50'000, 150'000, 500'000}));
  // x0.5: gaps doubled.
  EXPECT_EQ(r->ScaledNs(0.5), (std::vector<int64_t>{0, 200'000, 600'000, 2'000'000}));
  EXPECT_NEAR(r->DurationS(), 0.001, 1e-12);
  EXPECT_NEAR(r->MeanRatePerS(), 3000, 1e-6);
}

TEST(ArrivalReplayTest, PeakRateFindsTheBurst) {
  // 10 s at 10/s, with a burst of 50 in one second at t = 5 s.
  std::vector<int64_t> t;
  for (int i = 0; i < 100; ++i) t.push_back(i * 100'000);
  for (int i = 0; i < 50; ++i) t.push_back(5'000'000 + i * 20'000);
  auto r = ArrivalReplay::Create(t);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->PeakRatePerS(1.0), 60, 1.0);  // 10 background + 50 burst
  EXPECT_LT(r->MeanRatePerS(), 16);
  // A scaled replay keeps the burst, compressed.
  const auto scaled = r->ScaledNs(1.5);
  EXPECT_EQ(scaled.size(), t.size());
  EXPECT_NEAR(static_cast<double>(scaled.back()), 9'900'000'000.0 / 1.5, 1.0);
}

TEST(ArrivalReplayTest, NeedsTwoDistinctArrivals) {
  EXPECT_EQ(ArrivalReplay::Create({}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ArrivalReplay::Create({5}).status().code(), StatusCode::kFailedPrecondition);
  auto same = ArrivalReplay::Create({5, 5, 5});
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.status().message().find("cannot predict"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
