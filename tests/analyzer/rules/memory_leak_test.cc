// The memory_leak rule: synthetic logs that must and must not trigger it.
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

TEST(MemoryLeakTest, LeakWhenAllocatedGrowsAtConstantLoad) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    const double grow = 5000 * s.t_s / 300.0;
    *q.r.mem_allocated_mb += grow;
    *q.r.mem_reserved_mb += grow;
    *q.r.mem_used_mb += grow;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "memory_leak", FindingSeverity::kWarning);
  EXPECT_TRUE(Contains(f.evidence, "allocated memory rose")) << testing::Describe(r);
  bool has_slope = false;
  for (const auto& [k, v] : f.metrics) {
    if (k == "slope_mb_per_min") {
      has_slope = true;
      EXPECT_NEAR(v, 1000, 100);
    }
  }
  EXPECT_TRUE(has_slope);
}

TEST(MemoryLeakTest, NoLeakWhenMemoryFollowsGrowingLoad) {
  HealthyOptions o;
  o.keep = [](double t) { return 0.2 + 0.8 * t / 300.0; };  // load x5 over the log.
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    const double grow = 3000 * s.t_s / 300.0;
    *q.r.mem_allocated_mb += grow;
    *q.r.mem_reserved_mb += grow;
  };
  ExpectNone(HealthyLog(o).Analyze(), "memory_leak");
}

TEST(MemoryLeakTest, NoLeakForSawtoothMemory) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    const double grow = 2000 * std::fmod(s.t_s, 60.0) / 60.0;  // freed every minute.
    *q.r.mem_allocated_mb += grow;
    *q.r.mem_reserved_mb += grow;
  };
  ExpectNone(HealthyLog(o).Analyze(), "memory_leak");
}

// --------------------------------------------------------- queue_saturation

}  // namespace
}  // namespace yoloscope
