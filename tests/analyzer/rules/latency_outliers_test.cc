// The latency_outliers rule: synthetic logs that must and must not trigger it.
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

TEST(LatencyOutliersTest, UnexplainedLatencyOutliers) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (Uniform(*s.rng, 0, 1) < 0.005) *q.r.inference_ms += 400;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "latency_outliers", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "in inference")) << testing::Describe(r);
  EXPECT_FALSE(f.request_ids.empty());
  ExpectNone(r, "gpu_contention");
}

// A throttling episode explains slow inference, not requests that spent
// their time decoding huge images in the same minutes (lab:
// scenarios/latency_outliers.yaml, where CPU-stolen inference looked like a
// warm-up episode around each huge upload).
HealthyOptions ThrottledWithOutliers(std::optional<double> LogRecord::*stage) {
  HealthyOptions o;
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 200) {
      g.r.sm_clock_mhz = 1100;
      g.throttle = "sw_thermal_slowdown";
    }
  };
  o.mutate_request = [stage](TestRecord& q, const RequestShape& s) {
    if (s.t_s < 100 || s.t_s >= 200) return;
    *q.r.inference_ms *= 1.7;
    if (Uniform(*s.rng, 0, 1) < 0.005) *(q.r.*stage) += 400;
  };
  return o;
}

TEST(LatencyOutliersTest, OutliersInAnotherStageAreNotExplainedByThrottling) {
  const AnalysisReport r = HealthyLog(ThrottledWithOutliers(&LogRecord::decode_ms)).Analyze();
  Expect(r, "gpu_throttling", FindingSeverity::kWarning);
  const Finding& f = Expect(r, "latency_outliers", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "in decode")) << testing::Describe(r);
  EXPECT_TRUE(OverlapsSeconds(f, 100, 200));
}

TEST(LatencyOutliersTest, InferenceOutliersInAThrottledPeriodAreExplained) {
  const AnalysisReport r = HealthyLog(ThrottledWithOutliers(&LogRecord::inference_ms)).Analyze();
  Expect(r, "gpu_throttling", FindingSeverity::kWarning);
  ExpectNone(r, "latency_outliers");
}

TEST(LatencyOutliersTest, NoOutlierFindingOnHealthyLog) {
  ExpectNone(HealthyLog().Analyze(), "latency_outliers");
}

// ------------------------------------------------------ small / partial logs

}  // namespace
}  // namespace yoloscope
