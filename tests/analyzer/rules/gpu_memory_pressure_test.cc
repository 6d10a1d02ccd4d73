// The gpu_memory_pressure rule: synthetic logs that must and must not trigger it.
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

TEST(GpuMemoryPressureTest, MemoryPressureWithInflationAtEqualWork) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150) {
      q.r.mem_used_mb = 16000;
      *q.r.inference_ms *= 3.0;
    }
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "gpu_memory_pressure", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "x the same-work baseline")) << testing::Describe(r);
  EXPECT_TRUE(OverlapsSeconds(f, 150, 300));
  EXPECT_FALSE(OverlapsSeconds(f, 0, 140));
}

TEST(GpuMemoryPressureTest, HighMemoryWithoutSlowdownIsAtMostInfo) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150) q.r.mem_used_mb = 15900;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNoWarning(r, "gpu_memory_pressure");
  EXPECT_FALSE(HasWarningOrWorse(r)) << testing::Describe(r);
}

TEST(GpuMemoryPressureTest, MemoryPressureFromTelemetryWindows) {
  // Requests carry no memory fields; gpu samples show memory at 98% while
  // inference is 2.5x slower at the same batch sizes.
  HealthyOptions o;
  o.memory_fields = false;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 200) g.r.mem_used_mb = 16100;
  };
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 200) *q.r.inference_ms *= 2.5;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  Expect(r, "gpu_memory_pressure", FindingSeverity::kWarning);
}

TEST(GpuMemoryPressureTest, ThreeRowTableStillYieldsMemoryPressure) {
  SyntheticLog log = ThreeRows({{1, 10, 2000, false}, {1, 11, 2100, false}, {1, 62, 3980, false}});
  const AnalysisReport r = log.Analyze();
  const Finding& f = Expect(r, "gpu_memory_pressure", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "6.2x")) << testing::Describe(r);
  EXPECT_TRUE(Contains(f.evidence, "batch 1"));
}

}  // namespace
}  // namespace yoloscope
