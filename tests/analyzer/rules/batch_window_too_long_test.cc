// The batch_window_too_long rule: synthetic logs that must and must not trigger it.
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

TEST(BatchWindowTooLongTest, BatchWindowTooLongAtLowLoad) {
  HealthyOptions o;
  o.rps = 5;
  o.seconds = 600;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.batch_size = 1;
    q.r.queue_len = std::uniform_int_distribution<int64_t>(0, 1)(*s.rng);
    q.r.inference_ms = LogNormal(*s.rng, testing::HealthyInference(1), 0.08);
    q.r.queue_ms = 50 + Uniform(*s.rng, -1.5, 1.5);
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "batch_window_too_long", FindingSeverity::kWarning);
  EXPECT_NE(f.recommendation.find("max wait"), std::string::npos);
  ExpectNone(r, "queue_saturation");
  ExpectNone(r, "underbatching");
}

TEST(BatchWindowTooLongTest, NoBatchWindowFindingWhenQueueWaitVaries) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.queue_len = std::uniform_int_distribution<int64_t>(0, 1)(*s.rng);
    q.r.queue_ms = Uniform(*s.rng, 0.5, 60);  // queueing behind work, not a window.
  };
  ExpectNone(HealthyLog(o).Analyze(), "batch_window_too_long");
}

// -------------------------------------------------- cpu / transfer / post

}  // namespace
}  // namespace yoloscope
