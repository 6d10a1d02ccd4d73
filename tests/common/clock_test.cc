#include "common/clock.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

TEST(ClockTest, RealClockIsMonotonicAndSleeps) {
  RealClock clock;
  int64_t a = clock.NowNs();
  clock.SleepForNs(2'000'000);
  int64_t b = clock.NowNs();
  EXPECT_GE(b - a, 2'000'000);
  EXPECT_GT(clock.WallNowUs(), 1'600'000'000'000'000);  // after 2020
}

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(5'000);
  EXPECT_EQ(clock.NowNs(), 5'000);
  EXPECT_EQ(clock.NowNs(), 5'000);
  clock.AdvanceMs(1.5);
  EXPECT_EQ(clock.NowNs(), 1'505'000);
  int64_t wall = clock.WallNowUs();
  clock.SleepForNs(1'000'000);  // advances instead of blocking
  EXPECT_EQ(clock.NowNs(), 2'505'000);
  EXPECT_EQ(clock.WallNowUs() - wall, 1'000);
}

}  // namespace
}  // namespace yoloscope
