// The error_burst rule: synthetic logs that must and must not trigger it.
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

TEST(ErrorBurstTest, ErrorBurstInOneWindow) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150 && s.t_s < 160 && Uniform(*s.rng, 0, 1) < 0.5) {
      q.status = "500";
      q.error = "worker crashed";
    }
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "error_burst", FindingSeverity::kCritical);
  EXPECT_TRUE(OverlapsSeconds(f, 150, 160));
  EXPECT_FALSE(OverlapsSeconds(f, 0, 140));
  ASSERT_FALSE(f.request_ids.empty());
}

TEST(ErrorBurstTest, NoErrorBurstForRareSteadyErrors) {
  HealthyOptions o;
  o.error_rate = 0.003;
  ExpectNone(HealthyLog(o).Analyze(), "error_burst");
}

// ----------------------------------------------------------- latency_outliers

}  // namespace
}  // namespace yoloscope
