// The batching policy is shared, not re-implemented: the what-if simulator
// and the server's real DynamicBatcher (driven here with a FakeClock, as a
// device worker would drive it) must form the same batches -- same times,
// sizes, reasons and instances -- on the same arrival sequence.
#include <gtest/gtest.h>

#include <deque>
#include <limits>
#include <random>
#include <set>

#include "batching/dynamic_batcher.h"
#include "common/clock.h"
#include "whatif/pipeline_simulator.h"

namespace yoloscope {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// Device time of a batch: base + per image, in microseconds.
struct Device {
  int64_t base_us = 2500;
  int64_t per_image_us = 700;
  int64_t ServiceNs(int b) const { return (base_us + per_image_us * b) * 1000; }
};

BatchLatencyFit Curve(int max_size, const Device& device) {
  std::map<int, std::vector<double>> samples;
  for (int b = 1; b <= max_size; ++b) {
    samples[b] = std::vector<double>(5, device.ServiceNs(b) / 1000.0);
  }
  return *BatchLatencyFit::Create(samples);
}

// Poisson-ish arrivals on a nanosecond grid (ties with other events are
// vanishingly unlikely), with bursts, so every rule gets exercised.
std::vector<int64_t> Arrivals(int n, double mean_gap_us, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> gap(1.0 / (mean_gap_us * 1000.0));
  std::vector<int64_t> out;
  int64_t t = 1'000'003;
  for (int i = 0; i < n; ++i) {
    const bool burst = (i / 40) % 3 == 2;  // every third block of 40 comes 8x faster
    t += 1 + static_cast<int64_t>(gap(rng) / (burst ? 8.0 : 1.0));
    out.push_back(t);
  }
  return out;
}

// The real batcher as InferenceService's device workers use it: an idle
// instance asks for a batch; otherwise it sleeps until the decision's wake
// time or the next arrival. Events are taken one at a time in time order.
std::vector<SimulatedBatch> RunRealBatcher(const BatcherConfig& config, int instances,
                                           const std::vector<int64_t>& arrivals,
                                           const Device& device) {
  FakeClock clock(0);
  auto batcher = DynamicBatcher<int>::Create(config, &clock);
  EXPECT_TRUE(batcher.ok());
  std::vector<SimulatedBatch> trace;
  std::vector<int64_t> free_at(instances, kNever);
  std::vector<int> running(instances, 0);
  std::deque<int> idle;
  for (int i = 0; i < instances; ++i) idle.push_back(i);
  int64_t wake = kNever;
  size_t next = 0;
  Batch<int> batch;
  auto dispatch = [&](int64_t now) {
    while (!idle.empty()) {
      if (!(*batcher)->TryGetBatch(now, &batch)) {
        const BatchDecision d = (*batcher)->Poll(now);
        wake = d.action == BatchAction::kWait ? d.wake_at_ns : kNever;
        return;
      }
      const int inst = idle.front();
      idle.pop_front();
      trace.push_back(
          SimulatedBatch{now, batch.size(), batch.reason, inst, device.ServiceNs(batch.size())});
      running[inst] = batch.size();
      free_at[inst] = now + device.ServiceNs(batch.size());
    }
  };
  while (true) {
    int64_t t_done = kNever;
    int done_inst = -1;
    for (int i = 0; i < instances; ++i) {
      if (free_at[i] < t_done) t_done = free_at[i], done_inst = i;
    }
    const int64_t t_arr = next < arrivals.size() ? arrivals[next] : kNever;
    const int64_t t = std::min({t_done, t_arr, wake});
    if (t == kNever) break;
    clock.SetNowNs(t);
    if (t == t_done) {
      (*batcher)->OnBatchFinished(running[done_inst],
                                  device.ServiceNs(running[done_inst]) / 1000);
      free_at[done_inst] = kNever;
      idle.push_back(done_inst);
    } else if (t == t_arr) {
      EXPECT_TRUE((*batcher)->Enqueue(static_cast<int>(next)).ok());
      ++next;
    } else {
      wake = kNever;
    }
    dispatch(t);
  }
  return trace;
}

std::vector<SimulatedBatch> RunSimulator(const BatcherConfig& config, int instances,
                                         const std::vector<int64_t>& arrivals,
                                         const Device& device) {
  std::vector<SimulatedRequest> requests;
  for (int64_t t : arrivals) requests.push_back({t, 0, 0, 0});
  SimulationConfig c;
  c.batcher = config;
  c.instances = instances;
  c.devices = instances;     // the fake device above runs instances side by side
  c.preprocess_workers = 1;  // zero preprocessing time: enqueued on arrival
  c.record_batches = true;
  auto r = PipelineSimulator::Run(requests, Curve(config.max_batch_size, device), c);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->batch_trace : std::vector<SimulatedBatch>{};
}

// The reasons seen, for the caller to check that the rules it targets ran.
std::set<BatchReason> ExpectSameBatches(const BatcherConfig& config, int instances,
                                        double mean_gap_us, uint64_t seed,
                                        const Device& device = Device{}) {
  const auto arrivals = Arrivals(600, mean_gap_us, seed);
  const auto real = RunRealBatcher(config, instances, arrivals, device);
  const auto sim = RunSimulator(config, instances, arrivals, device);
  std::set<BatchReason> reasons;
  EXPECT_EQ(real.size(), sim.size());
  if (real.size() != sim.size()) return reasons;
  for (size_t i = 0; i < real.size(); ++i) {
    SCOPED_TRACE("batch " + std::to_string(i));
    EXPECT_EQ(real[i].dispatch_ns, sim[i].dispatch_ns);
    EXPECT_EQ(real[i].size, sim[i].size);
    EXPECT_EQ(real[i].reason, sim[i].reason);
    EXPECT_EQ(real[i].instance, sim[i].instance);
    reasons.insert(real[i].reason);
    if (testing::Test::HasFailure()) return reasons;
  }
  // The sequence must exercise more than one rule to mean anything.
  EXPECT_GE(reasons.size(), 2u);
  return reasons;
}

TEST(SharedPolicyTest, FixedWindowOneInstance) {
  BatcherConfig c;
  c.max_batch_size = 4;
  c.max_queue_delay_us = 2000;
  const auto reasons = ExpectSameBatches(c, 1, 1500, 1);
  EXPECT_TRUE(reasons.count(BatchReason::kQueueDelay));
  EXPECT_TRUE(reasons.count(BatchReason::kFull));
}

TEST(SharedPolicyTest, FixedWindowTwoInstancesWithPreferredSizes) {
  BatcherConfig c;
  c.max_batch_size = 8;
  c.max_queue_delay_us = 5000;
  c.preferred_batch_sizes = {4};
  const auto reasons = ExpectSameBatches(c, 2, 900, 2);
  EXPECT_TRUE(reasons.count(BatchReason::kPreferred));
}

TEST(SharedPolicyTest, NoWindow) {
  BatcherConfig c;
  c.max_batch_size = 8;
  c.max_queue_delay_us = 0;
  ExpectSameBatches(c, 1, 1200, 3);
}

TEST(SharedPolicyTest, AdaptivePolicyLearnsTheSameWay) {
  // The adaptive rule depends on the arrival-rate EWMA and the latency
  // curve the batcher learns: both are fed the same way in the simulator.
  BatcherConfig c;
  c.max_batch_size = 8;
  c.max_queue_delay_us = 8000;
  c.policy = BatchPolicy::kAdaptive;
  // A large fixed cost per batch makes waiting for company worth it.
  const auto reasons = ExpectSameBatches(c, 1, 2000, 4, Device{8000, 200});
  EXPECT_TRUE(reasons.count(BatchReason::kAdaptiveNow));
  // A wait that an arrival ends becomes a dispatch of another reason, so
  // look for its trace: batches larger than what was queued at the start.
  EXPECT_GE(reasons.size(), 2u);
}

}  // namespace
}  // namespace yoloscope
