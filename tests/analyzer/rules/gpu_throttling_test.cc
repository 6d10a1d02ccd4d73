// The gpu_throttling rule: synthetic logs that must and must not trigger it.
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

TEST(GpuThrottlingTest, ThrottlingWhenClocksDropAndInferenceSlows) {
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 120 && s.t_s < 180) {
      g.r.sm_clock_mhz = 1100;
      g.throttle = "sw_thermal_slowdown";
      g.r.temp_c = 91;
    }
  };
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 120 && s.t_s < 180) *q.r.inference_ms *= 1.7;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "gpu_throttling", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 120, 180));
  EXPECT_TRUE(Contains(f.evidence, "SM clock"));
  ExpectNone(r, "gpu_contention");
}

TEST(GpuThrottlingTest, ClockDropWithoutSlowdownIsNotAWarning) {
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 120 && s.t_s < 180) g.r.sm_clock_mhz = 1400;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNoWarning(r, "gpu_throttling");
}

// ----------------------------------------------------------------- cold_start

}  // namespace
}  // namespace yoloscope
