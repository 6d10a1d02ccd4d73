// The queue_saturation rule: synthetic logs that must and must not trigger it.
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

TEST(QueueSaturationTest, QueueSaturationWithGrowingQueueAndRejections) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s < 100) return;
    const double load = (s.t_s - 100) / 200.0;
    q.r.queue_len =
        8 + static_cast<int64_t>(56 * load) + std::uniform_int_distribution<int64_t>(0, 4)(*s.rng);
    q.r.batch_size = 4;
    q.r.inference_ms = LogNormal(*s.rng, testing::HealthyInference(4), 0.08);
    q.r.queue_ms = 40 + 400 * load + Uniform(*s.rng, 0, 20);
    if (Uniform(*s.rng, 0, 1) < 0.03) q.status = "503";
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "queue_saturation", FindingSeverity::kCritical);
  EXPECT_TRUE(Contains(f.evidence, "rejected")) << testing::Describe(r);
  EXPECT_TRUE(OverlapsSeconds(f, 150, 300));
  ExpectNone(r, "underbatching");
  ExpectNone(r, "batch_window_too_long");
}

// ------------------------------------------------------------- underbatching

}  // namespace
}  // namespace yoloscope
