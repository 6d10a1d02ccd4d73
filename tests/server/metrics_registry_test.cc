#include "server/metrics_registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace yoloscope {
namespace {

TEST(MetricsRegistryTest, RendersCountersGaugesAndHistograms) {
  MetricsRegistry reg;
  Counter* ok = reg.GetCounter("ys_requests_total", "Requests.", {{"code", "200"}});
  Counter* bad = reg.GetCounter("ys_requests_total", "Requests.", {{"code", "400"}});
  EXPECT_EQ(reg.GetCounter("ys_requests_total", "Requests.", {{"code", "200"}}), ok);
  ok->Inc(3);
  bad->Inc();
  reg.GetGauge("ys_queue_length", "Queue.")->Set(2.5);
  std::vector<double> bounds = {0.001, 0.01, 0.1};
  Histogram* h = reg.GetHistogram("ys_latency_seconds", "Latency.", bounds, {{"stage", "total"}});
  h->Observe(0.0005);
  h->Observe(0.001);  // on the bound: counts in le="0.001"
  h->Observe(0.05);
  h->Observe(7);
  std::string text = reg.Render();
  EXPECT_NE(text.find("# TYPE ys_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("ys_requests_total{code=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ys_requests_total{code=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("ys_queue_length 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("ys_latency_seconds_bucket{stage=\"total\",le=\"0.001\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ys_latency_seconds_bucket{stage=\"total\",le=\"0.1\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("ys_latency_seconds_bucket{stage=\"total\",le=\"+Inf\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("ys_latency_seconds_count{stage=\"total\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("ys_latency_seconds_sum{stage=\"total\"} 7.0515\n"), std::string::npos);
}

TEST(MetricsRegistryTest, EscapesLabelValues) {
  MetricsRegistry reg;
  reg.GetCounter("ys_x_total", "X.", {{"model", "a\"b\\c"}})->Inc();
  EXPECT_NE(reg.Render().find("ys_x_total{model=\"a\\\"b\\\\c\"} 1"), std::string::npos);
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry reg;
  Counter* c = reg.GetCounter("ys_c_total", "C.");
  Histogram* h = reg.GetHistogram("ys_h_seconds", "H.", LatencyBucketsSeconds());
  Gauge* g = reg.GetGauge("ys_g", "G.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.002);
        g->Add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(g->value(), 40000.0);
  std::vector<uint64_t> cum;
  uint64_t count;
  double sum;
  h->Snapshot(&cum, &count, &sum);
  EXPECT_EQ(count, 40000u);
  EXPECT_NEAR(sum, 80.0, 1e-6);
}

}  // namespace
}  // namespace yoloscope
