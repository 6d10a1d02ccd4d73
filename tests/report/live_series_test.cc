#include "server/live_series.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace yoloscope {
namespace {

using Json = nlohmann::json;

RequestLogRecord Request(double total_ms, int batch, double inference_ms,
                         std::string status = "ok") {
  RequestLogRecord r;
  r.status = std::move(status);
  r.total_ms = total_ms;
  r.queue_ms = total_ms * 0.5;
  r.inference_ms = inference_ms;
  r.batch_size = batch;
  r.queue_len = 3;
  r.mem_used_mb = 9000;
  r.mem_total_mb = 24564;
  return r;
}

const Json* Chart(const Json& snapshot, const std::string& id) {
  for (const auto& c : snapshot["charts"]["charts"]) {
    if (c["id"] == id) return &c;
  }
  return nullptr;
}

TEST(LiveSeriesTest, SummaryCoversTheLastCompleteSeconds) {
  FakeClock clock(1'000'000'000, 1'767'225'600'000'000);  // exactly on a second
  LiveSeries live({.window_s = 60, .summary_s = 10}, &clock);
  for (int s = 0; s < 20; ++s) {
    for (int i = 0; i < 100; ++i) {
      live.AddRequest(Request(i < 98 ? 10.0 : 200.0, 4, 8.0, i == 0 ? "timeout" : "ok"));
    }
    clock.AdvanceMs(1000);
  }
  DeviceSample gpu;
  gpu.gpu_util = 70;
  gpu.mem_used_mb = 9100;
  gpu.mem_total_mb = 24564;
  clock.AdvanceMs(-1);  // (FakeClock only moves forward; AdvanceNs with a negative is fine here)
  live.AddGpuSample(gpu);
  clock.AdvanceMs(1001);
  const Json snap = live.Snapshot();
  EXPECT_EQ(snap["schema"], "yoloscope.live.v1");
  const Json& sum = snap["summary"];
  EXPECT_NEAR(sum["requests_per_s"].get<double>(), 90.0,
              0.01);  // 9 full seconds of 100 + gpu second
  EXPECT_NEAR(sum["p50_ms"].get<double>(), 10.0, 10.0 * 0.05);
  EXPECT_NEAR(sum["p99_ms"].get<double>(), 200.0, 200.0 * 0.05);
  EXPECT_NEAR(sum["error_rate"].get<double>(), 0.01, 1e-9);
  EXPECT_DOUBLE_EQ(sum["queue_len"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(sum["batch_size"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(sum["mem_used_mb"].get<double>(), 9100.0);
  EXPECT_DOUBLE_EQ(sum["gpu_util"].get<double>(), 70.0);
}

TEST(LiveSeriesTest, ChartsHaveOneRowPerSecondOfTheWindow) {
  FakeClock clock(1'000'000'000, 1'767'225'600'000'000);
  LiveSeries live({.window_s = 30, .summary_s = 5}, &clock);
  for (int s = 0; s < 50; ++s) {
    live.AddRequest(Request(20.0, 1 + s % 8, 2.0 + 0.5 * (1 + s % 8)));
    clock.AdvanceMs(1000);
  }
  {
    // A young series: the charts start at its first second (>= 30 rows).
    FakeClock young_clock(1'000'000'000, 1'767'225'600'000'000);
    LiveSeries young({.window_s = 300}, &young_clock);
    for (int s = 0; s < 40; ++s) {
      young.AddRequest(Request(20.0, 1, 2.0));
      young_clock.AdvanceMs(1000);
    }
    const Json y = young.Snapshot();
    const Json* t = Chart(y, kChartThroughput);
    EXPECT_EQ((*t)["x"].size(), 40u);
    EXPECT_DOUBLE_EQ((*t)["x"][0].get<double>(), 1'767'225'600.0);
  }
  const Json snap = live.Snapshot();
  for (const char* id : {kChartLatencyStages, kChartLatencyPercentiles, kChartThroughput,
                         kChartGpuMemory, kChartQueue}) {
    const Json* c = Chart(snap, id);
    ASSERT_NE(c, nullptr) << id;
    EXPECT_EQ((*c)["x"].size(), 30u) << id;
    EXPECT_FALSE((*c)["series"].empty()) << id;
  }
  const Json* x = Chart(snap, kChartThroughput);
  // The last row is the last complete second; seconds are consecutive.
  EXPECT_DOUBLE_EQ((*x)["x"].back().get<double>(), 1'767'225'600.0 + 49);
  // GPU utilisation: no samples -> no series, a note.
  const Json* gpu = Chart(snap, kChartGpuUtil);
  ASSERT_NE(gpu, nullptr);
  EXPECT_TRUE((*gpu)["series"].empty());
  EXPECT_NE((*gpu)["note"], "");
  // Inference vs batch size: the points and the fitted line (0.5 ms per image).
  const Json* sc = Chart(snap, kChartInferenceVsBatch);
  ASSERT_NE(sc, nullptr);
  ASSERT_EQ((*sc)["series"].size(), 2u);
  EXPECT_NE((*sc)["series"][1]["label"].get<std::string>().find("0.5 ms x batch"),
            std::string::npos)
      << (*sc)["series"][1]["label"];
  const Json* bars = Chart(snap, kChartBatchSizes);
  EXPECT_EQ((*bars)["x_labels"].size(), 8u);
}

TEST(LiveSeriesTest, OldSecondsFallOutOfTheWindow) {
  FakeClock clock(1'000'000'000, 1'767'225'600'000'000);
  LiveSeries live({.window_s = 10, .summary_s = 10}, &clock);
  live.AddRequest(Request(5, 1, 1));
  clock.AdvanceMs(30'000);  // the slot is reused only if written; reads check the second
  const Json snap = live.Snapshot();
  EXPECT_EQ(snap["summary"]["requests"], 0);
  EXPECT_TRUE(snap["summary"]["p50_ms"].is_null());
  const Json* thr = Chart(snap, kChartThroughput);
  for (const auto& v : (*thr)["series"][0]["values"]) EXPECT_EQ(v.get<double>(), 0.0);
}

TEST(LiveSeriesTest, OomsAndRetriesBecomeMarkers) {
  FakeClock clock(1'000'000'000, 1'767'225'600'000'000);
  LiveSeries live({.window_s = 10}, &clock);
  RequestLogRecord r = Request(5, 8, 1, "oom");
  r.oom = true;
  r.alloc_retries = 3;
  live.AddRequest(r);
  clock.AdvanceMs(1000);
  const Json snap = live.Snapshot();
  const Json* mem = Chart(snap, kChartGpuMemory);
  ASSERT_NE(mem, nullptr);
  int markers = 0;
  for (const auto& s : (*mem)["series"]) {
    if (s["label"] != "OOM" && s["label"] != "allocation retries") continue;
    for (const auto& v : s["values"]) markers += v.is_number();
  }
  EXPECT_EQ(markers, 2);
}

TEST(LiveSeriesTest, ConcurrentWritersAndReaders) {
  RealClock clock;
  LiveSeries live({.window_s = 60}, &clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) live.AddRequest(Request(1 + i % 50, 1 + i % 4, 1));
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 50; ++i) (void)live.Snapshot();
  });
  for (auto& t : threads) t.join();
  SUCCEED();
}

}  // namespace
}  // namespace yoloscope

namespace yoloscope {
namespace {

// Overload: refusals answered in microseconds are counted as refused, never
// as latency samples, so p50/p99 are the served requests' (issue 16).
TEST(LiveSeriesTest, ServedRefusedAndFailedAreSeparate) {
  FakeClock clock(1'000'000'000, 1'767'225'600'000'000);
  LiveSeries live({.window_s = 60, .summary_s = 10}, &clock);
  for (int s = 0; s < 12; ++s) {
    for (int i = 0; i < 100; ++i) {
      // 20 served at 800 ms, 70 refused at 0.1 ms, 10 timed out at 2 s.
      const bool served = i < 20, refused = i >= 20 && i < 90;
      live.AddRequest(Request(served    ? 800.0
                              : refused ? 0.1
                                        : 2000.0,
                              4, 8.0,
                              served    ? "ok"
                              : refused ? "queue_full"
                                        : "timeout"));
    }
    clock.AdvanceMs(1000);
  }
  const Json snap = live.Snapshot();
  const Json& sum = snap["summary"];
  EXPECT_NEAR(sum["requests_per_s"].get<double>(), 100.0, 1e-9);
  EXPECT_NEAR(sum["served_per_s"].get<double>(), 20.0, 1e-9);
  EXPECT_NEAR(sum["refused_per_s"].get<double>(), 70.0, 1e-9);
  EXPECT_NEAR(sum["failed_per_s"].get<double>(), 10.0, 1e-9);
  EXPECT_EQ(sum["served"], 200);
  EXPECT_NEAR(sum["p50_ms"].get<double>(), 800.0, 800.0 * 0.05);  // not 0.1 ms
  EXPECT_NEAR(sum["p99_ms"].get<double>(), 800.0, 800.0 * 0.05);  // not 2 s
  EXPECT_NEAR(sum["error_rate"].get<double>(), 0.8, 1e-9);
  // The throughput chart shows what arrived and what was served.
  const Json* thr = Chart(snap, kChartThroughput);
  ASSERT_NE(thr, nullptr);
  bool arriving = false, served = false;
  for (const auto& series : (*thr)["series"]) {
    const std::string label = series["label"];
    const double last = series["values"].back().get<double>();
    if (label == "arriving") arriving = last == 100.0;
    if (label == "served") served = last == 20.0;
  }
  EXPECT_TRUE(arriving && served) << (*thr)["series"].dump();
}

}  // namespace
}  // namespace yoloscope
