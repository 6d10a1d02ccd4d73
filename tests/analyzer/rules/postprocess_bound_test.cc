// The postprocess_bound rule: synthetic logs that must and must not trigger it.
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

TEST(PostprocessBoundTest, PostprocessBoundFollowsDetections) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.detections = std::uniform_int_distribution<int64_t>(150, 400)(*s.rng);
    q.r.postprocess_ms = 1 + 0.08 * static_cast<double>(*q.r.detections);
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "postprocess_bound", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "detection count")) << testing::Describe(r);
  EXPECT_NE(f.recommendation.find("confidence threshold"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
