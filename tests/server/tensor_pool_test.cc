#include "server/tensor_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace yoloscope {
namespace {

TEST(TensorPoolTest, SteadyUseReusesOneBuffer) {
  FakeClock clock;
  TensorPool pool(12, &clock);
  std::vector<float> a = pool.Get();
  ASSERT_EQ(a.size(), 12u);
  const float* data = a.data();
  pool.Put(std::move(a));
  for (int i = 0; i < 100; ++i) {
    clock.AdvanceMs(10);
    std::vector<float> b = pool.Get();
    EXPECT_EQ(b.data(), data);  // no allocation in steady state
    pool.Put(std::move(b));
  }
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(TensorPoolTest, ABurstsExtraBuffersAreFreedOnceItHasPassed) {
  FakeClock clock;
  TensorPool pool(12, &clock);
  std::vector<std::vector<float>> burst;
  for (int i = 0; i < 8; ++i) burst.push_back(pool.Get());
  for (auto& b : burst) pool.Put(std::move(b));
  EXPECT_EQ(pool.free_count(), 8u);  // kept: the burst is recent
  // One request at a time for the next two minutes.
  for (int i = 0; i < 1200; ++i) {
    clock.AdvanceMs(100);
    std::vector<float> b = pool.Get();
    pool.Put(std::move(b));
  }
  EXPECT_EQ(pool.free_count(), 1u);  // back to what steady use needs
  // A new burst is served (allocating again) and kept while recent.
  for (int i = 0; i < 5; ++i) burst[static_cast<size_t>(i)] = pool.Get();
  for (int i = 0; i < 5; ++i) pool.Put(std::move(burst[static_cast<size_t>(i)]));
  EXPECT_EQ(pool.free_count(), 5u);
}

TEST(TensorPoolTest, AForeignSizedBufferIsNotKept) {
  FakeClock clock;
  TensorPool pool(12, &clock);
  std::vector<float> a = pool.Get();
  pool.Put(std::vector<float>(7));
  EXPECT_EQ(pool.free_count(), 0u);
  pool.Put(std::move(a));
  EXPECT_EQ(pool.free_count(), 1u);
}

}  // namespace
}  // namespace yoloscope
