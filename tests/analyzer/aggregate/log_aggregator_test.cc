#include "analyzer/aggregate/log_aggregator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/report/report_writer.h"
#include "analyzer/synthetic_log.h"

namespace yoloscope {
namespace {

using testing::HealthyLog;
using testing::HealthyOptions;
using testing::RequestShape;
using testing::SyntheticLog;
using testing::TestRecord;

// Structural equality with a relative tolerance for numbers (floating sums
// are added in a different order after a merge).
void ExpectJsonNear(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_NEAR(x, y, 2e-3 * std::max(std::fabs(x), std::fabs(y)) + 1e-9) << path;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << path;
  if (a.is_object()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (auto it = a.begin(); it != a.end(); ++it) {
      ASSERT_TRUE(b.contains(it.key())) << path << "." << it.key();
      ExpectJsonNear(it.value(), b.at(it.key()), path + "." + it.key());
    }
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i)
      ExpectJsonNear(a[i], b[i], path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << path;
  }
}

nlohmann::json ReportJson(const LogAggregator& agg) {
  return nlohmann::json::parse(ReportWriter::Json(Analyzer().Analyze(agg)));
}

SyntheticLog EventfulLog() {
  HealthyOptions o;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    if (s.index < 2) q.r.inference_ms = 800;
    if (s.index % 700 == 3) {
      q.r.oom = true;
      q.status = "oom";
    }
    if (s.t_s >= 100 && s.t_s < 150) *q.r.inference_ms *= 2;
    if (s.index % 97 == 0) q.model = "yolov8s";
  };
  o.mutate_gpu = [](TestRecord& g, const RequestShape& s) {
    if (s.t_s >= 100 && s.t_s < 150) g.r.mem_other_processes_mb = 5000;
  };
  return HealthyLog(o);
}

TEST(LogAggregatorTest, MergeOfSplitStreamEqualsSinglePass) {
  SyntheticLog log = EventfulLog();
  LogAggregator single;
  log.FeedTo(&single);

  // Contiguous halves (how a file split into ranges is read) ...
  LogAggregator a, b;
  const size_t half = log.records.size() / 2;
  for (size_t i = 0; i < log.records.size(); ++i)
    (i < half ? a : b).OnRecord(log.records[i].View());
  a.Merge(b);
  EXPECT_EQ(a.records(), single.records());
  EXPECT_EQ(a.requests(), single.requests());
  ExpectJsonNear(ReportJson(a), ReportJson(single), "$");

  // ... and interleaved records, merged in the other order.
  LogAggregator c, d;
  for (size_t i = 0; i < log.records.size(); ++i) (i % 2 ? c : d).OnRecord(log.records[i].View());
  c.Merge(d);
  ExpectJsonNear(ReportJson(c), ReportJson(single), "$");
}

TEST(LogAggregatorTest, MergeEqualsSinglePassWhenBucketsCoarsen) {
  HealthyOptions o;
  o.seconds = 4 * 3600;
  o.rps = 1;
  SyntheticLog log = HealthyLog(o);
  AggregatorConfig config;
  config.max_time_buckets = 100;
  LogAggregator single(config), a(config), b(config), c(config);
  log.FeedTo(&single);
  for (size_t i = 0; i < log.records.size(); ++i) {
    (i < log.records.size() / 3 ? a : (i % 2 ? b : c)).OnRecord(log.records[i].View());
  }
  b.Merge(c);
  a.Merge(b);
  EXPECT_LE(single.time_buckets().size(), 100u);
  EXPECT_EQ(a.time_buckets().resolution_us(), single.time_buckets().resolution_us());
  EXPECT_EQ(a.time_buckets().size(), single.time_buckets().size());
  ExpectJsonNear(ReportJson(a), ReportJson(single), "$");
}

TEST(LogAggregatorTest, CellBudgetCoarsensAndStaysMergeable) {
  // Many equal-work keys per bucket: the cell budget, not the bucket count,
  // forces coarser buckets -- identically for one pass and a merge.
  SyntheticLog log;
  std::mt19937 rng(9);
  for (int i = 0; i < 30000; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0 + i * 50'000);
    q.request_id = "k" + std::to_string(i);
    q.model = "m" + std::to_string(rng() % 4);
    q.r.gpu_id = static_cast<int64_t>(rng() % 40);         // ids >= 32 are lumped as "other".
    q.r.batch_size = 1 + static_cast<int64_t>(rng() % 6);  // 4 x 33 x 6 keys: under the key cap.
    q.r.inference_ms = 5.0 + static_cast<double>(*q.r.batch_size);
    q.r.total_ms = *q.r.inference_ms + 3;
  }
  AggregatorConfig config;
  config.max_time_cells = 4096;
  LogAggregator single(config), a(config), b(config), c(config);
  log.FeedTo(&single);
  for (size_t i = 0; i < log.records.size(); ++i)
    (i % 3 == 0 ? a : (i % 3 == 1 ? b : c)).OnRecord(log.records[i].View());
  c.Merge(a);
  c.Merge(b);
  auto cells = [](const LogAggregator& agg) {
    size_t n = 0;
    for (const auto& [key, bucket] : agg.time_buckets().buckets()) n += bucket.work.size();
    return n;
  };
  EXPECT_LE(cells(single), 4096u);
  EXPECT_GT(single.time_buckets().resolution_us(), 1'000'000);
  EXPECT_EQ(c.time_buckets().resolution_us(), single.time_buckets().resolution_us());
  EXPECT_EQ(cells(c), cells(single));
  EXPECT_LE(single.by_gpu().size(), 33u);
  EXPECT_EQ(single.by_gpu().count(-3), 1u);
  ExpectJsonNear(ReportJson(c), ReportJson(single), "$");
}

TEST(LogAggregatorTest, WorkKeysOverTheCapShareOneOtherEntryInOnePassAndMerge) {
  SyntheticLog log;
  for (int i = 0; i < 600; ++i) {
    TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0 + i * 10'000);
    q.request_id = "w" + std::to_string(i);
    q.model = "m";
    q.r.batch_size = 1 + i % 6;  // 6 keys against a cap of 3
    q.r.inference_ms = 10.0;
    q.r.total_ms = 12.0;
  }
  AggregatorConfig config;
  config.max_work_keys = 3;
  LogAggregator single(config), a(config), b(config);
  log.FeedTo(&single);
  for (size_t i = 0; i < log.records.size(); ++i) (i % 2 ? a : b).OnRecord(log.records[i].View());
  a.Merge(b);
  for (const LogAggregator* agg : {&single, &a}) {
    int64_t counted = 0, other = 0;
    for (const auto& [key, w] : agg->work()) {
      counted += w.inference.count();
      if (key.batch_size == -1) {
        other += w.inference.count();
        EXPECT_EQ(w.model, "(other)");
      } else {
        EXPECT_EQ(w.model, "m");
      }
    }
    EXPECT_LE(agg->work().size(), 4u);  // the cap + the "(other)" entry
    EXPECT_EQ(counted, 600);            // nothing lost past the cap
    EXPECT_GE(other, 300);              // at least 3 of the 6 keys went to "(other)"
  }
}

TEST(LogAggregatorTest, TimeBucketsStayBounded) {
  AggregatorConfig config;
  config.max_time_buckets = 64;
  LogAggregator agg(config);
  LogRecord r;
  r.total_ms = 10;
  for (int64_t i = 0; i < 100000; ++i) {
    r.ts_us = testing::kT0 + i * 37'000;  // ~1 hour at 37 ms steps.
    agg.OnRecord(r);
  }
  // A stray timestamp far away must not stretch the analysis span.
  r.ts_us = 0;
  agg.OnRecord(r);
  EXPECT_LE(agg.time_buckets().size(), 64u);
  const AnalysisReport report = Analyzer().Analyze(agg);
  ASSERT_FALSE(report.time_series.windows.empty());
  EXPECT_LE(report.time_series.windows.size(), 70u);
  EXPECT_GE(report.time_series.windows.front().start_us, testing::kT0 - 3'600'000'000);
}

TEST(LogAggregatorTest, CountsFieldsKindsAndErrors) {
  SyntheticLog log;
  TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0);
  q.request_id = "a";
  q.r.total_ms = 12;
  q.r.queue_ms = -5;  // invalid: ignored and counted.
  q.status = "timeout";
  TestRecord& g = log.Add(RecordKind::kGpu, testing::kT0 + 1000);
  g.r.gpu_id = 1;
  g.r.mem_used_mb = 100;
  log.Add(RecordKind::kAlert, testing::kT0 + 2000);
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.records(), 3);
  EXPECT_EQ(agg.requests(), 1);
  EXPECT_EQ(agg.gpu_samples(), 1);
  EXPECT_EQ(agg.other_records(), 1);
  EXPECT_EQ(agg.errors(), 1);
  EXPECT_EQ(agg.errors_by_status().at("timeout"), 1);
  EXPECT_EQ(agg.invalid_values(), 1);
  EXPECT_EQ(agg.field_count(LogField::kTotalMs), 1);
  EXPECT_EQ(agg.field_count(LogField::kMemUsed), 1);
  EXPECT_EQ(agg.field_count(LogField::kQueueMs), 1);
  EXPECT_TRUE(agg.stage(LogStage::kQueue).empty());
  EXPECT_EQ(agg.by_gpu().count(1), 1u);
}

TEST(LogAggregatorTest, ExamplesAreDeterministicAcrossSplits) {
  ExampleSet earliest(3, ExampleSet::Order::kEarliest), a(3, ExampleSet::Order::kEarliest),
      b(3, ExampleSet::Order::kEarliest);
  ExampleSet largest(3, ExampleSet::Order::kLargest), c(3, ExampleSet::Order::kLargest),
      d(3, ExampleSet::Order::kLargest);
  for (int i = 0; i < 100; ++i) {
    RequestExample e;
    e.id = "id" + std::to_string(i);
    e.ts_us = (i * 7919) % 101;
    e.line = i;
    e.value = (i * 31) % 17;
    earliest.Offer(e);
    largest.Offer(e);
    (i % 2 ? a : b).Offer(e);
    (i % 3 ? c : d).Offer(e);
  }
  a.Merge(b);
  d.Merge(c);
  ASSERT_EQ(a.items().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.items()[i].id, earliest.items()[i].id);
    EXPECT_EQ(d.items()[i].id, largest.items()[i].id);
  }
  EXPECT_EQ(earliest.items()[0].ts_us, 0);
  EXPECT_EQ(largest.items()[0].value, 16);
}

TEST(LogAggregatorTest, StatusClassification) {
  SyntheticLog log;
  for (const char* status : {"ok", "OK", "success", "200", "oom", "503", "queue_full", "timeout"}) {
    TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0);
    q.status = status;
    q.r.total_ms = 5;
  }
  TestRecord& e = log.Add(RecordKind::kRequest, testing::kT0);
  e.status.clear();
  e.error = "CUDA error: out of memory";
  LogAggregator agg;
  log.FeedTo(&agg);
  EXPECT_EQ(agg.errors(), 5);
  EXPECT_EQ(agg.flag(RecordFlag::kOom).hits, 2);
  EXPECT_EQ(agg.flag(RecordFlag::kRejected).hits, 2);
}

TEST(LogAggregatorTest, RecordsWithoutIdUseFileAndLine) {
  SyntheticLog log;
  TestRecord& q = log.Add(RecordKind::kRequest, testing::kT0);
  q.r.oom = true;
  q.r.line = 42;
  q.source = "gpu.csv";
  LogAggregator agg;
  log.FeedTo(&agg);
  ASSERT_EQ(agg.flag(RecordFlag::kOom).examples.items().size(), 1u);
  EXPECT_EQ(agg.flag(RecordFlag::kOom).examples.items()[0].id, "gpu.csv:42");
}

// Adds a batch record every second that names no GPU (gpu_id null, no
// device), as `serve` wrote them with the simulated GPU.
void AddBatchesWithoutGpu(SyntheticLog* log, double seconds) {
  for (int s = 0; s < static_cast<int>(seconds); ++s) {
    TestRecord& b = log->Add(RecordKind::kBatch, testing::kT0 + s * 1'000'000 + 500'000);
    b.model = "yolov8n";
    b.r.batch_size = 2;
    b.r.inference_ms = 14;
    b.r.mem_used_mb = 6100;
    b.r.mem_total_mb = 16384;
    b.r.mem_reserved_mb = 5200;
    b.r.mem_inactive_split_mb = 300;
  }
}

std::vector<std::string> GpuNames(const AnalysisReport& r) {
  std::vector<std::string> names;
  for (const GroupSummary& g : r.summary.by_gpu) names.push_back(g.name);
  return names;
}

TEST(LogAggregatorTest, RecordsWithoutGpuIdBelongToTheOnlyGpu) {
  HealthyOptions o;
  o.seconds = 60;
  SyntheticLog log = HealthyLog(o);
  AddBatchesWithoutGpu(&log, o.seconds);
  const AnalysisReport report = log.Analyze();
  // No second, "unknown" GPU next to cuda:0 ...
  EXPECT_EQ(GpuNames(report), std::vector<std::string>{"cuda:0"});
  ASSERT_EQ(report.summary.by_gpu.size(), 1u);
  EXPECT_EQ(report.summary.by_gpu[0].mem_total_mb, 16384);
  // ... so the memory totals are one GPU's, and the batch records' own
  // facts (inactive split) are that GPU's.
  int with_memory = 0, with_split = 0;
  for (const WindowStats& w : report.time_series.windows) {
    if (w.mem_total_mb) {
      ++with_memory;
      EXPECT_NEAR(*w.mem_total_mb, 16384, 1e-6);
      EXPECT_LT(*w.mem_used_mb, 16384 * 0.5);
    }
    if (w.mem_inactive_split_mb) {
      ++with_split;
      EXPECT_NEAR(*w.mem_inactive_split_mb, 300, 1e-6);
    }
  }
  EXPECT_GT(with_memory, 0);
  EXPECT_GT(with_split, 0);
}

TEST(LogAggregatorTest, RecordsWithoutGpuIdAddNoGpuWhenSeveralAreNamed) {
  HealthyOptions o;
  o.seconds = 60;
  o.gpu_telemetry = false;
  o.mutate_request = [](TestRecord& q, const RequestShape& s) {
    q.r.gpu_id = s.index % 2;
    q.device = s.index % 2 ? "cuda:1" : "cuda:0";
  };
  SyntheticLog log = HealthyLog(o);
  AddBatchesWithoutGpu(&log, o.seconds);
  const AnalysisReport report = log.Analyze();
  // Which of the two ran the batches is unknown: no third GPU, and the
  // totals are the two named GPUs' (not three).
  EXPECT_EQ(GpuNames(report), (std::vector<std::string>{"cuda:0", "cuda:1"}));
  int with_memory = 0;
  for (const WindowStats& w : report.time_series.windows) {
    if (!w.mem_total_mb || w.requests < 10) continue;
    ++with_memory;
    EXPECT_NEAR(*w.mem_total_mb, 2 * 16384, 1e-6);
  }
  EXPECT_GT(with_memory, 0);
}

TEST(LogAggregatorTest, LogThatNamesNoGpuKeepsItsMemoryFacts) {
  HealthyOptions o;
  o.seconds = 60;
  o.gpu_telemetry = false;
  o.mutate_request = [](TestRecord& q, const RequestShape&) {
    q.r.gpu_id.reset();
    q.device.clear();
  };
  SyntheticLog log = HealthyLog(o);
  AddBatchesWithoutGpu(&log, o.seconds);
  const AnalysisReport report = log.Analyze();
  EXPECT_TRUE(report.summary.by_gpu.empty());  // no GPU is named: no per-GPU table.
  int with_memory = 0, with_split = 0;
  for (const WindowStats& w : report.time_series.windows) {
    if (w.mem_total_mb) {
      ++with_memory;
      EXPECT_NEAR(*w.mem_total_mb, 16384, 1e-6);
    }
    if (w.mem_inactive_split_mb) ++with_split;
  }
  EXPECT_GT(with_memory, 0);
  EXPECT_GT(with_split, 0);
}

}  // namespace
}  // namespace yoloscope
