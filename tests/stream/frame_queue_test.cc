// FrameQueue's counts: every snapshot balances (pushed == popped + dropped +
// cleared + size), alone and while a producer and a consumer move frames.
#include "stream/frame_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace yoloscope {
namespace {

bool Balanced(const FrameQueue::Counts& c) {
  return c.pushed == c.popped + c.dropped + c.cleared + c.size;
}

VideoFrame Frame(int64_t index) {
  VideoFrame f;
  f.index = index;
  return f;
}

TEST(FrameQueueTest, CountsFollowEveryWayAFrameLeaves) {
  FrameQueue q(2, FrameDropPolicy::kDropOldest);
  for (int64_t i = 0; i < 5; ++i) ASSERT_TRUE(q.Push(Frame(i)));  // 3 dropped
  auto f = q.Pop(std::chrono::milliseconds(0));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->index, 3);  // the newest two were kept
  ASSERT_TRUE(q.Push(Frame(5)));
  EXPECT_EQ(q.Clear(), 2);
  ASSERT_TRUE(q.Push(Frame(6)));
  const FrameQueue::Counts c = q.counts();
  EXPECT_EQ(c.pushed, 7);
  EXPECT_EQ(c.dropped, 3);
  EXPECT_EQ(c.popped, 1);
  EXPECT_EQ(c.cleared, 2);
  EXPECT_EQ(c.size, 1);
  EXPECT_EQ(q.dropped(), 3);
  EXPECT_TRUE(Balanced(c));
  q.Close();
  EXPECT_FALSE(q.Push(Frame(7)));  // refused, and not counted as pushed
  EXPECT_EQ(q.counts().pushed, 7);
}

TEST(FrameQueueTest, EverySnapshotBalancesWhileFramesMove) {
  FrameQueue q(3, FrameDropPolicy::kDropOldest);
  constexpr int64_t kFrames = 20000;
  std::atomic<bool> sampling{false}, done{false};
  std::thread producer([&] {
    // Starts with the sampler, so that the snapshots overlap the pushes
    // even when this thread gets the core first.
    while (!sampling.load()) std::this_thread::yield();
    for (int64_t i = 0; i < kFrames; ++i) q.Push(Frame(i));
    done = true;
  });
  std::thread consumer([&] {
    while (!done.load() || q.size() > 0) (void)q.Pop(std::chrono::milliseconds(1));
  });
  int64_t samples = 0, unbalanced = 0;
  sampling = true;
  do {
    ++samples;
    if (!Balanced(q.counts())) ++unbalanced;
  } while (!done.load());
  producer.join();
  consumer.join();
  EXPECT_GT(samples, 0);
  EXPECT_EQ(unbalanced, 0) << "of " << samples << " snapshots";
  const FrameQueue::Counts c = q.counts();
  EXPECT_EQ(c.pushed, kFrames);
  EXPECT_EQ(c.size, 0);
  EXPECT_EQ(c.popped + c.dropped, kFrames);
}

}  // namespace
}  // namespace yoloscope
