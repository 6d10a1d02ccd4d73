#include "batching/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace yoloscope {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;

BatcherConfig Config(int max_batch = 8, int64_t delay_us = 10'000) {
  BatcherConfig config;
  config.max_batch_size = max_batch;
  config.max_queue_delay_us = delay_us;
  return config;
}

std::unique_ptr<DynamicBatcher<int>> MakeBatcher(
    const BatcherConfig& config, Clock* clock,
    DynamicBatcher<int>::ExpiredCallback on_expired = nullptr) {
  auto batcher = DynamicBatcher<int>::Create(config, clock, std::move(on_expired));
  EXPECT_TRUE(batcher.ok()) << batcher.status().ToString();
  return std::move(batcher).value();
}

void EnqueueAll(DynamicBatcher<int>* batcher, std::vector<int> values,
                Priority priority = Priority::kNormal) {
  for (int v : values) ASSERT_TRUE(batcher->Enqueue(std::move(v), priority).ok());
}

TEST(DynamicBatcherTest, CreateValidatesConfigAndClock) {
  FakeClock clock;
  BatcherConfig bad = Config();
  bad.preferred_batch_sizes = {16};
  auto b = DynamicBatcher<int>::Create(bad, &clock);
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DynamicBatcher<int>::Create(Config(), nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DynamicBatcherTest, FullBatchDispatchesImmediately) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(4), &clock);
  Batch<int> batch;
  EnqueueAll(batcher.get(), {1, 2, 3});
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));  // 3 of 4: waits
  EnqueueAll(batcher.get(), {4});
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));  // no time has passed
  EXPECT_EQ(batch.items, (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(batch.reason, BatchReason::kFull);
  EXPECT_EQ(batcher->QueueLength(), 0);
}

TEST(DynamicBatcherTest, PreferredSizeDispatchesImmediatelyLargestFirst) {
  FakeClock clock;
  BatcherConfig config = Config(8);
  config.preferred_batch_sizes = {2, 4};
  auto batcher = MakeBatcher(config, &clock);
  Batch<int> batch;
  EnqueueAll(batcher.get(), {1});
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EnqueueAll(batcher.get(), {2});
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{1, 2}));
  EXPECT_EQ(batch.reason, BatchReason::kPreferred);

  // 5 queued while the instance was busy: 4 is the largest preferred size.
  EnqueueAll(batcher.get(), {3, 4, 5, 6, 7});
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{3, 4, 5, 6}));
  EXPECT_EQ(batch.reason, BatchReason::kPreferred);
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));  // 1 left: waits
}

TEST(DynamicBatcherTest, PartialBatchWaitsForTheWindowThenDispatches) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(8, 10'000), &clock);
  const int64_t t0 = clock.NowNs();
  EnqueueAll(batcher.get(), {1, 2, 3});
  Batch<int> batch;
  BatchDecision d = batcher->Poll(clock.NowNs());
  EXPECT_EQ(d.action, BatchAction::kWait);
  EXPECT_EQ(d.wake_at_ns, t0 + 10 * kMs);
  clock.AdvanceNs(10 * kMs - 1);
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));
  clock.AdvanceNs(1);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(batch.reason, BatchReason::kQueueDelay);
  for (const BatchItemInfo& info : batch.infos) EXPECT_EQ(info.queue_wait_ns, 10 * kMs);
}

TEST(DynamicBatcherTest, WindowIsMeasuredFromTheOldestRequest) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(8, 10'000), &clock);
  const int64_t t0 = clock.NowNs();
  EnqueueAll(batcher.get(), {1});
  clock.AdvanceMs(6);
  EnqueueAll(batcher.get(), {2});  // a newer request does not restart the window
  EXPECT_EQ(batcher->Poll(clock.NowNs()).wake_at_ns, t0 + 10 * kMs);
  clock.AdvanceMs(4);
  Batch<int> batch;
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{1, 2}));
  EXPECT_EQ(batch.infos[0].queue_wait_ns, 10 * kMs);
  EXPECT_EQ(batch.infos[1].queue_wait_ns, 4 * kMs);
}

TEST(DynamicBatcherTest, OverflowIsRejectedAndNothingIsLost) {
  FakeClock clock;
  BatcherConfig config = Config(8);
  config.max_queue_size = 3;
  auto created = DynamicBatcher<std::unique_ptr<int>>::Create(config, &clock);
  ASSERT_TRUE(created.ok());
  auto batcher = std::move(created).value();
  for (int i = 0; i < 3; ++i) {
    auto item = std::make_unique<int>(i);
    ASSERT_TRUE(batcher->Enqueue(std::move(item)).ok());
  }
  auto extra = std::make_unique<int>(99);
  Status s = batcher->Enqueue(std::move(extra), Priority::kHigh);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  ASSERT_NE(extra, nullptr);  // still the caller's, to answer with 503
  EXPECT_EQ(*extra, 99);
  EXPECT_EQ(batcher->GetStats().rejected_total, 1);

  clock.AdvanceMs(10);
  Batch<std::unique_ptr<int>> batch;
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  ASSERT_EQ(batch.size(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*batch.items[i], i);
  // Room again.
  EXPECT_TRUE(batcher->Enqueue(std::move(extra)).ok());
}

TEST(DynamicBatcherTest, ExpiredRequestsAreHandedBackAndNeverBatched) {
  FakeClock clock;
  BatcherConfig config = Config(8, 10'000);
  config.default_timeout_us = 5'000;
  std::vector<std::pair<int, Status>> expired;
  auto batcher =
      MakeBatcher(config, &clock, [&](int&& item, const BatchItemInfo& info, const Status& status) {
        expired.emplace_back(item, status);
        EXPECT_EQ(info.queue_wait_ns, 6 * kMs);
      });
  const int64_t t0 = clock.NowNs();
  EnqueueAll(batcher.get(), {1});  // default deadline: t0 + 5 ms
  clock.AdvanceMs(3);
  ASSERT_TRUE(batcher->Enqueue(2, Priority::kNormal, t0 + 40 * kMs).ok());
  clock.AdvanceMs(3);
  Batch<int> batch;
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].first, 1);
  EXPECT_EQ(expired[0].second.code(), StatusCode::kDeadlineExceeded);
  // The window now runs from request 2 (enqueued at t0 + 3 ms).
  EXPECT_EQ(batcher->Poll(clock.NowNs()).wake_at_ns, t0 + 13 * kMs);
  clock.SetNowNs(t0 + 13 * kMs);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{2}));
  EXPECT_EQ(batcher->GetStats().expired_total, 1);
}

TEST(DynamicBatcherTest, ExpiredRequestsAreRemovedEvenFromAFullBatch) {
  FakeClock clock;
  int expired = 0;
  auto batcher = MakeBatcher(Config(4), &clock,
                             [&](int&&, const BatchItemInfo&, const Status&) { ++expired; });
  const int64_t t0 = clock.NowNs();
  ASSERT_TRUE(batcher->Enqueue(1, Priority::kNormal, t0 + 1 * kMs).ok());
  ASSERT_TRUE(batcher->Enqueue(2, Priority::kNormal, t0 + 20 * kMs).ok());
  ASSERT_TRUE(batcher->Enqueue(3, Priority::kNormal, t0 + 1 * kMs).ok());
  ASSERT_TRUE(batcher->Enqueue(4).ok());
  clock.AdvanceMs(2);
  Batch<int> batch;
  // 4 were queued (a full batch) but two are late: only 2 remain -> wait.
  EXPECT_FALSE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(expired, 2);
  clock.AdvanceMs(8);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{2, 4}));
}

TEST(DynamicBatcherTest, DeadlineAlreadyPassedIsRejectedAtEnqueue) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(), &clock);
  int item = 7;
  Status s = batcher->Enqueue(std::move(item), Priority::kNormal, clock.NowNs());
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(batcher->QueueLength(), 0);
}

TEST(DynamicBatcherTest, FullQueueMakesRoomByExpiringLateRequests) {
  FakeClock clock;
  BatcherConfig config = Config(8);
  config.max_queue_size = 2;
  int expired = 0;
  auto batcher =
      MakeBatcher(config, &clock, [&](int&&, const BatchItemInfo&, const Status&) { ++expired; });
  ASSERT_TRUE(batcher->Enqueue(1, Priority::kNormal, clock.NowNs() + kMs).ok());
  ASSERT_TRUE(batcher->Enqueue(2).ok());
  clock.AdvanceMs(1);
  EXPECT_TRUE(batcher->Enqueue(3).ok());
  EXPECT_EQ(expired, 1);
}

TEST(DynamicBatcherTest, HighPriorityFirstAndFifoWithinALevel) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(3), &clock);
  EnqueueAll(batcher.get(), {1, 2}, Priority::kNormal);
  EnqueueAll(batcher.get(), {10}, Priority::kHigh);
  EnqueueAll(batcher.get(), {3}, Priority::kNormal);
  EnqueueAll(batcher.get(), {11}, Priority::kHigh);
  Batch<int> batch;
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{10, 11, 1}));
  EXPECT_EQ(batch.infos[0].priority, Priority::kHigh);
  EXPECT_EQ(batch.infos[2].priority, Priority::kNormal);
  clock.AdvanceMs(10);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.items, (std::vector<int>{2, 3}));
}

TEST(DynamicBatcherTest, MaxBatchSizeIsNeverExceeded) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(8), &clock);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(batcher->Enqueue(int{i}).ok());
  Batch<int> batch;
  std::vector<int> sizes;
  std::vector<int> seen;
  while (batcher->TryGetBatch(clock.NowNs(), &batch)) {
    sizes.push_back(batch.size());
    seen.insert(seen.end(), batch.items.begin(), batch.items.end());
  }
  EXPECT_EQ(sizes, (std::vector<int>{8, 8}));  // the last 4 wait for the window
  clock.AdvanceMs(10);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.size(), 4);
  seen.insert(seen.end(), batch.items.begin(), batch.items.end());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(seen[i], i);
}

TEST(DynamicBatcherTest, RecordsBatchIdsQueueLengthsWaitsAndStats) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(3), &clock);
  Batch<int> batch;
  EnqueueAll(batcher.get(), {1});
  clock.AdvanceMs(1);
  EnqueueAll(batcher.get(), {2});
  clock.AdvanceMs(1);
  EnqueueAll(batcher.get(), {3});
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.batch_id, 1u);
  EXPECT_EQ(batch.dispatch_ns, clock.NowNs());
  ASSERT_EQ(batch.size(), 3);
  EXPECT_EQ(batch.infos[0].queue_len, 0);
  EXPECT_EQ(batch.infos[1].queue_len, 1);
  EXPECT_EQ(batch.infos[2].queue_len, 2);
  EXPECT_EQ(batch.infos[0].queue_wait_ns, 2 * kMs);
  EXPECT_EQ(batch.infos[2].queue_wait_ns, 0);

  BatcherStats stats = batcher->GetStats();
  EXPECT_EQ(stats.in_flight_batches, 1);
  EXPECT_EQ(stats.in_flight_requests, 3);
  EXPECT_EQ(stats.batch_count_by_size[3], 1);

  EnqueueAll(batcher.get(), {4});
  clock.AdvanceMs(10);
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
  EXPECT_EQ(batch.batch_id, 2u);
  batcher->OnBatchFinished(3, 1500);
  batcher->OnBatchFinished(1, 700);
  stats = batcher->GetStats();
  EXPECT_EQ(stats.in_flight_batches, 0);
  EXPECT_EQ(stats.in_flight_requests, 0);
  EXPECT_EQ(stats.batches_total, 2);
  EXPECT_EQ(stats.enqueued_total, 4);
  EXPECT_EQ(stats.batch_count_by_size[1], 1);
  EXPECT_EQ(stats.finished_latency_us_by_size[3], 1500);
  EXPECT_EQ(stats.queue_length, 0);
  EXPECT_DOUBLE_EQ(batcher->EstimatedBatchLatencyUs(3), 1500);
}

TEST(DynamicBatcherTest, ShutdownDrainsQueuedRequestsThenCloses) {
  FakeClock clock;
  auto batcher = MakeBatcher(Config(2), &clock);
  EnqueueAll(batcher.get(), {1, 2, 3});
  Batch<int> batch;
  ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));  // full batch of 2
  batcher->Shutdown();
  EXPECT_EQ(batcher->Enqueue(4).code(), StatusCode::kUnavailable);
  // No waiting for the window while draining.
  ASSERT_TRUE(batcher->NextBatch(&batch).ok());
  EXPECT_EQ(batch.items, (std::vector<int>{3}));
  EXPECT_EQ(batch.reason, BatchReason::kDrain);
  EXPECT_EQ(batcher->NextBatch(&batch).code(), StatusCode::kUnavailable);
}

TEST(DynamicBatcherTest, AdaptiveDispatchesAtOnceWhenBatchingDoesNotHelp) {
  FakeClock clock;
  BatcherConfig config = Config(8);
  config.policy = BatchPolicy::kAdaptive;
  for (int b = 1; b <= 8; ++b) config.latency_curve_us.push_back(1000.0 * b);  // flat per image
  auto batcher = MakeBatcher(config, &clock);
  Batch<int> batch;
  for (int i = 0; i < 50; ++i) {  // one arrival every 50 us
    ASSERT_TRUE(batcher->Enqueue(int{i}).ok());
    ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch)) << i;
    EXPECT_EQ(batch.size(), 1);
    clock.AdvanceNs(50 * kUs);
  }
}

TEST(DynamicBatcherTest, AdaptiveWaitsWhenItHelpsButNeverPastTheWindow) {
  // A strong batching gain (latency = 1000 + 100 b us) and one arrival every
  // 100 us: the batcher should hold requests to form batches, yet no request
  // may wait longer than the 2 ms window. Event-driven simulation of one
  // always-available consumer on the fake clock.
  FakeClock clock;
  const int64_t window_ns = 2 * kMs;
  BatcherConfig config = Config(8, window_ns / kUs);
  config.policy = BatchPolicy::kAdaptive;
  for (int b = 1; b <= 8; ++b) config.latency_curve_us.push_back(1000.0 + 100.0 * b);
  auto batcher = MakeBatcher(config, &clock);
  constexpr int kItems = 300;
  int next_id = 0, waits = 0, largest = 0;
  int64_t next_arrival = clock.NowNs();
  std::vector<int> delivered;
  Batch<int> batch;
  while (next_id < kItems || batcher->QueueLength() > 0) {
    if (next_id < kItems && clock.NowNs() >= next_arrival) {
      ASSERT_TRUE(batcher->Enqueue(int{next_id++}).ok());
      next_arrival += 100 * kUs;
    }
    BatchDecision d = batcher->Poll(clock.NowNs());
    int64_t next_event = std::numeric_limits<int64_t>::max();
    if (d.action == BatchAction::kDispatch) {
      ASSERT_TRUE(batcher->TryGetBatch(clock.NowNs(), &batch));
      largest = std::max(largest, batch.size());
      for (size_t i = 0; i < batch.items.size(); ++i) {
        EXPECT_LE(batch.infos[i].queue_wait_ns, window_ns);
        delivered.push_back(batch.items[i]);
      }
      continue;  // an idle instance asks again at once
    }
    if (d.action == BatchAction::kWait) {
      ++waits;
      next_event = d.wake_at_ns;
    }
    if (next_id < kItems) next_event = std::min(next_event, next_arrival);
    ASSERT_NE(next_event, std::numeric_limits<int64_t>::max());
    clock.SetNowNs(std::max(next_event, clock.NowNs()));
  }
  EXPECT_GT(waits, 0);
  EXPECT_GE(largest, 3);  // it did batch
  ASSERT_EQ(delivered.size(), static_cast<size_t>(kItems));
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(delivered[i], i);
}

// --- real threads, real clock: behaviour only, no timing assertions ---

struct Delivery {
  std::mutex mu;
  std::vector<int> count;  // per item id
  int max_batch_seen = 0;
};

void RunProducersConsumers(const BatcherConfig& config, int producers, int per_producer,
                           int consumers) {
  RealClock clock;
  std::atomic<int> expired{0};
  auto batcher =
      MakeBatcher(config, &clock, [&](int&&, const BatchItemInfo&, const Status&) { ++expired; });
  const int total = producers * per_producer;
  Delivery delivery;
  delivery.count.assign(total, 0);

  std::vector<std::thread> consumer_threads;
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&] {
      Batch<int> batch;
      while (batcher->NextBatch(&batch).ok()) {
        EXPECT_GE(batch.size(), 1);
        EXPECT_LE(batch.size(), config.max_batch_size);
        {
          std::lock_guard<std::mutex> lock(delivery.mu);
          for (int id : batch.items) ++delivery.count[id];
          delivery.max_batch_seen = std::max(delivery.max_batch_seen, batch.size());
        }
        batcher->OnBatchFinished(batch.size(), 100 + 10 * batch.size());
      }
    });
  }
  std::vector<std::thread> producer_threads;
  for (int p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) {
        int id = p * per_producer + i;
        Priority priority = (id % 3 == 0) ? Priority::kHigh : Priority::kNormal;
        while (true) {
          Status s = batcher->Enqueue(std::move(id), priority);
          if (s.ok()) break;
          ASSERT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
          std::this_thread::yield();  // queue full: back off and retry
        }
      }
    });
  }
  for (auto& t : producer_threads) t.join();
  batcher->Shutdown();
  for (auto& t : consumer_threads) t.join();

  EXPECT_EQ(expired.load(), 0);
  for (int id = 0; id < total; ++id) ASSERT_EQ(delivery.count[id], 1) << "item " << id;
  BatcherStats stats = batcher->GetStats();
  EXPECT_EQ(stats.queue_length, 0);
  EXPECT_EQ(stats.in_flight_batches, 0);
  EXPECT_EQ(stats.in_flight_requests, 0);
  EXPECT_EQ(stats.enqueued_total, total);
  int64_t items_in_batches = 0;
  for (size_t b = 1; b < stats.batch_count_by_size.size(); ++b) {
    items_in_batches += static_cast<int64_t>(b) * stats.batch_count_by_size[b];
  }
  EXPECT_EQ(items_in_batches, total);
}

TEST(DynamicBatcherThreadTest, FixedPolicyDeliversEveryItemExactlyOnce) {
  BatcherConfig config = Config(8, 200);
  config.max_queue_size = 64;
  config.preferred_batch_sizes = {4};
  RunProducersConsumers(config, /*producers=*/4, /*per_producer=*/5000, /*consumers=*/3);
}

TEST(DynamicBatcherThreadTest, AdaptivePolicyDeliversEveryItemExactlyOnce) {
  BatcherConfig config = Config(8, 500);
  config.policy = BatchPolicy::kAdaptive;
  config.max_queue_size = 32;
  RunProducersConsumers(config, /*producers=*/3, /*per_producer=*/5000, /*consumers=*/2);
}

TEST(DynamicBatcherThreadTest, ShutdownWakesIdleConsumers) {
  RealClock clock;
  auto batcher = MakeBatcher(Config(), &clock);
  std::atomic<int> closed{0};
  std::vector<std::thread> consumers;
  for (int i = 0; i < 3; ++i) {
    consumers.emplace_back([&] {
      Batch<int> batch;
      Status s = batcher->NextBatch(&batch);
      if (s.code() == StatusCode::kUnavailable) ++closed;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  batcher->Shutdown();
  for (auto& t : consumers) t.join();
  EXPECT_EQ(closed.load(), 3);
}

TEST(DynamicBatcherThreadTest, BlockedConsumerGetsAPartialBatchAfterTheWindow) {
  RealClock clock;
  auto batcher = MakeBatcher(Config(8, 2'000), &clock);
  Batch<int> batch;
  EnqueueAll(batcher.get(), {1, 2});
  std::thread consumer([&] { ASSERT_TRUE(batcher->NextBatch(&batch).ok()); });
  consumer.join();  // returns once the 2 ms window of request 1 has passed
  EXPECT_EQ(batch.items, (std::vector<int>{1, 2}));
  EXPECT_EQ(batch.reason, BatchReason::kQueueDelay);
}

TEST(DynamicBatcherThreadTest, ConsumerWakesToExpireLateRequests) {
  RealClock clock;
  std::atomic<int> expired{0};
  auto batcher = MakeBatcher(Config(8, 1'000'000), &clock,  // a 1 s window
                             [&](int&&, const BatchItemInfo&, const Status&) { ++expired; });
  std::thread consumer([&] {
    Batch<int> batch;
    while (batcher->NextBatch(&batch).ok()) {
    }
  });
  ASSERT_TRUE(batcher->Enqueue(1, Priority::kNormal, clock.NowNs() + 5 * kMs).ok());
  for (int i = 0; i < 2000 && expired.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(expired.load(), 1);  // well before the 1 s window ended
  batcher->Shutdown();
  consumer.join();
}

}  // namespace
}  // namespace yoloscope
