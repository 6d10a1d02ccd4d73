#include "telemetry/telemetry_sampler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "telemetry/fake_telemetry_source.h"

namespace yoloscope {
namespace {

using ::yoloscope::testing::FakeTelemetrySource;

// Polls `cond` in real time for up to 10 s (generous: a loaded CI machine).
bool WaitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

TEST(TelemetrySamplerTest, CreateRejectsBadArguments) {
  FakeClock clock;
  TelemetrySamplerConfig config;
  EXPECT_FALSE(TelemetrySampler::Create(config, &clock, nullptr).ok());
  EXPECT_FALSE(
      TelemetrySampler::Create(config, nullptr, std::make_unique<FakeTelemetrySource>()).ok());
  config.period_ms = 0;
  auto s = TelemetrySampler::Create(config, &clock, std::make_unique<FakeTelemetrySource>());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TelemetrySamplerConfig{}.period_ms, 200);
}

TEST(TelemetrySamplerTest, FakeClockDrivesOneRoundPerPeriod) {
  FakeClock clock;
  TelemetrySamplerConfig config;
  config.period_ms = 200;
  config.max_wait_ms = 1;
  std::atomic<int> sink_calls{0};
  auto created = TelemetrySampler::Create(config, &clock, std::make_unique<FakeTelemetrySource>(2),
                                          [&](const DeviceSample&) { sink_calls.fetch_add(1); });
  ASSERT_TRUE(created.ok());
  TelemetrySampler& sampler = **created;
  ASSERT_TRUE(sampler.Start().ok());
  EXPECT_FALSE(sampler.Start().ok());  // already running.

  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() == 1; }));  // first round at once.
  clock.AdvanceMs(100);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sampler.rounds(), 1);  // half a period: nothing due.
  clock.AdvanceMs(100);
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() == 2; }));
  clock.AdvanceMs(200);
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() == 3; }));
  // A long jump yields one round, not a burst of the missed ones.
  clock.AdvanceMs(1000);
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() == 4; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(sampler.rounds(), 4);
  sampler.Stop();
  EXPECT_FALSE(sampler.running());
  EXPECT_EQ(sink_calls.load(), 8);  // 4 rounds x 2 devices.

  // Latest() holds the newest sample of each device, stamped by the clock.
  auto latest = sampler.Latest();
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].gpu_util, 4.0);
  EXPECT_EQ(latest[1].gpu_util, 4.0);
  EXPECT_EQ(latest[0].ts_us, clock.WallNowUs());
  auto one = sampler.LatestFor(1);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->device, "fake:1");
  EXPECT_FALSE(sampler.LatestFor(7).has_value());
}

TEST(TelemetrySamplerTest, RealClockShortPeriodAndPromptStop) {
  RealClock clock;
  TelemetrySamplerConfig config;
  config.period_ms = 10;
  std::atomic<int> sink_calls{0};
  auto created = TelemetrySampler::Create(config, &clock, std::make_unique<FakeTelemetrySource>(),
                                          [&](const DeviceSample&) { sink_calls.fetch_add(1); });
  ASSERT_TRUE(created.ok());
  TelemetrySampler& sampler = **created;
  ASSERT_TRUE(sampler.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() >= 5; }));
  auto t0 = std::chrono::steady_clock::now();
  sampler.Stop();
  auto stop_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LT(stop_ms, 2000);  // loose: only catches a Stop that waits for nothing.
  int64_t rounds = sampler.rounds();
  EXPECT_EQ(sink_calls.load(), rounds);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(sampler.rounds(), rounds);  // stopped means stopped.
  // Restartable.
  ASSERT_TRUE(sampler.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return sampler.rounds() > rounds; }));
  sampler.Stop();
}

TEST(TelemetrySamplerTest, StopIsPromptWithALongPeriod) {
  RealClock clock;
  TelemetrySamplerConfig config;
  config.period_ms = 60'000;
  config.max_wait_ms = 60'000;
  auto created = TelemetrySampler::Create(config, &clock, std::make_unique<FakeTelemetrySource>());
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*created)->Start().ok());
  ASSERT_TRUE(WaitFor([&] { return (*created)->rounds() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  (*created)->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(TelemetrySamplerTest, ErrorsAreCountedAndKeepThePreviousSample) {
  FakeClock clock;
  auto source = std::make_unique<FakeTelemetrySource>();
  FakeTelemetrySource* fake = source.get();
  int sink_calls = 0;
  auto created = TelemetrySampler::Create(TelemetrySamplerConfig{}, &clock, std::move(source),
                                          [&](const DeviceSample&) { ++sink_calls; });
  ASSERT_TRUE(created.ok());
  TelemetrySampler& sampler = **created;
  EXPECT_TRUE(sampler.Latest().empty());
  ASSERT_TRUE(sampler.SampleNow().ok());
  fake->FailNext();
  Status s = sampler.SampleNow();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(sampler.errors(), 1);
  EXPECT_EQ(sampler.rounds(), 1);
  EXPECT_EQ(sampler.last_error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(sink_calls, 1);
  ASSERT_EQ(sampler.Latest().size(), 1u);
  EXPECT_EQ(sampler.Latest()[0].gpu_util, 1.0);  // the failed round changed nothing.
  ASSERT_TRUE(sampler.SampleNow().ok());
  EXPECT_EQ(sampler.Latest()[0].gpu_util, 3.0);
}

TEST(TelemetrySamplerTest, SnapshotsAreImmutable) {
  FakeClock clock;
  auto created = TelemetrySampler::Create(TelemetrySamplerConfig{}, &clock,
                                          std::make_unique<FakeTelemetrySource>());
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE((*created)->SampleNow().ok());
  auto old = (*created)->LatestSnapshot();
  ASSERT_TRUE((*created)->SampleNow().ok());
  EXPECT_EQ((*old)[0].gpu_util, 1.0);  // a reader's snapshot never changes under it.
  EXPECT_EQ((*(*created)->LatestSnapshot())[0].gpu_util, 2.0);
}

}  // namespace
}  // namespace yoloscope
