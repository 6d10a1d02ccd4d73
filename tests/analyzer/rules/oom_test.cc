// The oom rule: synthetic logs that must and must not trigger it.
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

TEST(OomTest, OomAtLargeBatchesIsCriticalAndCapsTheBatch) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index % 500 == 250) {
      q.r.batch_size = 16;
      q.r.oom = true;
      q.status = "oom";
      q.error = "CUDA out of memory. Tried to allocate 2.00 GiB";
      q.r.inference_ms.reset();
      q.r.mem_used_mb = 16300;
    }
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "oom", FindingSeverity::kCritical);
  EXPECT_EQ(f.affected_count, 24);
  EXPECT_FALSE(f.request_ids.empty());
  EXPECT_FALSE(f.time_ranges.empty());
  EXPECT_TRUE(Contains(f.evidence, "batch size 16")) << testing::Describe(r);
  EXPECT_NE(f.recommendation.find("max batch size at 4"), std::string::npos) << f.recommendation;
}

TEST(OomTest, AllocatorRetriesAloneAreAWarning) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index % 1000 == 7) q.r.alloc_retries = 3;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "oom", FindingSeverity::kWarning);
  EXPECT_EQ(f.severity, FindingSeverity::kWarning);
}

TEST(OomTest, NoOomInHealthyLog) { ExpectNone(HealthyLog().Analyze(), "oom"); }

TEST(OomTest, ThreeRowTableStillYieldsOom) {
  SyntheticLog log = ThreeRows({{8, 40, 3000, false}, {8, 42, 3100, false}, {16, 0, 3980, true}});
  const AnalysisReport r = log.Analyze();
  const Finding& f = Expect(r, "oom", FindingSeverity::kCritical);
  EXPECT_EQ(f.affected_count, 1);
  EXPECT_EQ(f.request_ids, std::vector<std::string>{"r3"});
  EXPECT_NE(f.recommendation.find("max batch size at 8"), std::string::npos) << f.recommendation;
}

}  // namespace
}  // namespace yoloscope
