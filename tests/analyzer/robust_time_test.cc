// Robust time (issue 16): records stamped far away (1970, a clock never set,
// a future date) are left out of the time series and reported, however many
// there are, and never set the span; ordinary out-of-order arrival is never
// left out.
#include <gtest/gtest.h>

#include <string>

#include "analyzer/analyzer.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using testing::Describe;
using testing::HealthyLog;
using testing::HealthyOptions;
using testing::kT0;
using testing::SyntheticLog;
using testing::TestRecord;

void AddRequestAt(SyntheticLog* log, int64_t ts_us, const std::string& id) {
  TestRecord& q = log->Add(RecordKind::kRequest, ts_us);
  q.request_id = id;
  q.r.gpu_id = 0;
  q.r.inference_ms = 12;
  q.r.queue_ms = 1;
  q.FixTotal();
}

int64_t WindowRequests(const AnalysisReport& r) {
  int64_t n = 0;
  for (const WindowStats& w : r.time_series.windows) n += w.requests;
  return n;
}

bool WarnsAbout(const AnalysisReport& r, const std::string& what) {
  for (const std::string& w : r.input.warnings) {
    if (w.find(what) != std::string::npos) return true;
  }
  return false;
}

class FarOffRecordsTest : public ::testing::TestWithParam<int> {};

TEST_P(FarOffRecordsTest, AreExcludedReportedAndNeverSetTheSpan) {
  HealthyOptions o;
  o.seconds = 120;
  o.rps = 10;  // 1200 requests: 1% is 12.
  SyntheticLog log = HealthyLog(o);
  const int n = GetParam();
  for (int i = 0; i < n; ++i) {
    // Half from a clock that was never set (the Unix epoch), half from one
    // set 400 days ahead.
    const int64_t ts = i % 2 == 0 ? int64_t{i} : kT0 + 400LL * 86'400'000'000 + i;
    AddRequestAt(&log, ts, "stray-" + std::to_string(i));
  }
  const AnalysisReport r = log.Analyze();
  ASSERT_TRUE(r.summary.span_s.has_value());
  EXPECT_NEAR(*r.summary.span_s, 120, 2) << Describe(r);
  ASSERT_TRUE(r.summary.throughput_rps.has_value());
  EXPECT_NEAR(*r.summary.throughput_rps, 10, 0.5);
  EXPECT_LE(r.time_series.window_s, 2.0);
  EXPECT_TRUE(WarnsAbout(r, std::to_string(n) + " records"))
      << ::testing::PrintToString(r.input.warnings);
  for (const GroupSummary& g : r.summary.by_gpu) {
    if (g.throughput_rps) EXPECT_GT(*g.throughput_rps, 5) << g.name;
  }
  EXPECT_EQ(WindowRequests(r), r.summary.requests - n);
}

// 2 records (the case), 30 (over 1% of the log) and 200 (over 10%).
INSTANTIATE_TEST_SUITE_P(Counts, FarOffRecordsTest, ::testing::Values(2, 30, 200));

TEST(OutOfOrderRecordsTest, SecondsOutOfOrderLoseNoRecord) {
  HealthyOptions o;
  o.seconds = 120;
  o.rps = 20;
  SyntheticLog log = HealthyLog(o);
  // Written late: a request 50 ms before the first line, and a few that
  // arrive up to 3 s out of order at the end.
  AddRequestAt(&log, kT0 - 50'000, "early");
  for (int i = 0; i < 5; ++i)
    AddRequestAt(&log, kT0 + 117'000'000 - i * 600'000, "late-" + std::to_string(i));
  const AnalysisReport r = log.Analyze();
  EXPECT_FALSE(WarnsAbout(r, "outside")) << ::testing::PrintToString(r.input.warnings);
  EXPECT_EQ(WindowRequests(r), r.summary.requests);
  ASSERT_TRUE(r.summary.first_ts_us.has_value());
  EXPECT_EQ(*r.summary.first_ts_us, kT0 - 50'000);
}

}  // namespace
}  // namespace yoloscope
