// EngineProfiler on backends that need no model file: the simulated GPU on
// a FakeClock (so the measured curve is exactly the configured one) and the
// identity test backend (real time, process RSS).
#include "bench/engine_profiler.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "backends/sim_backend.h"
#include "bench/batching_advisor.h"

namespace yoloscope {
namespace {

SimGpuConfig QuietSim() {
  SimGpuConfig sim;
  sim.latency.base_ms = 1.46;
  sim.latency.per_image_ms = 0.142;
  sim.latency.jitter_pct = 0;
  sim.device.pcie_gbps = 1e6;  // copies negligible: the curve is the compute model
  sim.device.copy_latency_us = 0;
  return sim;
}

StatusOr<std::unique_ptr<Backend>> MakeSim(const SimGpuConfig& sim, Clock* clock) {
  BackendConfig bc;
  bc.kind = "sim";
  bc.max_batch = 32;
  YS_ASSIGN_OR_RETURN(std::unique_ptr<SimBackend> b, SimBackend::Create(bc, sim, clock));
  return std::unique_ptr<Backend>(std::move(b));
}

TEST(EngineProfilerTest, MeasuresTheSimulatedCurveExactlyOnAFakeClock) {
  FakeClock clock;
  SimGpuConfig sim = QuietSim();
  auto backend = MakeSim(sim, &clock);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  auto model = SimGpuModel::Create(sim, &clock);
  ASSERT_TRUE(model.ok());

  EngineProfilerConfig config;
  config.batch_sizes = {8, 1, 2, 4, 2};  // sorted and de-duplicated
  config.iterations = 5;
  auto profiler = EngineProfiler::Create(config, &clock, std::move(backend).value());
  ASSERT_TRUE(profiler.ok()) << profiler.status().ToString();
  int calls = 0;
  auto curve = (*profiler)->Run([&](const CurvePoint&) { ++calls; });
  ASSERT_TRUE(curve.ok()) << curve.status().ToString();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(curve->backend, "sim");
  EXPECT_EQ(curve->input_w, 640);
  ASSERT_EQ(curve->points.size(), 4u);
  double last_memory = 0;
  for (const CurvePoint& p : curve->points) {
    const double expected = (*model)->BaseLatencyMs(p.batch_size);
    EXPECT_NEAR(p.p50_ms, expected, expected * 0.01) << "batch " << p.batch_size;
    EXPECT_NEAR(p.p99_ms, expected, expected * 0.01);
    EXPECT_EQ(p.iterations, 5);
    EXPECT_NEAR(p.per_image_ms, p.p50_ms / p.batch_size, 1e-9);
    EXPECT_NEAR(p.throughput_ips, p.batch_size * 1000 / p.mean_ms, 1e-6);
    ASSERT_TRUE(p.peak_memory_mb.has_value());
    EXPECT_EQ(p.memory_kind, "device_reserved");
    EXPECT_GE(*p.peak_memory_mb, last_memory);  // activations grow with the batch
    last_memory = *p.peak_memory_mb;
  }
  // Batching pays on this curve: the advisor batches under load.
  AdvisorConfig advice;
  advice.arrival_rate = 2500;
  advice.slo_p99_ms = 25;
  auto rec = BatchingAdvisor::Create(advice)->Recommend(*curve);
  ASSERT_TRUE(rec.ok());
  EXPECT_TRUE(rec->batching_helps);
  EXPECT_GT(rec->max_batch_size, 1);
  EXPECT_TRUE(rec->meets_slo) << rec->ToText();
}

TEST(EngineProfilerTest, SavedCurveDrivesTheSimulatorToTheSameLatencies) {
  FakeClock clock;
  auto backend = MakeSim(QuietSim(), &clock);
  ASSERT_TRUE(backend.ok());
  EngineProfilerConfig config;
  config.batch_sizes = {1, 4, 16};
  config.iterations = 3;
  auto curve = (*EngineProfiler::Create(config, &clock, std::move(backend).value()))->Run();
  ASSERT_TRUE(curve.ok());
  const auto path =
      std::filesystem::temp_directory_path() / ("ys_profiled_" + std::to_string(getpid()) + ".csv");
  ASSERT_TRUE(curve->Save(path.string()).ok());

  // A sim whose latency is the saved curve (no formula) measures the same.
  SimGpuConfig replayed = QuietSim();
  auto points = LoadLatencyCurve(path.string());
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  replayed.latency.curve = *points;
  FakeClock clock2;
  auto backend2 = MakeSim(replayed, &clock2);
  ASSERT_TRUE(backend2.ok()) << backend2.status().ToString();
  auto again = (*EngineProfiler::Create(config, &clock2, std::move(backend2).value()))->Run();
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < curve->points.size(); ++i) {
    EXPECT_NEAR(again->points[i].p50_ms, curve->points[i].p50_ms, 1e-3);
  }
  std::filesystem::remove(path);
}

TEST(EngineProfilerTest, IdentityBackendByTimeReportsRss) {
  EngineProfilerConfig config;
  config.backend.kind = "identity";
  config.batch_sizes = {1, 2};
  config.min_iterations = 3;
  config.min_time_ms = 20;
  auto profiler = EngineProfiler::Create(config);
  ASSERT_TRUE(profiler.ok()) << profiler.status().ToString();
  auto curve = (*profiler)->Run();
  ASSERT_TRUE(curve.ok()) << curve.status().ToString();
  ASSERT_EQ(curve->points.size(), 2u);
  for (const CurvePoint& p : curve->points) {
    EXPECT_GE(p.iterations, 3);
    EXPECT_GT(p.throughput_ips, 0);
    ASSERT_TRUE(p.peak_memory_mb.has_value());
    EXPECT_EQ(p.memory_kind, "rss_peak");
    EXPECT_GT(*p.peak_memory_mb, 1);
  }
}

TEST(EngineProfilerTest, RejectsBadConfigs) {
  EngineProfilerConfig config;
  config.backend.kind = "identity";
  config.batch_sizes = {};
  EXPECT_EQ(EngineProfiler::Create(config).status().code(), StatusCode::kInvalidArgument);
  config.batch_sizes = {0};
  EXPECT_EQ(EngineProfiler::Create(config).status().code(), StatusCode::kInvalidArgument);
  config.batch_sizes = {1};
  config.backend.kind = "torch";
  config.backend.model_path = "/nonexistent/model.torchscript";
  EXPECT_FALSE(EngineProfiler::Create(config).ok());
}

TEST(EngineProfilerTest, PeakRssHelpers) {
  auto rss = ProcessPeakRssMb();
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, 0);
}

}  // namespace
}  // namespace yoloscope
