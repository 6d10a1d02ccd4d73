// The memory_fragmentation rule: synthetic logs that must and must not trigger it.
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

TEST(MemoryFragmentationTest, FragmentationWhenReservedGrowsAndAllocatedIsFlat) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.mem_reserved_mb = 5200 + 7000 * s.t_s / 300.0;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "memory_fragmentation", FindingSeverity::kWarning);
  EXPECT_NE(f.recommendation.find("expandable_segments:True"), std::string::npos);
  EXPECT_TRUE(Contains(f.evidence, "distinct sizes"));
  ExpectNone(r, "memory_leak");
}

TEST(MemoryFragmentationTest, NoFragmentationWhenReservedFollowsAllocated) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    const double grow = 3000 * s.t_s / 300.0;
    *q.r.mem_allocated_mb += grow;
    *q.r.mem_reserved_mb += grow;
  };
  ExpectNone(HealthyLog(o).Analyze(), "memory_fragmentation");
}

// A caching allocator keeps its high-water mark: a healthy server whose
// largest batch grew mid-log shows reserved - allocated growing while
// allocated is flat. When the log has the allocator's split blocks and they
// stay empty, that gap is a warm cache, not fragmentation (the accuracy
// corpus's healthy controls, bench/accuracy).
TEST(MemoryFragmentationTest, NoFragmentationWhenSplitBlocksStayEmpty) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.mem_reserved_mb = 5200 + 7000 * s.t_s / 300.0;
    q.r.mem_inactive_split_mb = 0.0;
  };
  ExpectNone(HealthyLog(o).Analyze(), "memory_fragmentation");
}

TEST(MemoryFragmentationTest, FragmentationWhenSplitBlocksGrowWithTheGap) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.mem_reserved_mb = 5200 + 7000 * s.t_s / 300.0;
    q.r.mem_inactive_split_mb = 100 + 5000 * s.t_s / 300.0;
  };
  Expect(HealthyLog(o).Analyze(), "memory_fragmentation", FindingSeverity::kWarning);
}

// -------------------------------------------------------------- memory_leak

}  // namespace
}  // namespace yoloscope
