#include "telemetry/process_telemetry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

namespace yoloscope {
namespace {

// Keeps the calling thread busy until it has used `ms` of CPU time (not wall
// time: on a loaded machine the spin may take longer in wall time).
void SpinCpu(int ms) {
  auto cpu_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  };
  const int64_t end = cpu_ns() + int64_t{ms} * 1'000'000;
  std::atomic<uint64_t> x{0};
  while (cpu_ns() < end) x.fetch_add(1, std::memory_order_relaxed);
}

TEST(ProcessTelemetryTest, ReportsPlausibleProcessAndHostFacts) {
  RealClock clock;
  auto t = ProcessTelemetry::Create(ProcessTelemetryConfig{}, &clock);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->kind(), "process");
  EXPECT_GE((*t)->cores(), 1);
  clock.SleepForNs(20'000'000);
  auto samples = (*t)->Sample();
  ASSERT_TRUE(samples.ok()) << samples.status().ToString();
  ASSERT_EQ(samples->size(), 1u);
  const DeviceSample& s = (*samples)[0];
  EXPECT_EQ(s.device, "cpu");
  EXPECT_FALSE(s.gpu_id.has_value());
  EXPECT_FALSE(s.gpu_util.has_value());  // no GPU: unknown, never 0.
  EXPECT_FALSE(s.mem_total_mb.has_value());
  ASSERT_TRUE(s.process_rss_mb.has_value());
  EXPECT_GT(*s.process_rss_mb, 0.5);
  ASSERT_TRUE(s.host_mem_total_mb.has_value());
  ASSERT_TRUE(s.host_mem_used_mb.has_value());
  EXPECT_GT(*s.host_mem_total_mb, *s.process_rss_mb);
  EXPECT_GT(*s.host_mem_used_mb, 0);
  EXPECT_LE(*s.host_mem_used_mb, *s.host_mem_total_mb);
  ASSERT_TRUE(s.process_cpu_util.has_value());
  EXPECT_GE(*s.process_cpu_util, 0);
  EXPECT_LE(*s.process_cpu_util, 100);
}

TEST(ProcessTelemetryTest, CpuUtilRisesWhenAThreadSpins) {
  RealClock clock;
  auto t = ProcessTelemetry::Create(ProcessTelemetryConfig{}, &clock);
  ASSERT_TRUE(t.ok());
  // Idle interval.
  ASSERT_TRUE((*t)->Sample().ok());
  clock.SleepForNs(200'000'000);
  auto idle = (*t)->Sample();
  ASSERT_TRUE(idle.ok());
  // Busy interval: one thread spends 200 ms of CPU time.
  int64_t t0 = clock.NowNs();
  std::thread spinner([] { SpinCpu(200); });
  spinner.join();
  auto busy = (*t)->Sample();
  int64_t t1 = clock.NowNs();
  ASSERT_TRUE(busy.ok());
  double idle_util = *(*idle)[0].process_cpu_util;
  double busy_util = *(*busy)[0].process_cpu_util;
  EXPECT_GT(busy_util, idle_util);
  // The CPU time the percentage implies over the interval: ~0.2 s (loose:
  // 10 ms tick resolution; the wall interval may be long on a loaded host).
  double implied_cpu_s = busy_util / 100.0 * (*t)->cores() * ((t1 - t0) / 1e9);
  EXPECT_GT(implied_cpu_s, 0.15) << "idle " << idle_util << "% busy " << busy_util << "%";
  EXPECT_LT(implied_cpu_s, 0.2 + 0.1 + (t1 - t0) / 1e9);
}

TEST(ProcessTelemetryTest, MissingProcIsUnavailable) {
  RealClock clock;
  ProcessTelemetryConfig config;
  config.proc_root = "/nonexistent-proc";
  auto t = ProcessTelemetry::Create(config, &clock);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace yoloscope
