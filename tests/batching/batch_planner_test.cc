#include "batching/batch_planner.h"

#include <gtest/gtest.h>

#include <vector>

#include "batching/batch_latency_curve.h"
#include "batching/batcher_config.h"

namespace yoloscope {
namespace {

constexpr int64_t kT0 = 1'000'000'000;  // an arbitrary "now" in ns.
constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;

// --- BatcherConfig ---

TEST(BatcherConfigTest, DefaultsAreValid) {
  BatcherConfig config;
  EXPECT_TRUE(ValidateBatcherConfig(config).ok());
  EXPECT_EQ(config.max_batch_size, 8);
  EXPECT_EQ(config.max_queue_delay_us, 10'000);
  EXPECT_EQ(config.max_queue_size, 256);
  EXPECT_EQ(config.default_timeout_us, 0);
  EXPECT_EQ(config.policy, BatchPolicy::kFixed);
}

TEST(BatcherConfigTest, RejectsBadValues) {
  auto expect_bad = [](auto mutate, const char* field) {
    BatcherConfig config;
    mutate(config);
    Status s = ValidateBatcherConfig(config);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  };
  expect_bad([](BatcherConfig& c) { c.max_batch_size = 0; }, "max_batch_size");
  expect_bad([](BatcherConfig& c) { c.max_queue_delay_us = -1; }, "max_queue_delay_us");
  expect_bad([](BatcherConfig& c) { c.preferred_batch_sizes = {4, 9}; }, "preferred_batch_sizes");
  expect_bad([](BatcherConfig& c) { c.preferred_batch_sizes = {0}; }, "preferred_batch_sizes");
  expect_bad([](BatcherConfig& c) { c.max_queue_size = 0; }, "max_queue_size");
  expect_bad([](BatcherConfig& c) { c.default_timeout_us = -5; }, "default_timeout_us");
  expect_bad([](BatcherConfig& c) { c.latency_curve_us.assign(9, 1.0); }, "latency_curve_us");
  expect_bad([](BatcherConfig& c) { c.latency_curve_us = {-1.0}; }, "latency_curve_us");
  expect_bad([](BatcherConfig& c) { c.latency_ewma_alpha = 0; }, "latency_ewma_alpha");
  expect_bad([](BatcherConfig& c) { c.arrival_ewma_alpha = 1.5; }, "arrival_ewma_alpha");
  expect_bad([](BatcherConfig& c) { c.adaptive_min_gain = 1; }, "adaptive_min_gain");
}

TEST(BatcherConfigTest, ParsesPolicyNames) {
  EXPECT_EQ(*ParseBatchPolicy("fixed"), BatchPolicy::kFixed);
  EXPECT_EQ(*ParseBatchPolicy("adaptive"), BatchPolicy::kAdaptive);
  EXPECT_EQ(ParseBatchPolicy("fast").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchPolicyName(BatchPolicy::kAdaptive), "adaptive");
}

// --- BatchLatencyCurve ---

TEST(BatchLatencyCurveTest, EmptyCurveHasNoData) {
  BatchLatencyCurve curve(8, 0.5);
  EXPECT_FALSE(curve.HasData());
  EXPECT_EQ(curve.LatencyUs(4), 0);
}

TEST(BatchLatencyCurveTest, InterpolatesBetweenAndScalesOutsideKnownSizes) {
  // Known: b=2 -> 1000 us, b=6 -> 1800 us.
  BatchLatencyCurve curve(8, 0.5, {0, 1000, 0, 0, 0, 1800});
  EXPECT_TRUE(curve.HasData());
  EXPECT_TRUE(curve.IsKnown(2));
  EXPECT_FALSE(curve.IsKnown(3));
  EXPECT_DOUBLE_EQ(curve.LatencyUs(2), 1000);
  EXPECT_DOUBLE_EQ(curve.LatencyUs(4), 1400);    // linear between 2 and 6
  EXPECT_DOUBLE_EQ(curve.LatencyUs(1), 500);     // per-image cost of b=2
  EXPECT_DOUBLE_EQ(curve.LatencyUs(8), 2400);    // per-image cost of b=6: no gain assumed
  EXPECT_DOUBLE_EQ(curve.LatencyUs(100), 2400);  // clamped to max_batch_size
}

TEST(BatchLatencyCurveTest, EwmaFoldsInSamples) {
  BatchLatencyCurve curve(4, 0.25);
  curve.Record(2, 1000);  // first sample is taken as is
  EXPECT_DOUBLE_EQ(curve.LatencyUs(2), 1000);
  curve.Record(2, 2000);
  EXPECT_DOUBLE_EQ(curve.LatencyUs(2), 0.25 * 2000 + 0.75 * 1000);
  curve.Record(0, 50);  // ignored
  curve.Record(5, 50);  // ignored
  curve.Record(3, -1);  // ignored
  EXPECT_FALSE(curve.IsKnown(3));
}

// --- BatchPlanner: fixed policy rules ---

BatcherConfig FixedConfig() {
  BatcherConfig config;
  config.max_batch_size = 8;
  config.max_queue_delay_us = 10'000;
  return config;
}

TEST(BatchPlannerTest, EmptyQueueIsIdle) {
  BatchPlanner planner(FixedConfig());
  BatchDecision d = planner.Decide({0, 0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kIdle);
}

TEST(BatchPlannerTest, FullBatchDispatchesAtOnce) {
  BatchPlanner planner(FixedConfig());
  BatchDecision d = planner.Decide({8, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kFull);
  EXPECT_EQ(d.batch_size, 8);
  d = planner.Decide({30, kT0, false}, kT0);  // more than max: still max
  EXPECT_EQ(d.batch_size, 8);
}

TEST(BatchPlannerTest, LargestReachablePreferredSizeDispatchesAtOnce) {
  BatcherConfig config = FixedConfig();
  config.preferred_batch_sizes = {2, 6, 4, 4};
  BatchPlanner planner(config);
  EXPECT_EQ(planner.Decide({1, kT0, false}, kT0).action, BatchAction::kWait);
  for (auto [queued, want] : std::vector<std::pair<int, int>>{{2, 2}, {3, 2}, {5, 4}, {7, 6}}) {
    BatchDecision d = planner.Decide({queued, kT0, false}, kT0);
    EXPECT_EQ(d.action, BatchAction::kDispatch) << queued;
    EXPECT_EQ(d.reason, BatchReason::kPreferred) << queued;
    EXPECT_EQ(d.batch_size, want) << queued;
  }
}

TEST(BatchPlannerTest, PartialBatchWaitsForTheOldestRequestsWindow) {
  BatchPlanner planner(FixedConfig());
  const int64_t oldest = kT0 - 4 * kMs;
  BatchDecision d = planner.Decide({3, oldest, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kWait);
  EXPECT_EQ(d.reason, BatchReason::kWindow);
  EXPECT_EQ(d.wake_at_ns, oldest + 10 * kMs);
  d = planner.Decide({3, oldest, false}, oldest + 10 * kMs - 1);
  EXPECT_EQ(d.action, BatchAction::kWait);
  d = planner.Decide({3, oldest, false}, oldest + 10 * kMs);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kQueueDelay);
  EXPECT_EQ(d.batch_size, 3);
}

TEST(BatchPlannerTest, ZeroDelayNeverWaits) {
  BatcherConfig config = FixedConfig();
  config.max_queue_delay_us = 0;
  BatchPlanner planner(config);
  BatchDecision d = planner.Decide({1, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.batch_size, 1);
}

TEST(BatchPlannerTest, DrainingDispatchesWithoutWaiting) {
  BatchPlanner planner(FixedConfig());
  BatchDecision d = planner.Decide({3, kT0, true}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kDrain);
  EXPECT_EQ(d.batch_size, 3);
}

// --- BatchPlanner: adaptive policy ---

BatcherConfig AdaptiveConfig(std::vector<double> curve) {
  BatcherConfig config;
  config.policy = BatchPolicy::kAdaptive;
  config.max_batch_size = 8;
  config.max_queue_delay_us = 10'000;
  config.latency_curve_us = std::move(curve);
  return config;
}

// Arrivals every `gap` ending at `last`.
void FeedArrivals(BatchPlanner* planner, int count, int64_t gap, int64_t last) {
  for (int i = count - 1; i >= 0; --i) planner->RecordArrival(last - i * gap);
}

std::vector<double> Curve(double fixed_us, double per_image_us, int max_batch = 8) {
  std::vector<double> curve;
  for (int b = 1; b <= max_batch; ++b) curve.push_back(fixed_us + per_image_us * b);
  return curve;
}

TEST(BatchPlannerTest, ArrivalRateFollowsGapsAndDecaysWhenTrafficStops) {
  BatchPlanner planner(AdaptiveConfig({}));
  EXPECT_EQ(planner.ArrivalRatePerUs(kT0), 0);  // unknown
  planner.RecordArrival(kT0);
  EXPECT_EQ(planner.ArrivalRatePerUs(kT0), 0);  // one arrival: still unknown
  FeedArrivals(&planner, 20, 100 * kUs, kT0 + 2 * kMs);
  EXPECT_NEAR(planner.ArrivalRatePerUs(kT0 + 2 * kMs), 0.01, 1e-3);  // one per 100 us
  // 5 ms of silence: at most one arrival per 5 ms.
  EXPECT_NEAR(planner.ArrivalRatePerUs(kT0 + 7 * kMs), 1.0 / 5000, 1e-6);
}

TEST(BatchPlannerTest, AdaptiveDispatchesAtOnceWithoutACurveOrRate) {
  BatchPlanner no_curve(AdaptiveConfig({}));
  FeedArrivals(&no_curve, 10, 10 * kUs, kT0);
  BatchDecision d = no_curve.Decide({1, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kAdaptiveNow);

  BatchPlanner no_rate(AdaptiveConfig(Curve(1000, 10)));
  d = no_rate.Decide({1, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kAdaptiveNow);
}

TEST(BatchPlannerTest, AdaptiveDoesNotWaitWhenBatchingDoesNotHelp) {
  // latency(b) = b * latency(1): a batch is no cheaper per image, so waiting
  // only adds queueing time, however fast requests arrive.
  for (int64_t gap : {1 * kUs, 10 * kUs, 100 * kUs, 1000 * kUs}) {
    BatchPlanner planner(AdaptiveConfig(Curve(0, 1000)));
    FeedArrivals(&planner, 50, gap, kT0);
    for (int queued = 1; queued < 8; ++queued) {
      AdaptivePlan plan = planner.PlanAdaptiveWait(queued, kT0, 10 * kMs);
      EXPECT_EQ(plan.wait_ns, 0) << "gap " << gap << " queued " << queued;
      BatchDecision d = planner.Decide({queued, kT0, false}, kT0);
      EXPECT_EQ(d.action, BatchAction::kDispatch);
      EXPECT_EQ(d.reason, BatchReason::kAdaptiveNow);
      EXPECT_EQ(d.batch_size, queued);
    }
  }
}

TEST(BatchPlannerTest, AdaptiveWaitsWhenBatchingHelpsAndArrivalsAreFrequent) {
  // latency(b) = 1000 + 100 b us (strong batching gain), one arrival per 100 us.
  BatchPlanner planner(AdaptiveConfig(Curve(1000, 100)));
  FeedArrivals(&planner, 50, 100 * kUs, kT0);
  AdaptivePlan plan = planner.PlanAdaptiveWait(1, kT0, 10 * kMs);
  // Worked example in docs/batching.md: n = 1, the best target is b = 3
  // (S_now = 5700, S_wait = 4500 us), i.e. wait 200 us.
  EXPECT_EQ(plan.target_size, 3);
  EXPECT_EQ(plan.wait_ns, 200 * kUs);
  EXPECT_NEAR(plan.mean_gain_us, 400, 1e-6);
  BatchDecision d = planner.Decide({1, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kWait);
  EXPECT_EQ(d.reason, BatchReason::kAdaptiveWait);
  EXPECT_EQ(d.wake_at_ns, kT0 + 200 * kUs);
  EXPECT_EQ(d.target_size, 3);
}

TEST(BatchPlannerTest, AdaptiveNeverWaitsBeyondTheWindow) {
  BatcherConfig config = AdaptiveConfig(Curve(1000, 100));
  config.max_queue_delay_us = 150;
  BatchPlanner planner(config);
  FeedArrivals(&planner, 50, 100 * kUs, kT0);
  // Oldest arrived 100 us ago: 50 us of window left, too short for one more
  // arrival at 100 us per arrival -> dispatch now.
  BatchDecision d = planner.Decide({1, kT0 - 100 * kUs, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  // Oldest arrived just now: 150 us left; b = 3 needs 200 us, so b = 2 (100 us).
  d = planner.Decide({1, kT0, false}, kT0);
  ASSERT_EQ(d.action, BatchAction::kWait);
  EXPECT_LE(d.wake_at_ns, kT0 + 150 * kUs);
  EXPECT_EQ(d.target_size, 2);
  // With very frequent arrivals and a huge fixed cost the wait is still capped.
  BatcherConfig fast = AdaptiveConfig(Curve(100'000, 1));
  fast.max_queue_delay_us = 50;
  BatchPlanner fast_planner(fast);
  FeedArrivals(&fast_planner, 50, 20 * kUs, kT0);
  for (int64_t age : {int64_t{0}, 10 * kUs, 30 * kUs}) {
    d = fast_planner.Decide({1, kT0 - age, false}, kT0);
    ASSERT_EQ(d.action, BatchAction::kWait) << age;
    EXPECT_LE(d.wake_at_ns, kT0 - age + 50 * kUs) << age;
  }
  // 1 us of window left: too short for another arrival.
  d = fast_planner.Decide({1, kT0 - 49 * kUs, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
}

TEST(BatchPlannerTest, AdaptiveDoesNotWaitForRareArrivals) {
  // Strong batching gain, but one arrival per 5 ms: waiting for company takes
  // longer than the batch it would save.
  BatchPlanner planner(AdaptiveConfig(Curve(1000, 100)));
  FeedArrivals(&planner, 50, 5 * kMs, kT0);
  BatchDecision d = planner.Decide({1, kT0, false}, kT0);
  EXPECT_EQ(d.action, BatchAction::kDispatch);
  EXPECT_EQ(d.reason, BatchReason::kAdaptiveNow);
}

TEST(BatchPlannerTest, AdaptiveStillHonoursFullAndPreferredBatches) {
  BatcherConfig config = AdaptiveConfig(Curve(1000, 100));
  config.preferred_batch_sizes = {4};
  BatchPlanner planner(config);
  FeedArrivals(&planner, 50, 100 * kUs, kT0);
  BatchDecision d = planner.Decide({5, kT0, false}, kT0);
  EXPECT_EQ(d.reason, BatchReason::kPreferred);
  EXPECT_EQ(d.batch_size, 4);
  d = planner.Decide({9, kT0, false}, kT0);
  EXPECT_EQ(d.reason, BatchReason::kFull);
  EXPECT_EQ(d.batch_size, 8);
}

TEST(BatchPlannerTest, LiveLatenciesReplaceTheSeed) {
  // Seeded as flat (no gain) -> no wait; live measurements show a strong gain.
  BatchPlanner planner(AdaptiveConfig(Curve(0, 1000)));
  FeedArrivals(&planner, 50, 100 * kUs, kT0);
  EXPECT_EQ(planner.Decide({1, kT0, false}, kT0).action, BatchAction::kDispatch);
  BatcherConfig config = planner.config();
  for (int i = 0; i < 40; ++i) {
    for (int b = 1; b <= config.max_batch_size; ++b) planner.RecordBatchLatency(b, 1000 + 100 * b);
  }
  EXPECT_NEAR(planner.curve().LatencyUs(4), 1400, 1);
  EXPECT_EQ(planner.Decide({1, kT0, false}, kT0).action, BatchAction::kWait);
}

}  // namespace
}  // namespace yoloscope
