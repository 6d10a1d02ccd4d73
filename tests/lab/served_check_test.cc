// The lab's check of the numbers around the findings (src/lab/served_check.h),
// on an overload log shaped like the `overload` scenario's: served requests
// wait ~1 s in the queue, refused ones are answered with queue_full in 0.2 ms.
// `lab_scenarios` applies the same check to every real scenario log.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "analyzer/analyze_command.h"
#include "lab/served_check.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

// 10 s: 300 served (total 1000..1299 ms), 700 refused in 0.2 ms, interleaved.
std::string WriteOverloadLog() {
  const fs::path dir = fs::temp_directory_path() / ("ys-served-check-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "requests.jsonl").string();
  std::ofstream out(path);
  for (int i = 0; i < 1000; ++i) {
    const bool served = i % 10 < 3;
    char ts[64];
    std::snprintf(ts, sizeof ts, "2026-01-01T00:00:%02d.%06dZ", i / 100, (i % 100) * 10000);
    out << "{\"event\":\"request\",\"schema\":\"yoloscope.v1\",\"ts\":\"" << ts
        << "\",\"request_id\":\"q" << i << "\",\"model\":\"m\",\"gpu_id\":null,\"queue_len\":48,";
    if (served) {
      out << "\"batch_size\":4,\"queue_ms\":" << 950 + i % 300 << ",\"inference_ms\":40,"
          << "\"total_ms\":" << 1000 + i % 300 << ",\"status\":\"ok\"}\n";
    } else {
      out << "\"total_ms\":0.2,\"status\":\"queue_full\",\"error\":\"queue is full\"}\n";
    }
  }
  return path;
}

TEST(ServedCheckTest, OverloadPercentilesAndCapacityAreTheServedOnes) {
  const std::string log = WriteOverloadLog();
  auto truth = ReadServedTruth(log);
  ASSERT_TRUE(truth.ok()) << truth.status().ToString();
  EXPECT_EQ(truth->requests, 1000);
  EXPECT_EQ(truth->served, 300);
  EXPECT_GE(truth->served_p50_ms, 1000);  // not the refusals' 0.2 ms
  EXPECT_GE(truth->served_p99_ms, 1280);
  EXPECT_NEAR(truth->served_rps, 300 / 9.99, 0.1);  // not the 100 rps arriving

  AnalyzeOptions ao;
  ao.paths = {log};
  ao.format = "json";
  auto report = AnalyzeCommand(ao).Analyze();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(CompareServedNumbers(*truth, *report).empty())
      << ::testing::PrintToString(CompareServedNumbers(*truth, *report));

  // What issue 16 found: capacity quoted from arrivals, percentiles mixed
  // with the refusals -- the check must catch both.
  AnalysisReport mixed = *report;
  mixed.summary.served_rps = mixed.summary.throughput_rps;
  for (StageSummary& s : mixed.stages) {
    if (s.stage == "total") s.p50_ms = 0.2;
  }
  EXPECT_EQ(CompareServedNumbers(*truth, mixed).size(), 2u);
  fs::remove_all(fs::path(log).parent_path());
}

}  // namespace
}  // namespace yoloscope
