// The discrete-event model on inputs whose answer is known analytically.
#include "whatif/pipeline_simulator.h"

#include <gtest/gtest.h>

namespace yoloscope {
namespace {

constexpr int64_t kMs = 1'000'000;

// Every batch takes exactly `base_ms + per_image_ms * b` (no spread).
BatchLatencyFit DeterministicCurve(double base_ms, double per_image_ms, int max_size = 8) {
  std::map<int, std::vector<double>> samples;
  for (int b = 1; b <= max_size; ++b) {
    samples[b] = std::vector<double>(5, (base_ms + per_image_ms * b) * 1000);
  }
  return *BatchLatencyFit::Create(samples);
}

std::vector<SimulatedRequest> Periodic(int n, int64_t gap_ns, int64_t pre_ns = 0,
                                       int64_t post_ns = 0) {
  std::vector<SimulatedRequest> out;
  for (int i = 0; i < n; ++i) out.push_back({i * gap_ns, pre_ns, post_ns, 0});
  return out;
}

SimulationConfig Config(int max_batch, int64_t delay_us, int instances = 1, int queue = 256) {
  SimulationConfig c;
  c.batcher.max_batch_size = max_batch;
  c.batcher.max_queue_delay_us = delay_us;
  c.batcher.max_queue_size = queue;
  c.instances = instances;
  c.preprocess_workers = 1;
  c.postprocess_workers = 1;
  return c;
}

TEST(PipelineSimulatorTest, BelowCapacityNothingQueues) {
  // One request every 10 ms; 1 ms preprocess, 2 ms device (batch of 1),
  // 1 ms postprocess, no window: each request takes exactly 4 ms.
  const auto curve = DeterministicCurve(1.0, 1.0);
  auto r = PipelineSimulator::Run(Periodic(200, 10 * kMs, 1 * kMs, 1 * kMs), curve, Config(8, 0));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->served, 200);
  EXPECT_EQ(r->rejected, 0);
  EXPECT_DOUBLE_EQ(r->p50_ms, 4.0);
  EXPECT_DOUBLE_EQ(r->p99_ms, 4.0);
  EXPECT_DOUBLE_EQ(r->mean_batch_size, 1.0);
  EXPECT_DOUBLE_EQ(r->mean_queue_length, 0.0);
  // Busy 2 ms per 10 ms; span = 199 gaps + the last request's 4 ms.
  EXPECT_NEAR(r->device_busy_fraction, 200 * 2.0 / (199 * 10 + 4), 1e-9);
  EXPECT_NEAR(r->throughput_per_s, 200 / ((199 * 10 + 4) / 1000.0), 1e-6);
}

TEST(PipelineSimulatorTest, WindowHoldsPartialBatchUntilItExpires) {
  // Arrivals 4 ms apart, window 5 ms, max batch 8: every batch is formed by
  // the window: requests 0 and 1 (t = 0, 4) go at t = 5 ms; device 1 + 0.5 b.
  const auto curve = DeterministicCurve(1.0, 0.5);
  auto c = Config(8, 5000);
  c.record_batches = true;
  auto r = PipelineSimulator::Run(Periodic(4, 4 * kMs), curve, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batch_trace.size(), 2u);
  EXPECT_EQ(r->batch_trace[0].dispatch_ns, 5 * kMs);
  EXPECT_EQ(r->batch_trace[0].size, 2);
  EXPECT_EQ(r->batch_trace[0].reason, BatchReason::kQueueDelay);
  EXPECT_EQ(r->batch_trace[1].dispatch_ns, 13 * kMs);  // oldest (t=8) + 5
  // Latencies: 0 -> 7 ms, 1 -> 3 ms, 2 -> 7 ms, 3 -> 3 ms.
  EXPECT_DOUBLE_EQ(r->p50_ms, 5.0);
  EXPECT_DOUBLE_EQ(r->mean_ms, 5.0);
  EXPECT_DOUBLE_EQ(r->mean_batch_size, 2.0);
}

TEST(PipelineSimulatorTest, FullBatchGoesAtOnceWithoutWaitingForTheWindow) {
  // 8 requests at t = 0 with a 100 ms window and max batch 4: two full
  // batches back to back on one instance (device 1 + 1 b = 5 ms each).
  std::vector<SimulatedRequest> burst(8, SimulatedRequest{0, 0, 0, 0});
  auto c = Config(4, 100'000);
  c.record_batches = true;
  auto r = PipelineSimulator::Run(burst, DeterministicCurve(1.0, 1.0), c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batch_trace.size(), 2u);
  EXPECT_EQ(r->batch_trace[0].reason, BatchReason::kFull);
  EXPECT_EQ(r->batch_trace[1].dispatch_ns, 5 * kMs);
  EXPECT_DOUBLE_EQ(r->p50_ms, 7.5);  // 4 at 5 ms, 4 at 10 ms
  EXPECT_DOUBLE_EQ(r->device_busy_fraction, 1.0);
  // Two instances on two devices run them side by side.
  c.instances = 2;
  c.devices = 2;
  r = PipelineSimulator::Run(burst, DeterministicCurve(1.0, 1.0), c);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->p99_ms, 5.0);
  EXPECT_EQ(r->batch_trace[1].instance, 1);
  EXPECT_DOUBLE_EQ(r->device_busy_fraction, 1.0);  // both devices busy 0-5 ms
  // Two instances on one device take turns on it: the second batch is
  // taken at once but runs from 5 ms, as with one instance.
  c.devices = 1;
  r = PipelineSimulator::Run(burst, DeterministicCurve(1.0, 1.0), c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batch_trace.size(), 2u);
  EXPECT_EQ(r->batch_trace[1].instance, 1);
  EXPECT_EQ(r->batch_trace[1].dispatch_ns, 0);
  EXPECT_EQ(r->batch_trace[1].device_start_ns, 5 * kMs);
  EXPECT_DOUBLE_EQ(r->p50_ms, 7.5);
  EXPECT_DOUBLE_EQ(r->device_busy_fraction, 1.0);
}

TEST(PipelineSimulatorTest, LoggedHostWorkKeepsTheInstanceBusyAndOverlapsOnASharedDevice) {
  // Eight at once, max batch 4, 5 ms of device per batch and 2 ms of the
  // instance's own host work after it (busy_ms - device time, logged).
  std::vector<SimulatedRequest> burst(8, SimulatedRequest{0, 0, 0, 0});
  auto fit = DeterministicCurve(1.0, 1.0);
  fit.SetOverheadUs({{4, {2000.0}}});
  auto c = Config(4, 100'000);
  c.record_batches = true;
  c.turnaround_ns = 50 * kMs;  // ignored: the logged host work replaces it
  auto r = PipelineSimulator::Run(burst, fit, c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batch_trace.size(), 2u);
  // One instance: the second batch is taken when the first is handed on.
  EXPECT_EQ(r->batch_trace[1].dispatch_ns, 7 * kMs);
  EXPECT_EQ(r->batch_trace[1].overhead_ns, 2 * kMs);
  EXPECT_DOUBLE_EQ(r->p50_ms, 10.5);  // 4 done at 7 ms, 4 at 14 ms
  // Two instances on one device: the second batch waits for the device
  // (5-10 ms), and its host work overlaps the first instance's.
  c.instances = 2;
  r = PipelineSimulator::Run(burst, fit, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->batch_trace[1].device_start_ns, 5 * kMs);
  EXPECT_DOUBLE_EQ(r->p50_ms, 9.5);  // 4 at 7 ms, 4 at 12 ms
}

TEST(PipelineSimulatorTest, HostWorkIsALineInTheBatchSizePlusPooledResiduals) {
  // Medians 0.3 ms at b=1 (9 batches) and 0.6 ms at b=4 (3 batches): a line
  // of 0.1 ms per image over 0.2 ms. One 12 ms stall among the three
  // batches of 4 becomes one residual among twelve, for every size.
  auto fit = DeterministicCurve(1.0, 1.0);
  fit.SetOverheadUs({{1, std::vector<double>(9, 300.0)}, {4, {600.0, 600.0, 12'000.0}}});
  EXPECT_NEAR(fit.overhead_slope_us(), 100.0, 1e-9);
  EXPECT_NEAR(fit.overhead_base_us(), 200.0, 1e-9);
  std::mt19937_64 rng(7);
  int stalls = 0;
  const int draws = 12'000;
  for (int i = 0; i < draws; ++i) {
    const double us = fit.SampleOverheadUs(8, rng);
    if (us > 5000) {
      ++stalls;
      EXPECT_NEAR(us, 12'000.0 + 400.0, 1e-6);  // the stall on top of the line at b=8
    } else {
      EXPECT_NEAR(us, 1000.0, 1e-6);  // 0.2 + 8 x 0.1 ms
    }
  }
  EXPECT_NEAR(static_cast<double>(stalls) / draws, 1.0 / 12, 0.01);
}

TEST(PipelineSimulatorTest, TurnaroundDelaysTheNextBatchNotTheRequests) {
  // As above, with 1 ms of bookkeeping after each batch: the second batch
  // starts at 6 ms; the first four still finish at 5 ms.
  std::vector<SimulatedRequest> burst(8, SimulatedRequest{0, 0, 0, 0});
  auto c = Config(4, 100'000);
  c.record_batches = true;
  c.turnaround_ns = 1 * kMs;
  auto r = PipelineSimulator::Run(burst, DeterministicCurve(1.0, 1.0), c);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batch_trace.size(), 2u);
  EXPECT_EQ(r->batch_trace[1].dispatch_ns, 6 * kMs);
  EXPECT_DOUBLE_EQ(r->p50_ms, 8.0);  // 4 at 5 ms, 4 at 11 ms
  EXPECT_DOUBLE_EQ(r->device_busy_fraction, 10.0 / 11.0);
}

TEST(PipelineSimulatorTest, BurstRejectionsMatchTheQueueLimit) {
  // 1000 requests at once, preprocessing 1 ms on one worker, queue 50:
  // one request is being preprocessed and 50 wait; the other 949 get 503.
  std::vector<SimulatedRequest> burst(1000, SimulatedRequest{0, 1 * kMs, 0, 0});
  auto r = PipelineSimulator::Run(burst, DeterministicCurve(1.0, 1.0), Config(8, 0, 1, 50));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->served, 51);
  EXPECT_EQ(r->rejected, 949);
  EXPECT_NEAR(r->rejection_rate, 0.949, 1e-12);
}

TEST(PipelineSimulatorTest, MeasurementWindowLeavesTheWarmUpOut) {
  // A burst of 1000 at t = 0 (949 refused, as above), then one request
  // every 10 ms from t = 1 s, by when the burst is long gone.
  std::vector<SimulatedRequest> reqs(1000, SimulatedRequest{0, 1 * kMs, 0, 0});
  for (int i = 0; i < 100; ++i) reqs.push_back({1000 * kMs + i * 10 * kMs, 1 * kMs, 0, 0});
  auto all = PipelineSimulator::Run(reqs, DeterministicCurve(1.0, 1.0), Config(8, 0, 1, 50));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->offered, 1100);
  EXPECT_EQ(all->rejected, 949);
  auto c = Config(8, 0, 1, 50);
  c.measure_from_ns = 1000 * kMs;
  auto steady = PipelineSimulator::Run(reqs, DeterministicCurve(1.0, 1.0), c);
  ASSERT_TRUE(steady.ok());
  EXPECT_EQ(steady->offered, 100);
  EXPECT_EQ(steady->rejected, 0);
  EXPECT_EQ(steady->served, 100);
  EXPECT_DOUBLE_EQ(steady->p99_ms, 3.0);  // 1 ms preprocess + 2 ms device
  EXPECT_DOUBLE_EQ(steady->mean_batch_size, 1.0);
  EXPECT_NEAR(steady->span_s, 0.99 + 0.003, 1e-9);
  EXPECT_GT(steady->largest_batch, 1);  // the burst's batches still show here
}

TEST(PipelineSimulatorTest, SustainedOverloadServesCapacityAndRejectsTheRest) {
  // Arrivals every 5 ms (200/s) for 10 s; max batch 1, 10 ms per batch
  // (100/s). The device serves ~1000 in 10 s plus the queue it drains at
  // the end; everything else is refused at the queue limit.
  const int n = 2000, queue = 40;
  auto r = PipelineSimulator::Run(Periodic(n, 5 * kMs), DeterministicCurve(9.0, 1.0),
                                  Config(1, 0, 1, queue));
  ASSERT_TRUE(r.ok());
  const double expected_served = 10'000.0 / 10.0 + queue;
  EXPECT_NEAR(static_cast<double>(r->served), expected_served, 3);
  EXPECT_EQ(r->served + r->rejected, n);
  EXPECT_NEAR(r->device_busy_fraction, 1.0, 0.01);
  EXPECT_NEAR(r->mean_queue_length, queue, 2);  // a full queue is what arrivals see
  // Doubling instances, each on its own device, meets the load.
  auto c2 = Config(1, 0, 2, queue);
  c2.devices = 2;
  auto r2 = PipelineSimulator::Run(Periodic(n, 5 * kMs), DeterministicCurve(9.0, 1.0), c2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->rejected, 0);
  EXPECT_DOUBLE_EQ(r2->p99_ms, 10.0);
}

TEST(PipelineSimulatorTest, SingleObservedSizeCannotPredictOtherSizes) {
  auto one = BatchLatencyFit::Create({{1, std::vector<double>(10, 2000.0)}});
  ASSERT_TRUE(one.ok());
  // Max batch 1: only size 1 forms; predictable.
  auto ok = PipelineSimulator::Run(Periodic(100, 1 * kMs), *one, Config(1, 0));
  EXPECT_TRUE(ok.ok());
  // Max batch 8 under overload forms batches of 2+: no estimate.
  auto r = PipelineSimulator::Run(Periodic(100, 1 * kMs), *one, Config(8, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cannot predict: needs batch times for at least two"),
            std::string::npos);
}

TEST(PipelineSimulatorTest, ServiceScaleLengthensEveryBatch) {
  // As BelowCapacityNothingQueues, with the device 10 % slower: 2.2 ms.
  const auto curve = DeterministicCurve(1.0, 1.0);
  auto c = Config(8, 0);
  c.service_scale = 1.1;
  auto r = PipelineSimulator::Run(Periodic(200, 10 * kMs, 1 * kMs, 1 * kMs), curve, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NEAR(r->p50_ms, 4.2, 1e-9);
  EXPECT_NEAR(r->device_busy_fraction, 200 * 2.2 / (199 * 10 + 4.2), 1e-9);
  c.service_scale = 0;
  EXPECT_EQ(PipelineSimulator::Run(Periodic(3, kMs), curve, c).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PipelineSimulatorTest, AWaitingInstanceWakesLateAndLaterArrivalsJoinItsBatch) {
  // Pairs of requests 0.2 ms apart every 20 ms; max batch 2, no window;
  // device 1 + 1 b ms. Deciding at once, the first goes alone (2 ms) and
  // the second waits for it: 2 and 3.8 ms. Waking 0.5 ms late, the
  // instance finds both and runs them together (3 ms): 3.5 and 3.3 ms.
  const auto curve = DeterministicCurve(1.0, 1.0);
  std::vector<SimulatedRequest> pairs;
  for (int i = 0; i < 50; ++i) {
    pairs.push_back({i * 20 * kMs, 0, 0, 0});
    pairs.push_back({i * 20 * kMs + kMs / 5, 0, 0, 0});
  }
  auto c = Config(2, 0);
  auto at_once = PipelineSimulator::Run(pairs, curve, c);
  ASSERT_TRUE(at_once.ok());
  EXPECT_DOUBLE_EQ(at_once->mean_batch_size, 1.0);
  EXPECT_NEAR(at_once->mean_ms, (2.0 + 3.8) / 2, 1e-9);
  c.wake_ns = {kMs / 2};
  auto late = PipelineSimulator::Run(pairs, curve, c);
  ASSERT_TRUE(late.ok());
  EXPECT_DOUBLE_EQ(late->mean_batch_size, 2.0);
  EXPECT_NEAR(late->mean_ms, (3.5 + 3.3) / 2, 1e-9);

  // A window's end wakes it late too: one request every 10 ms, window
  // 1 ms, device 2 ms: 3 ms at once, 3.5 ms waking 0.5 ms late.
  auto w = Config(4, 1000);
  auto timer = PipelineSimulator::Run(Periodic(20, 10 * kMs), curve, w);
  ASSERT_TRUE(timer.ok());
  EXPECT_NEAR(timer->p50_ms, 3.0, 1e-9);
  w.wake_ns = {kMs / 2};
  timer = PipelineSimulator::Run(Periodic(20, 10 * kMs), curve, w);
  ASSERT_TRUE(timer.ok());
  EXPECT_NEAR(timer->p50_ms, 3.5, 1e-9);

  // An instance that has just finished a batch decides at once: a burst of
  // 6 at t = 0 (max batch 2) pays the wake-up once, not per batch.
  std::vector<SimulatedRequest> burst(6, SimulatedRequest{0, 0, 0, 0});
  auto b = Config(2, 0);
  b.wake_ns = {kMs / 2};
  b.record_batches = true;
  auto backlog = PipelineSimulator::Run(burst, curve, b);
  ASSERT_TRUE(backlog.ok());
  ASSERT_EQ(backlog->batch_trace.size(), 3u);
  EXPECT_EQ(backlog->batch_trace[0].dispatch_ns, kMs / 2);
  EXPECT_EQ(backlog->batch_trace[1].dispatch_ns, kMs / 2 + 3 * kMs);
  EXPECT_EQ(backlog->batch_trace[2].dispatch_ns, kMs / 2 + 6 * kMs);

  b.wake_ns = {-1};
  EXPECT_EQ(PipelineSimulator::Run(burst, curve, b).status().code(), StatusCode::kInvalidArgument);
}

TEST(PipelineSimulatorTest, RejectsUnsortedArrivalsAndBadConfig) {
  const auto curve = DeterministicCurve(1.0, 1.0);
  std::vector<SimulatedRequest> bad = {{10, 0, 0, 0}, {5, 0, 0, 0}};
  EXPECT_EQ(PipelineSimulator::Run(bad, curve, Config(4, 0)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(PipelineSimulator::Run(Periodic(3, kMs), curve, Config(0, 0)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace yoloscope
