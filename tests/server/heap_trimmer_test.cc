#include "server/heap_trimmer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace yoloscope {
namespace {

using std::chrono::milliseconds;

TEST(HeapTrimmerTest, TrimsEveryIntervalUntilStopped) {
  HeapTrimmer trimmer(milliseconds(5));
  trimmer.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (trimmer.trims() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_GE(trimmer.trims(), 3u);
  trimmer.Stop();
  const uint64_t stopped_at = trimmer.trims();
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(trimmer.trims(), stopped_at);  // the thread is gone
  EXPECT_LE(trimmer.released(), trimmer.trims());
  trimmer.Stop();  // idempotent
}

TEST(HeapTrimmerTest, ZeroIntervalNeverStarts) {
  HeapTrimmer trimmer(milliseconds(0));
  trimmer.Start();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(trimmer.trims(), 0u);
}

TEST(HeapTrimmerTest, StopWakesALongWaitAtOnce) {
  HeapTrimmer trimmer(std::chrono::hours(1));
  trimmer.Start();
  const auto t0 = std::chrono::steady_clock::now();
  trimmer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(trimmer.trims(), 0u);
}

}  // namespace
}  // namespace yoloscope
