// The cold_start rule: synthetic logs that must and must not trigger it.
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

TEST(ColdStartTest, ColdStartFirstRequestsMuchSlower) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index < 3) {
      q.r.batch_size = 1;
      q.r.inference_ms = 1500;
    }
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "cold_start", FindingSeverity::kWarning);
  EXPECT_EQ(f.affected_count, 3);
  EXPECT_TRUE(std::find(f.request_ids.begin(), f.request_ids.end(), "req-0") !=
              f.request_ids.end());
  EXPECT_NE(f.recommendation.find("Warm up"), std::string::npos);
  ExpectNone(r, "latency_outliers");
}

TEST(ColdStartTest, NoColdStartForSlightlySlowerFirstRequest) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index == 0) *q.r.inference_ms *= 1.5;
  };
  ExpectNone(HealthyLog(o).Analyze(), "cold_start");
}

// A restart mid-log: 8x in its first window, 3x in the next, then normal.
TEST(ColdStartTest, ColdStartEpisodeMidLog) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150 && s.t_s < 155) *q.r.inference_ms *= 8;
    if (s.t_s >= 155 && s.t_s < 160) *q.r.inference_ms *= 3;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  const Finding& f = Expect(r, "cold_start", FindingSeverity::kWarning);
  EXPECT_TRUE(OverlapsSeconds(f, 150, 155)) << testing::Describe(r);
  EXPECT_TRUE(Contains(f.evidence, "decayed back")) << testing::Describe(r);
}

// One window 2.4x slower and back at once (a busy host; lab: the overload
// scenario on a shared CPU) is not a warm-up episode.
TEST(ColdStartTest, NoColdStartEpisodeForAOneWindowBlip) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150 && s.t_s < 155) *q.r.inference_ms *= 2.4;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNoWarning(r, "cold_start");
}

// Mid-log, one window 4x slower and back at once is a host stall, however
// high (lab: the overload scenario on a CPU shared with a parallel test run
// showed 3.6x for one 100 ms window), not a restart, which decays.
TEST(ColdStartTest, NoColdStartEpisodeForAOneWindowSpikeMidLog) {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.t_s >= 150 && s.t_s < 155) *q.r.inference_ms *= 4;
  };
  const AnalysisReport r = HealthyLog(o).Analyze();
  ExpectNone(r, "cold_start");
}

// ---------------------------------------------------------------- error_burst

}  // namespace
}  // namespace yoloscope
