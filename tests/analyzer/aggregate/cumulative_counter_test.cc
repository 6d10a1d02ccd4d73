// Cumulative counters (issue 16; docs/log-schema.md: alloc_retries is a
// running total "so far" per process): the analysis uses per-source deltas
// with resets handled, never the sum of the running totals.
#include <gtest/gtest.h>

#include <string>

#include "analyzer/aggregate/log_aggregator.h"
#include "analyzer/analyzer.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using testing::Describe;
using testing::FindKind;
using testing::kT0;
using testing::SyntheticLog;
using testing::TestRecord;

// `n` requests of one process whose alloc_retries counter climbs from
// `start` by one every `every` requests.
void AddProcess(SyntheticLog* log, const std::string& source, int64_t t0, int n, int64_t start,
                int every) {
  for (int i = 0; i < n; ++i) {
    TestRecord& q = log->Add(RecordKind::kRequest, t0 + int64_t{i} * 100'000);
    q.request_id = source + "-" + std::to_string(i);
    q.source = source;
    q.r.gpu_id = 0;
    q.r.batch_size = 4;
    q.r.inference_ms = 20;
    q.r.mem_used_mb = 9000;
    q.r.mem_total_mb = 16384;
    q.r.alloc_retries = start + i / every;
    q.r.oom = false;
    q.FixTotal();
  }
}

int64_t Metric(const Finding& f, const std::string& name) {
  for (const auto& [k, v] : f.metrics) {
    if (k == name) return static_cast<int64_t>(v);
  }
  return -1;
}

TEST(CumulativeCounterTest, RunningTotalIsNotSummed) {
  SyntheticLog log;
  AddProcess(&log, "serve.jsonl", kT0, 870, 0, 10);  // 0 .. 86
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.alloc_retries_total(), 86);
  const AnalysisReport r = Analyzer().Analyze(agg);
  const Finding* f = FindKind(r, "oom");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(Metric(*f, "alloc_retries"), 86);
  EXPECT_NE(f->title.find("86 times"), std::string::npos) << f->title;
  int64_t in_windows = 0;
  for (const WindowStats& w : r.time_series.windows) in_windows += w.alloc_retries;
  EXPECT_EQ(in_windows, 86);
}

TEST(CumulativeCounterTest, ResetsAndSourcesAreSeparate) {
  SyntheticLog log;
  AddProcess(&log, "a.jsonl", kT0, 500, 0, 10);               // 0 .. 49
  AddProcess(&log, "a.jsonl", kT0 + 60'000'000, 300, 0, 10);  // restart: 0 .. 29
  AddProcess(&log, "b.jsonl", kT0, 400, 5, 20);               // 5 .. 24
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.alloc_retries_total(), 49 + 29 + 24);
}

TEST(CumulativeCounterTest, SplitAcrossAggregatorsGivesTheSameTotal) {
  SyntheticLog log;
  AddProcess(&log, "serve.jsonl", kT0, 900, 0, 10);  // 0 .. 89
  LogAggregator a, b;
  int i = 0;
  for (TestRecord& t : log.records) ((i++ / 64) % 2 == 0 ? a : b).OnRecord(t.View());
  a.Merge(b);
  EXPECT_EQ(a.alloc_retries_total(), 89);
  // 89 records saw the counter go up, whichever aggregator read them: each
  // aggregator alone sees the steps made in the other's chunks once more.
  EXPECT_EQ(a.alloc_retry_records(), 89);
  const AnalysisReport r = Analyzer().Analyze(a);
  const Finding* f = FindKind(r, "oom");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(f->affected_count, 89);
  bool said = false;
  for (const std::string& e : f->evidence) {
    said |= e.find("89 records needed cudaMalloc retries") != std::string::npos;
  }
  EXPECT_TRUE(said) << Describe(r);
}

// yoloscope serve writes the retries of each batch (a count per record),
// not the running total the schema documents: such a source keeps dropping
// back, and its retries are the plain sum.
TEST(CumulativeCounterTest, CountsPerRecordAreSummed) {
  SyntheticLog log;
  const int64_t values[] = {0, 2, 0, 1, 3, 0, 0, 4, 1, 0, 2, 0};
  int64_t sum = 0;
  for (int i = 0; i < 600; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, kT0 + int64_t{i} * 100'000);
    q.request_id = "r" + std::to_string(i);
    q.r.gpu_id = 0;
    q.r.inference_ms = 20;
    q.r.alloc_retries = values[i % 12];
    sum += values[i % 12];
    q.FixTotal();
  }
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.alloc_retries_total(), sum);
  const AnalysisReport r = Analyzer().Analyze(agg);
  int64_t in_windows = 0;
  for (const WindowStats& w : r.time_series.windows) in_windows += w.alloc_retries;
  EXPECT_EQ(in_windows, sum);
}

// The requests of a batch repeat its batch record's count: only the batch
// records count (the loggen and serve logs carry both).
TEST(CumulativeCounterTest, RequestsRepeatingTheirBatchCountAreNotCountedAgain) {
  SyntheticLog log;
  const int64_t values[] = {0, 2, 0, 1, 3, 0, 0, 4, 1, 0, 2, 0};
  int64_t sum = 0;
  for (int i = 0; i < 300; ++i) {
    const int64_t t = kT0 + int64_t{i} * 200'000;
    TestRecord& b = log.Add(RecordKind::kBatch, t);
    b.r.gpu_id = 0;
    b.r.instance = 0;
    b.r.batch_size = 4;
    b.r.inference_ms = 20;
    b.r.alloc_retries = values[i % 12];
    sum += values[i % 12];
    for (int j = 0; j < 4; ++j) {
      TestRecord& q = log.Add(RecordKind::kRequest, t + j);
      q.request_id = "r" + std::to_string(i) + "-" + std::to_string(j);
      q.r.gpu_id = 0;
      q.r.batch_size = 4;
      q.r.inference_ms = 20;
      q.r.alloc_retries = values[i % 12];
      q.FixTotal();
    }
  }
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.alloc_retries_total(), sum);
  // The batches that retried (6 of every 12), not their requests again.
  EXPECT_EQ(agg.alloc_retry_records(), 300 / 12 * 6);
  const AnalysisReport r = Analyzer().Analyze(agg);
  int64_t in_windows = 0;
  for (const WindowStats& w : r.time_series.windows) in_windows += w.alloc_retries;
  EXPECT_EQ(in_windows, sum);
  const Finding* f = FindKind(r, "oom");
  ASSERT_NE(f, nullptr) << Describe(r);
  EXPECT_EQ(f->affected_count, 300 / 12 * 6);
}

}  // namespace
}  // namespace yoloscope
