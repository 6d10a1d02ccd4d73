// Served vs refused vs failed requests (issue 16): latency figures are for
// requests that completed; refused and failed ones get their own counts,
// rates and latency; capacity is served throughput; only successful work
// feeds the equal-work baselines and cold-start checks.
#include <gtest/gtest.h>

#include <string>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyzer.h"
#include "analyzer/report/report_format.h"
#include "analyzer/report/report_writer.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using testing::Describe;
using testing::FindKind;
using testing::kT0;
using testing::SyntheticLog;
using testing::TestRecord;

// An overload phase as `serve` logs it: over 60 s, `served` requests wait
// about a second in the queue, `refused` ones are turned away with
// queue_full in 0.2 ms.
SyntheticLog OverloadLog(int served, int refused) {
  SyntheticLog log;
  const int n = served + refused;
  for (int i = 0; i < n; ++i) {
    // Refused requests interleave with served ones.
    const bool ok = (i * served) / n != ((i + 1) * served) / n;
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + static_cast<int64_t>(i) * 60'000'000 / n);
    q.request_id = "q" + std::to_string(i);
    q.r.gpu_id = 0;
    q.r.queue_len = 64;
    if (ok) {
      q.r.batch_size = 8;
      q.r.queue_ms = 1000 + (i % 50);
      q.r.preprocess_ms = 2;
      q.r.inference_ms = 30;
      q.r.postprocess_ms = 1;
    } else {
      q.status = "queue_full";
      q.r.total_ms = 0.2;
      q.auto_total = false;
    }
    q.FixTotal();
  }
  return log;
}

const StageSummary* Stage(const AnalysisReport& r, std::string_view name) {
  for (const StageSummary& s : r.stages) {
    if (s.stage == name) return &s;
  }
  return nullptr;
}

TEST(ServedVsFailedTest, LatencyFiguresAreForServedRequests) {
  SyntheticLog log = OverloadLog(260, 668);
  const AnalysisReport r = log.Analyze();
  const StageSummary* total = Stage(r, "total");
  ASSERT_NE(total, nullptr);
  // Every served request took more than a second; the refused ones 0.2 ms.
  EXPECT_EQ(total->count, 260);
  EXPECT_GT(total->p50_ms, 1000);
  EXPECT_GT(total->mean_ms, 1000);
  EXPECT_EQ(r.summary.served, 260);
  EXPECT_EQ(r.summary.refused, 668);
  EXPECT_EQ(r.summary.failed, 0);
  EXPECT_EQ(r.summary.requests, 928);
  ASSERT_TRUE(r.summary.refused_total_p50_ms.has_value());
  EXPECT_LT(*r.summary.refused_total_p50_ms, 1.0);
  EXPECT_FALSE(r.summary.failed_total_p50_ms.has_value());
}

TEST(ServedVsFailedTest, CapacityIsServedThroughput) {
  SyntheticLog log = OverloadLog(260, 668);
  const AnalysisReport r = log.Analyze();
  ASSERT_TRUE(r.summary.span_s.has_value());
  ASSERT_TRUE(r.summary.served_rps.has_value());
  ASSERT_TRUE(r.summary.refused_rps.has_value());
  EXPECT_NEAR(*r.summary.served_rps, 260 / *r.summary.span_s, 0.01 * 260 / *r.summary.span_s);
  EXPECT_NEAR(*r.summary.refused_rps, 668 / *r.summary.span_s, 0.01 * 668 / *r.summary.span_s);
  const Finding* q = FindKind(r, "queue_saturation");
  ASSERT_NE(q, nullptr) << Describe(r);
  // "handles N rps" names what was served, not what arrived.
  const std::string served = "handles " + FormatNumber(*r.summary.served_rps) + " rps";
  EXPECT_NE(q->recommendation.find(served), std::string::npos) << q->recommendation;
}

// An OOM storm: every batch-24 request fails in 4.19 ms (the time to fail),
// batch 8 is served in ~30 ms throughout.
SyntheticLog OomStormLog() {
  SyntheticLog log;
  for (int i = 0; i < 2000; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + static_cast<int64_t>(i) * 100'000);
    q.request_id = "r" + std::to_string(i);
    q.r.gpu_id = 0;
    q.r.queue_len = 4;
    q.r.queue_ms = 2;
    q.r.mem_total_mb = 16384;
    const bool big = i % 4 == 0 && i > 10;
    if (big) {
      q.r.batch_size = 24;
      q.r.inference_ms = 4.19;
      q.r.mem_used_mb = 16300;
      q.r.oom = true;
      q.status = "oom";
      q.error = "CUDA out of memory";
    } else {
      q.r.batch_size = 8;
      q.r.inference_ms = 30 + (i % 7);
      q.r.mem_used_mb = 9000;
      q.r.oom = false;
    }
    q.FixTotal();
  }
  return log;
}

TEST(ServedVsFailedTest, OomStormFeedsNoBaselineAndNoColdStart) {
  SyntheticLog log = OomStormLog();
  const AnalysisReport r = log.Analyze();
  EXPECT_NE(FindKind(r, "oom"), nullptr) << Describe(r);
  EXPECT_EQ(FindKind(r, "cold_start"), nullptr) << Describe(r);
  for (const BaselineEntry& b : r.baselines) {
    EXPECT_NE(b.batch_size.value_or(0), 24)
        << "a failed batch made a baseline of " << b.steady_ms << " ms";
  }
}

TEST(ServedVsFailedTest, FailedRequestsKeepTheirOwnLatency) {
  SyntheticLog log = OomStormLog();
  const AnalysisReport r = log.Analyze();
  EXPECT_GT(r.summary.failed, 400);
  EXPECT_EQ(r.summary.refused, 0);
  ASSERT_TRUE(r.summary.failed_total_p50_ms.has_value());
  const StageSummary* inference = Stage(r, "inference");
  ASSERT_NE(inference, nullptr);
  // The served inference times are 30-36 ms; the 4.19 ms failures are not among them.
  EXPECT_GE(inference->p50_ms, 29);
  EXPECT_EQ(inference->count, r.summary.served);
}

TEST(ServedVsFailedTest, StageTablesSayTheyAreForServedRequests) {
  SyntheticLog log = OverloadLog(260, 668);
  const AnalysisReport r = log.Analyze();
  const std::string note = "served requests only; 668 refused and 0 failed are in the summary";
  EXPECT_NE(ReportWriter::Text(r, {}).find(note), std::string::npos);
  EXPECT_NE(ReportWriter::Markdown(r).find(note), std::string::npos);
  EXPECT_NE(ReportWriter::Text(r, {}).find("refused: 668"), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
