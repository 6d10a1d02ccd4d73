// The gpu_contention rule: synthetic logs that must and must not trigger it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyze_command.h"
#include "analyzer/analyzer.h"
#include "analyzer/rules/rule_test_util.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using namespace rules_test::names;  // NOLINT(google-build-using-namespace)

TEST(GpuContentionTest, ContentionWhenAnotherProcessTakesTheGpu) {
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) {
      g.r.mem_other_processes_mb = 6000;
      g.r.gpu_util = 99;
    }
  };
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) *q.r.inference_ms *= 2.5;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "gpu_contention", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 100, 200));
  EXPECT_FALSE(OverlapsSeconds(f, 0, 90));
  EXPECT_TRUE(Contains(f.evidence, "other processes"));
  ExpectNone(r, "gpu_throttling");
}

// An 80 GB card logged the way `serve` logs it: request and gpu records name
// gpu 0, batch records carry the batch's memory facts but no gpu_id (the
// "unknown" device). Device state summed over both ids doubled the capacity
// the co-tenant was compared with (5% of 163 GB > 6 GB): missed
// (scenarios/sim_contention.yaml).
SyntheticLog ServeShapedContentionLog(double other_mb, double factor) {
  HealthyOptions o;
  o.mutate_gpu = [other_mb](TestRecord& g, const RequestShape& s) {
    g.r.mem_total_mb = 81559;
    g.r.mem_used_mb = 600;
    if (s.t_s >= 100 && s.t_s < 200) {
      g.r.mem_other_processes_mb = other_mb;
      *g.r.mem_used_mb += other_mb;
      g.r.gpu_util = 98;
    }
  };
  o.mutate_request = [other_mb, factor](TestRecord& q, const RequestShape& s) {
    const bool busy = s.t_s >= 100 && s.t_s < 200;
    q.r.mem_total_mb = 81559;
    q.r.mem_used_mb = 600 + (busy ? other_mb : 0);
    if (busy) *q.r.inference_ms *= factor;
  };
  SyntheticLog log = HealthyLog(o);
  std::vector<TestRecord> batches;
  for (const TestRecord& q : log.records) {
    if (q.r.kind != RecordKind::kRequest) continue;
    TestRecord b;
    b.r.kind = RecordKind::kBatch;
    b.r.ts_us = q.r.ts_us;
    b.r.batch_id = q.r.batch_id;
    b.r.batch_size = q.r.batch_size;
    b.r.inference_ms = q.r.inference_ms;
    b.r.mem_used_mb = q.r.mem_used_mb;
    b.r.mem_total_mb = q.r.mem_total_mb;
    b.r.mem_reserved_mb = 84;
    b.r.mem_allocated_mb = 2.7;
    batches.push_back(b);
  }
  for (const TestRecord& b : batches) {
    TestRecord& t = log.Add(RecordKind::kBatch, *b.r.ts_us);
    const int64_t line = t.r.line;
    t.r = b.r;
    t.r.line = line;
  }
  return log;
}

TEST(GpuContentionTest, ContentionFoundWhenBatchRecordsCarryNoGpuId) {
  const AnalysisReport r = ServeShapedContentionLog(6000, 2.2).Analyze();
  const Finding& f = Expect(r, "gpu_contention", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 100, 200));
  EXPECT_FALSE(OverlapsSeconds(f, 0, 90));
  EXPECT_TRUE(Contains(f.evidence, "6000 MB")) << testing::Describe(r);
  EXPECT_TRUE(Contains(f.evidence, "7% of the card")) << testing::Describe(r);
  ExpectNone(r, "gpu_throttling");
  ExpectNone(r, "gpu_memory_pressure");
}

// The same through the JSONL reader: rules_fixtures/contention_serve.jsonl
// (make_fixtures.py) has the record shapes of the sim_contention lab log.
TEST(GpuContentionTest, ContentionFixtureInServeLogShape) {
  AnalyzeOptions o;
  o.paths = {std::string(YOLOSCOPE_SOURCE_DIR) +
             "/tests/analyzer/rules_fixtures/contention_serve.jsonl"};
  o.format = "json";
  o.threads = 1;
  auto r = AnalyzeCommand(o).Analyze();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Finding& f = Expect(*r, "gpu_contention", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 10, 20)) << testing::Describe(*r);
  EXPECT_FALSE(OverlapsSeconds(f, 0, 9.5)) << testing::Describe(*r);
  EXPECT_FALSE(OverlapsSeconds(f, 20.5, 30)) << testing::Describe(*r);
  EXPECT_TRUE(Contains(f.evidence, "6000 MB")) << testing::Describe(*r);
  ExpectNone(*r, "gpu_throttling");
  ExpectNone(*r, "cold_start");
}

TEST(GpuContentionTest, NoContentionForASmallCoTenantOnABigCard) {
  // 2 GB is under 5% of an 80 GB card: not a co-tenant worth naming, even when
  // records without gpu_id add a second device to every window.
  const AnalysisReport r = ServeShapedContentionLog(2000, 2.2).Analyze();
  ExpectNone(r, "gpu_contention");
}

TEST(GpuContentionTest, ContentionOnOneGpuOfFour) {
  // Four 80 GB GPUs, requests spread over them; a 6 GB job on GPU 2 slows only
  // the work on GPU 2. Window sums (320 GB of capacity, a slowdown diluted
  // by three healthy GPUs) hid it; per device it is plain.
  HealthyOptions o;
  o.rps = 80;
  o.gpu_telemetry = false;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.gpu_id = s.index % 4;
    q.device = "cuda:" + std::to_string(s.index % 4);
    q.r.mem_total_mb = 81559;
    if (s.t_s >= 100 && s.t_s < 200 && s.index % 4 == 2) *q.r.inference_ms *= 2.2;
  };
  SyntheticLog log = HealthyLog(o);
  for (int64_t sec = 0; sec < 300; ++sec) {
    for (int64_t gpu = 0; gpu < 4; ++gpu) {
      TestRecord& g = log.Add(RecordKind::kGpu, kT0 + sec * 1'000'000);
      g.r.gpu_id = gpu;
      g.r.gpu_util = 55;
      g.r.mem_total_mb = 81559;
      g.r.mem_used_mb = 6100;
      g.r.mem_other_processes_mb = 0;
      g.r.sm_clock_mhz = 1980;
      if (gpu == 2 && sec >= 100 && sec < 200) {
        g.r.mem_other_processes_mb = 6000;
        g.r.mem_used_mb = 12100;
        g.r.gpu_util = 99;
      }
    }
  }
  const AnalysisReport r = log.Analyze();
  const Finding& f = Expect(r, "gpu_contention", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 100, 200));
  EXPECT_FALSE(OverlapsSeconds(f, 0, 90));
  EXPECT_NE(f.title.find("GPU 2"), std::string::npos) << f.title;
  for (const auto& [name, value] : f.metrics) {
    if (name == "inflation") EXPECT_GT(value, 1.9) << "the slowdown of GPU 2's own work";
  }
}

TEST(GpuContentionTest, NoContentionWhenCoTenantDoesNotSlowUsDown) {
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) g.r.mem_other_processes_mb = 6000;
  };
  ExpectNone(HealthyLog(o).Analyze(), "gpu_contention");
}

TEST(GpuContentionTest, NoContentionWhenOurOwnLoadGrows) {
  // More traffic -> bigger batches -> longer inference and high utilization:
  // equal-work baselines must not call this contention.
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) g.r.gpu_util = 97;
  };
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) {
      q.r.batch_size = 8;
      q.r.queue_len = 9;
      q.r.inference_ms = LogNormal(*s.rng, testing::HealthyInference(8), 0.08);
    }
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNone(r, "gpu_contention");
}

// ------------------------------------------------------------ gpu_throttling

}  // namespace
}  // namespace yoloscope
