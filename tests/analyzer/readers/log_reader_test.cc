// LogReader end to end: every format from the fixtures, compressed inputs,
// parallel chunking, stdin, follow mode, errors.
#include "analyzer/readers/log_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>
#include <tuple>

#include "analyzer/readers/compression_util.h"
#include "analyzer/readers/record_collector.h"
#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

using testing_readers::CollectedRecord;
using testing_readers::CollectingSink;
using testing_readers::FixturePath;
using testing_readers::GzipCompress;
using testing_readers::ReadFileToString;
using testing_readers::TempDir;
using testing_readers::WriteStringToFile;
using testing_readers::ZstdCompress;

// Reads `paths` with `options`, one CollectingSink per thread, all records merged.
struct ReadResult {
  Status status;
  ReadStats stats;
  std::vector<CollectedRecord> records;
  int threads = 0;
};

ReadResult ReadAll(const std::vector<std::string>& paths, ReadOptions options = {}) {
  ReadResult result;
  auto reader = LogReader::Create(options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  if (!reader.ok()) return result;
  result.threads = (*reader)->num_threads();
  std::vector<std::unique_ptr<CollectingSink>> sinks;
  result.status = (*reader)->Read(
      paths,
      [&](int i) {
        EXPECT_EQ(i, static_cast<int>(sinks.size()));
        sinks.push_back(std::make_unique<CollectingSink>());
        return sinks.back().get();
      },
      &result.stats);
  for (auto& sink : sinks) {
    for (auto& r : sink->records()) result.records.push_back(r);
  }
  std::stable_sort(result.records.begin(), result.records.end(),
                   [](const CollectedRecord& a, const CollectedRecord& b) {
                     return std::tie(a.source, a->line) < std::tie(b.source, b->line);
                   });
  return result;
}

const CollectedRecord* FindRequest(const ReadResult& r, std::string_view id) {
  for (const auto& rec : r.records) {
    if (rec.request_id == id) return &rec;
  }
  return nullptr;
}

// A synthetic yoloscope.v1 log of `n` requests (plus a gpu sample every 100),
// with a malformed line every `bad_every` lines (0: none).
std::string MakeLog(int n, int bad_every = 0) {
  std::string out;
  RequestLogRecord r;
  GpuLogRecord g;
  for (int i = 0; i < n; ++i) {
    if (i % 100 == 0) {
      g.ts_us = 1767225600000000 + i * 1000;
      g.gpu_id = i / 100 % 2;
      g.gpu_util = i % 97;
      AppendJsonLine(g, &out);
    }
    r.ts_us = 1767225600000000 + i * 1000;
    r.request_id = "req-" + std::to_string(i);
    r.model = i % 3 == 0 ? "yolov8s" : "yolov8n";
    r.gpu_id = i % 2;
    r.batch_size = 1 + i % 8;
    r.queue_ms = (i % 50) * 0.25;
    r.inference_ms = 5.0 + (i % 13);
    r.total_ms = *r.queue_ms + *r.inference_ms + 2.0;
    AppendJsonLine(r, &out);
    if (bad_every > 0 && i % bad_every == bad_every - 1) out += "{\"event\":\"request\",\"ts\":\n";
  }
  return out;
}

TEST(LogReaderTest, ReadsOurJsonlFixture) {
  ReadOptions options;
  options.threads = 1;
  const std::string path = FixturePath("yoloscope_v1.jsonl");
  ReadResult r = ReadAll({path}, options);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stats.files, 1);
  EXPECT_EQ(r.stats.lines, 15);
  EXPECT_EQ(r.stats.records, 11);
  EXPECT_EQ(r.stats.requests, 7);
  EXPECT_EQ(r.stats.batches, 1);
  EXPECT_EQ(r.stats.gpu_samples, 1);
  EXPECT_EQ(r.stats.alerts, 1);
  EXPECT_EQ(r.stats.other_records, 1);
  EXPECT_EQ(r.stats.malformed, 3);
  EXPECT_EQ(r.stats.field_errors, 1);
  EXPECT_EQ(r.stats.foreign_schema, 1);
  EXPECT_EQ(r.stats.writer_dropped, 7);
  EXPECT_EQ(r.stats.records_by_format["jsonl"], 11);
  EXPECT_EQ(r.stats.bytes, static_cast<int64_t>(ReadFileToString(path).size()));
  ASSERT_EQ(r.stats.malformed_examples.size(), 4u);
  EXPECT_EQ(r.stats.malformed_examples[0].substr(0, path.size() + 21),
            path + ":8: not a JSON object");
  EXPECT_EQ(r.stats.malformed_examples[1], path + ":9: field 'queue_ms': expected a number");
  EXPECT_EQ(r.stats.malformed_examples[2].substr(0, path.size() + 4), path + ":10:");
  EXPECT_EQ(r.stats.malformed_examples[3].substr(0, path.size() + 4), path + ":11:");

  const CollectedRecord* a = FindRequest(r, "req-0001");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)->line, 3);
  EXPECT_EQ(a->source, path);
  EXPECT_EQ((*a)->ts_us, 1767225600001000);
  EXPECT_EQ((*a)->total_ms, 15.997);
  EXPECT_EQ((*a)->mem_reserved_mb, 5600.0);
  const CollectedRecord* cpu = FindRequest(r, "req-0003");
  ASSERT_NE(cpu, nullptr);
  EXPECT_FALSE((*cpu)->gpu_id.has_value());
  EXPECT_EQ(cpu->device, "cpu");
  const CollectedRecord* oom = FindRequest(r, "req-0004");
  ASSERT_NE(oom, nullptr);
  EXPECT_EQ((*oom)->oom, true);
  EXPECT_EQ((*oom)->dropped_records, 7);
  EXPECT_EQ(oom->error,
            "CUDA out of memory. Tried to allocate 1.20 GiB (GPU 1; \"23.99 GiB\" total)\n"
            "see été 中文");
  const CollectedRecord* epoch = FindRequest(r, "req-0006");
  ASSERT_NE(epoch, nullptr);
  EXPECT_EQ((*epoch)->ts_us, 1767225605000000);
  EXPECT_EQ((*epoch)->batch_size, 4);
  const CollectedRecord* bad_field = FindRequest(r, "req-0005");
  ASSERT_NE(bad_field, nullptr);
  EXPECT_FALSE((*bad_field)->queue_ms.has_value());
  EXPECT_EQ((*bad_field)->total_ms, 20.5);
}

TEST(LogReaderTest, CompressedFixturesGiveTheSameRecords) {
  TempDir dir;
  const std::string data = ReadFileToString(FixturePath("yoloscope_v1.jsonl"));
  WriteStringToFile(dir.File("log.jsonl.gz"), GzipCompress(data));
  WriteStringToFile(dir.File("log.jsonl.zst"), ZstdCompress(data));
  for (int threads : {1, 2}) {
    ReadOptions options;
    options.threads = threads;
    ReadResult plain = ReadAll({FixturePath("yoloscope_v1.jsonl")}, options);
    ReadResult gz = ReadAll({dir.File("log.jsonl.gz")}, options);
    ReadResult zst = ReadAll({dir.File("log.jsonl.zst")}, options);
    for (const ReadResult* r : {&gz, &zst}) {
      ASSERT_TRUE(r->status.ok()) << r->status.ToString();
      EXPECT_EQ(r->stats.records, plain.stats.records);
      EXPECT_EQ(r->stats.malformed, plain.stats.malformed);
      EXPECT_EQ(r->stats.bytes, plain.stats.bytes);
      EXPECT_LT(r->stats.raw_bytes, plain.stats.raw_bytes);  // compressed size
      ASSERT_EQ(r->records.size(), plain.records.size());
      for (size_t i = 0; i < plain.records.size(); ++i) {
        EXPECT_EQ(r->records[i]->line, plain.records[i]->line);
        EXPECT_EQ(r->records[i].request_id, plain.records[i].request_id);
        EXPECT_EQ(r->records[i]->total_ms, plain.records[i]->total_ms);
      }
    }
    EXPECT_EQ(gz.stats.malformed_examples.size(), plain.stats.malformed_examples.size());
  }
}

TEST(LogReaderTest, ReadsChineseCsv) {
  ReadResult r = ReadAll({FixturePath("requests_zh.csv")});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stats.files_by_format["csv"], 1);
  EXPECT_EQ(r.stats.requests, 5);
  EXPECT_EQ(r.stats.malformed, 1);
  EXPECT_EQ(r.stats.field_errors, 1);
  ASSERT_EQ(r.records.size(), 5u);
  const LogRecord& a = r.records[0].record;
  EXPECT_EQ(a.request_id, "r-001");
  EXPECT_EQ(a.model, "yolov8n");
  EXPECT_EQ(a.ts_us, 1767254400100000);  // 2026-01-01 08:00:00.100 UTC
  EXPECT_EQ(a.batch_size, 1);
  EXPECT_EQ(a.queue_ms, 2.5);
  EXPECT_EQ(a.preprocess_ms, 3.1);
  EXPECT_EQ(a.inference_ms, 6.2);
  EXPECT_EQ(a.postprocess_ms, 0.8);
  EXPECT_EQ(a.total_ms, 12.6);
  EXPECT_EQ(a.gpu_util, 45.0);
  EXPECT_EQ(a.mem_used_mb, 3980.0);
  EXPECT_EQ(a.mem_total_mb, 24.0 * 1024);
  EXPECT_EQ(a.status, "ok");
  EXPECT_FALSE(a.oom.has_value());
  EXPECT_EQ(r.records[1]->queue_ms, 12.5);
  EXPECT_DOUBLE_EQ(*r.records[1]->mem_used_mb, 3.9 * 1024);
  const LogRecord& c = r.records[2].record;
  EXPECT_EQ(c.queue_ms, 250.0);
  EXPECT_EQ(c.mem_used_mb, 3980.0);
  EXPECT_EQ(c.oom, true);
  EXPECT_EQ(c.status, "失败");
  EXPECT_EQ(r.records[3]->queue_ms, 0.35);
  EXPECT_EQ(r.records[3]->gpu_util, 50.0);
  EXPECT_EQ(r.records[3]->line, 5);
  const LogRecord& e = r.records[4].record;
  EXPECT_EQ(e.line, 8);
  EXPECT_FALSE(e.batch_size.has_value());
  EXPECT_FALSE(e.queue_ms.has_value());
  EXPECT_FALSE(e.inference_ms.has_value());
  EXPECT_EQ(e.total_ms, 15.0);
  const std::string path = FixturePath("requests_zh.csv");
  ASSERT_EQ(r.stats.malformed_examples.size(), 2u);
  EXPECT_EQ(r.stats.malformed_examples[0], path + ":7: expected 14 columns, got 1");
  EXPECT_EQ(r.stats.malformed_examples[1], path + ":8: column '推理耗时(ms)': not a number: 'abc'");
}

TEST(LogReaderTest, ReadsMarkdownTsvAndNvidiaSmi) {
  ReadResult md = ReadAll({FixturePath("latency_report.md")});
  ASSERT_TRUE(md.status.ok()) << md.status.ToString();
  EXPECT_EQ(md.stats.files_by_format["markdown"], 1);
  EXPECT_EQ(md.stats.requests, 3);
  EXPECT_EQ(md.stats.gpu_samples, 1);
  EXPECT_EQ(md.stats.malformed, 0);
  ASSERT_EQ(md.records.size(), 4u);
  EXPECT_EQ(md.records[0]->inference_ms, 12.5);
  EXPECT_DOUBLE_EQ(*md.records[0]->total_ms, 20.0);
  EXPECT_EQ(md.records[0]->mem_used_mb, 3584.0);
  EXPECT_EQ(md.records[1]->inference_ms, 800.0);
  EXPECT_EQ(md.records[1]->queue_ms, 40.0);
  EXPECT_EQ(md.records[2].request_id, "a|3");
  EXPECT_EQ(md.records[2]->queue_ms, 0.35);
  EXPECT_EQ(md.records[2].status, "timeout");
  EXPECT_EQ(md.records[3]->kind, RecordKind::kGpu);
  EXPECT_EQ(md.records[3]->gpu_util, 77.0);

  ReadResult tsv = ReadAll({FixturePath("requests.tsv")});
  ASSERT_TRUE(tsv.status.ok());
  EXPECT_EQ(tsv.stats.files_by_format["tsv"], 1);
  ASSERT_EQ(tsv.records.size(), 2u);
  EXPECT_EQ(tsv.records[0]->ts_us, 1767258000500000);
  EXPECT_EQ(tsv.records[1]->ts_us, 1767258001000000);
  EXPECT_EQ(tsv.records[0]->batch_size, 2);
  EXPECT_EQ(tsv.records[0]->queue_ms, 1.25);
  EXPECT_EQ(tsv.records[0]->preprocess_ms, 2.0);
  EXPECT_EQ(tsv.records[0]->inference_ms, 9.5);
  EXPECT_EQ(tsv.records[0]->total_ms, 14.2);
  EXPECT_EQ(tsv.records[0]->mem_used_mb, 5120.0);
  EXPECT_FALSE(tsv.records[0]->oom.has_value());
  EXPECT_EQ(tsv.records[1]->oom, true);  // "CUDA error: out of memory"

  ReadResult smi = ReadAll({FixturePath("nvidia_smi.csv")});
  ASSERT_TRUE(smi.status.ok());
  EXPECT_EQ(smi.stats.files_by_format["nvidia-smi"], 1);
  EXPECT_EQ(smi.stats.gpu_samples, 4);
  ASSERT_EQ(smi.records.size(), 4u);
  const LogRecord& g = smi.records[0].record;
  EXPECT_EQ(g.kind, RecordKind::kGpu);
  EXPECT_EQ(g.ts_us, 1767268800123000);
  EXPECT_EQ(g.gpu_id, 0);
  EXPECT_EQ(g.gpu_util, 85.0);
  EXPECT_EQ(g.mem_used_mb, 4096.0);
  EXPECT_EQ(g.mem_total_mb, 23028.0);
  EXPECT_EQ(g.temp_c, 65.0);
  EXPECT_EQ(g.power_w, 150.2);
  EXPECT_EQ(g.sm_clock_mhz, 1695.0);
  EXPECT_EQ(g.throttle_reasons, "");
  EXPECT_TRUE(smi.records[0].throttle_known);
  EXPECT_EQ(smi.records[1].throttle_reasons, "gpu_idle");
  EXPECT_EQ(smi.records[2].throttle_reasons, "sw_thermal_slowdown,hw_thermal_slowdown");
  EXPECT_FALSE(smi.records[2]->power_w.has_value());
  EXPECT_FALSE(smi.records[3]->gpu_util.has_value());
  EXPECT_EQ(smi.stats.field_errors, 0);
  // "name" and "utilization.memory" are reported as ignored.
  ASSERT_EQ(smi.stats.warnings.size(), 1u);
  EXPECT_NE(smi.stats.warnings[0].find("ignored columns: name, utilization.memory [%]"),
            std::string::npos);
}

TEST(LogReaderTest, ReadsTritonTraces) {
  ReadResult r = ReadAll({FixturePath("triton_trace.json")});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.files_by_format["triton"], 1);
  EXPECT_EQ(r.stats.requests, 4);
  EXPECT_EQ(r.stats.malformed, 2);
  ASSERT_EQ(r.stats.malformed_examples.size(), 2u);
  EXPECT_NE(r.stats.malformed_examples[0].find(":28: entry 20 has a bad timestamp"),
            std::string::npos)
      << r.stats.malformed_examples[0];
}

TEST(LogReaderTest, SeveralFilesOfMixedFormatsInOneRead) {
  TempDir dir;
  WriteStringToFile(dir.File("c.csv.gz"),
                    GzipCompress(ReadFileToString(FixturePath("requests_zh.csv"))));
  ReadResult r = ReadAll({FixturePath("yoloscope_v1.jsonl"), dir.File("c.csv.gz"),
                          FixturePath("nvidia_smi.csv"), FixturePath("triton_trace.json")});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stats.files, 4);
  EXPECT_EQ(r.stats.records, 11 + 5 + 4 + 4);
  EXPECT_EQ(r.stats.records_by_format["csv"], 5);
  EXPECT_EQ(r.stats.records_by_format["nvidia-smi"], 4);
  EXPECT_EQ(r.stats.records_by_format["triton"], 4);
  EXPECT_EQ(r.stats.malformed, 3 + 1 + 2);
  ASSERT_EQ(r.stats.malformed_examples.size(), 5u);  // the first five, in file order
  EXPECT_NE(r.stats.malformed_examples[3].find("yoloscope_v1.jsonl:11:"), std::string::npos);
  EXPECT_NE(r.stats.malformed_examples[4].find("c.csv.gz:7:"), std::string::npos);
}

// UTF-8 -> GB18030, as Excel on a Chinese Windows saves "CSV".
std::string ToGb18030(const std::string& utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  std::string out(utf8.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(utf8.data());
  size_t src_left = utf8.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

TEST(LogReaderTest, ReadsGbkEncodedChineseCsv) {
  TempDir dir;
  const std::string utf8 = ReadFileToString(FixturePath("requests_zh.csv"));
  const std::string gbk = ToGb18030(utf8);
  ASSERT_NE(gbk, utf8);
  WriteStringToFile(dir.File("gbk.csv"), gbk);
  ReadResult r = ReadAll({dir.File("gbk.csv")});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.requests, 5);
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.records[0]->inference_ms, 6.2);
  EXPECT_EQ(r.records[2].status, "失败");  // converted to UTF-8
  EXPECT_EQ(r.records[2]->oom, true);
  ASSERT_FALSE(r.stats.warnings.empty());
  EXPECT_NE(r.stats.warnings[0].find("read as GB18030"), std::string::npos);
}

TEST(LogReaderTest, ForcedFormat) {
  ReadOptions options;
  options.input_format = "csv";
  ReadResult r = ReadAll({FixturePath("requests.tsv")}, options);  // tabs read as one column
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.files_by_format["csv"], 1);
  EXPECT_EQ(r.stats.records, 0);
  options.input_format = "parquet";
  EXPECT_FALSE(LogReader::Create(options).ok());
}

TEST(LogReaderTest, MapOptionForTablesAndJsonl) {
  TempDir dir;
  WriteStringToFile(dir.File("t.csv"), "when,Dauer (s),rid\n2026-01-01 00:00:00,0.5,x\n");
  WriteStringToFile(dir.File("t.jsonl"), "{\"rid\":\"y\",\"lat\":7}\n");
  ReadOptions options;
  options.column_map = {{"total_ms", "Dauer"}, {"ts", "when"}, {"request_id", "rid"}};
  ReadResult r = ReadAll({dir.File("t.csv")}, options);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0]->total_ms, 500.0);
  EXPECT_EQ(r.records[0]->ts_us, 1767225600000000);
  EXPECT_EQ(r.records[0].request_id, "x");
  options.column_map = {{"total_ms", "lat"}, {"request_id", "rid"}};
  r = ReadAll({dir.File("t.jsonl")}, options);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0]->total_ms, 7.0);
  EXPECT_EQ(r.records[0].request_id, "y");
  options.column_map = {{"latency", "x"}};
  auto bad = LogReader::Create(options);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(LogReaderTest, ParallelChunksMatchSingleThread) {
  TempDir dir;
  const std::string log = MakeLog(30000, 997);  // ~4.5 MB: split across threads
  ASSERT_GT(log.size(), 2u << 20);
  WriteStringToFile(dir.File("big.jsonl"), log);
  WriteStringToFile(dir.File("big.jsonl.zst"), ZstdCompress(log));
  ReadOptions one;
  one.threads = 1;
  const ReadResult base = ReadAll({dir.File("big.jsonl")}, one);
  ASSERT_TRUE(base.status.ok());
  EXPECT_EQ(base.stats.requests, 30000);
  EXPECT_EQ(base.stats.gpu_samples, 300);
  EXPECT_EQ(base.stats.malformed, 30);
  for (int threads : {1, 2, 3, 7}) {
    for (const std::string& name : {std::string("big.jsonl"), std::string("big.jsonl.zst")}) {
      ReadOptions options;
      options.threads = threads;
      options.block_bytes = 64 * 1024;  // many blocks on the streamed path
      const ReadResult r = ReadAll({dir.File(name)}, options);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      EXPECT_EQ(r.threads, threads);
      EXPECT_EQ(r.stats.records, base.stats.records) << name << " x" << threads;
      EXPECT_EQ(r.stats.lines, base.stats.lines) << name << " x" << threads;
      EXPECT_EQ(r.stats.malformed, base.stats.malformed);
      EXPECT_EQ(r.stats.bytes, base.stats.bytes);
      ASSERT_EQ(r.stats.malformed_examples.size(), base.stats.malformed_examples.size());
      for (size_t i = 0; i < base.stats.malformed_examples.size(); ++i) {
        // Same line and reason; only the file name differs.
        const std::string& want = base.stats.malformed_examples[i];
        const std::string& got = r.stats.malformed_examples[i];
        EXPECT_EQ(got.substr(got.find(".jsonl") + 6 + (name == "big.jsonl" ? 0 : 4)),
                  want.substr(want.find(".jsonl") + 6));
      }
      ASSERT_EQ(r.records.size(), base.records.size());
      for (size_t i = 0; i < base.records.size(); ++i) {
        ASSERT_EQ(r.records[i]->line, base.records[i]->line) << name << " x" << threads;
        ASSERT_EQ(r.records[i].request_id, base.records[i].request_id);
        ASSERT_EQ(r.records[i]->total_ms, base.records[i]->total_ms);
        ASSERT_EQ(r.records[i]->ts_us, base.records[i]->ts_us);
      }
    }
  }
}

TEST(LogReaderTest, LinesNearTheEndOfTheMappingAreParsed) {
  // The last line has no newline and fewer than 64 bytes after it.
  TempDir dir;
  WriteStringToFile(dir.File("f.jsonl"), "{\"total_ms\":1}\n{\"total_ms\":2}");
  ReadResult r = ReadAll({dir.File("f.jsonl")});
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1]->total_ms, 2.0);
  EXPECT_EQ(r.records[1]->line, 2);
}

TEST(LogReaderTest, EmptyFilesAndCrlf) {
  TempDir dir;
  WriteStringToFile(dir.File("empty.jsonl"), "");
  WriteStringToFile(dir.File("crlf.jsonl"), "{\"total_ms\":1}\r\n\r\n{\"total_ms\":2}\r\n");
  WriteStringToFile(dir.File("crlf.csv"), "latency,id\r\n5,\"a\"\r\n");
  ReadResult r = ReadAll({dir.File("empty.jsonl"), dir.File("crlf.jsonl"), dir.File("crlf.csv")});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.files, 3);
  EXPECT_EQ(r.stats.records, 3);
  EXPECT_EQ(r.stats.malformed, 0);
}

TEST(LogReaderTest, MissingFileFailsBeforeReadingAnything) {
  CollectingSink sink;
  auto reader = LogReader::Create({});
  ASSERT_TRUE(reader.ok());
  ReadStats stats;
  Status s = (*reader)->Read(
      {FixturePath("yoloscope_v1.jsonl"), "/no/such/file.jsonl"}, [&](int) { return &sink; },
      &stats);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("/no/such/file.jsonl"), std::string::npos);
  EXPECT_EQ(sink.size(), 0u);
  EXPECT_EQ((*reader)
                ->Read(
                    {}, [&](int) { return &sink; }, &stats)
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(LogReaderTest, TruncatedCompressedFileIsAnErrorAfterItsRecords) {
  TempDir dir;
  const std::string gz = GzipCompress(MakeLog(20000));
  WriteStringToFile(dir.File("cut.gz"), gz.substr(0, gz.size() * 3 / 4));
  for (int threads : {1, 2}) {
    ReadOptions options;
    options.threads = threads;
    ReadResult r = ReadAll({dir.File("cut.gz")}, options);
    EXPECT_EQ(r.status.code(), StatusCode::kDataLoss) << r.status.ToString();
    EXPECT_GT(r.stats.records, 1000);
  }
}

TEST(LogReaderTest, ReadsStdinThroughAPipe) {
  const std::string log = MakeLog(2000);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const int saved_stdin = dup(STDIN_FILENO);
  ASSERT_GE(saved_stdin, 0);
  ASSERT_EQ(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  close(fds[0]);
  std::thread writer([&] {
    const std::string gz = GzipCompress(log);  // compressed on stdin, too
    size_t off = 0;
    while (off < gz.size()) {
      const ssize_t n = write(fds[1], gz.data() + off, std::min<size_t>(4096, gz.size() - off));
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  ReadOptions options;
  options.threads = 2;
  ReadResult r = ReadAll({"-"}, options);
  writer.join();
  dup2(saved_stdin, STDIN_FILENO);
  close(saved_stdin);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stats.requests, 2000);
  EXPECT_EQ(r.stats.bytes, static_cast<int64_t>(log.size()));
  ASSERT_FALSE(r.records.empty());
  EXPECT_EQ(r.records[0].source, "-");
}

TEST(LogReaderTest, FollowPicksUpAppendedLines) {
  TempDir dir;
  const std::string path = dir.File("live.jsonl");
  WriteStringToFile(path, "{\"request_id\":\"a\",\"total_ms\":1}\n");
  std::atomic<bool> stop{false};
  ReadOptions options;
  options.follow.enabled = true;
  options.follow.stop = &stop;
  options.follow.poll_interval_ms = 20;
  auto reader = LogReader::Create(options);
  ASSERT_TRUE(reader.ok());
  CollectingSink sink;
  ReadStats stats;
  Status status;
  std::thread t([&] {
    status = (*reader)->Read(
        {path}, [&](int) { return &sink; }, &stats);
  });
  auto wait_for = [&](size_t n) {
    for (int i = 0; i < 500 && sink.size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return sink.size();
  };
  EXPECT_EQ(wait_for(1), 1u);
  {
    std::ofstream out(path, std::ios::app);
    out << "{\"request_id\":\"b\",\"total_ms\":2}\n{\"request_id\":\"c\",";  // c is partial
  }
  EXPECT_EQ(wait_for(2), 2u);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(sink.size(), 2u);  // the partial line waits for its newline
  {
    std::ofstream out(path, std::ios::app);
    out << "\"total_ms\":3}\n";
  }
  EXPECT_EQ(wait_for(3), 3u);
  // Rotation: the file is replaced by a new one; reading starts over.
  const std::string rotated = dir.File("live.jsonl.1");
  ASSERT_EQ(std::rename(path.c_str(), rotated.c_str()), 0);
  WriteStringToFile(path, "{\"request_id\":\"d\",\"total_ms\":4}\n{\"request_id\":\"e\"}");
  EXPECT_EQ(wait_for(4), 4u);
  stop = true;
  t.join();
  ASSERT_TRUE(status.ok()) << status.ToString();
  const auto records = sink.records();
  ASSERT_EQ(records.size(), 5u);  // "e" (no newline) is parsed when following ends
  EXPECT_EQ(records[2].request_id, "c");
  EXPECT_EQ(records[2]->line, 3);
  EXPECT_EQ(records[3].request_id, "d");
  EXPECT_EQ(records[3]->line, 1);
  EXPECT_EQ(records[4].request_id, "e");
  EXPECT_EQ(stats.records, 5);
}

TEST(LogReaderTest, FollowEndsAfterIdleTimeoutAndFollowsTables) {
  TempDir dir;
  const std::string path = dir.File("live.csv");
  WriteStringToFile(path, "latency,id\n1,a\n");
  ReadOptions options;
  options.follow.enabled = true;
  // The appender writes after 100 ms; the idle timeout leaves it 15x that
  // even when a loaded machine (ctest -j2 beside the lab) starves the thread.
  options.follow.idle_timeout_ms = 1500;
  options.follow.poll_interval_ms = 20;
  auto reader = LogReader::Create(options);
  ASSERT_TRUE(reader.ok());
  CollectingSink sink;
  ReadStats stats;
  std::thread appender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ofstream out(path, std::ios::app);
    out << "2,b\n";
  });
  const auto start = std::chrono::steady_clock::now();
  Status status = (*reader)->Read(
      {path}, [&](int) { return &sink; }, &stats);
  appender.join();
  ASSERT_TRUE(status.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  ASSERT_EQ(sink.size(), 2u);
  EXPECT_EQ(sink.records()[1].request_id, "b");
  EXPECT_EQ(sink.records()[1]->line, 3);
}

TEST(LogReaderTest, CancelStopsEarly) {
  TempDir dir;
  WriteStringToFile(dir.File("a.jsonl"), MakeLog(100));
  std::atomic<bool> cancel{true};
  ReadOptions options;
  options.cancel = &cancel;
  ReadResult r = ReadAll({dir.File("a.jsonl")}, options);
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled);
}

TEST(LogReaderTest, ReportsProgress) {
  TempDir dir;
  const std::string log = MakeLog(5000);
  WriteStringToFile(dir.File("a.jsonl"), log);
  WriteStringToFile(dir.File("b.jsonl.gz"), GzipCompress(log));
  std::atomic<int64_t> progress{0};
  ReadOptions options;
  options.progress_bytes = &progress;
  ReadResult r = ReadAll({dir.File("a.jsonl"), dir.File("b.jsonl.gz")}, options);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(progress.load(), r.stats.raw_bytes);
  EXPECT_EQ(r.stats.raw_bytes,
            static_cast<int64_t>(log.size() + ReadFileToString(dir.File("b.jsonl.gz")).size()));
}

// Bytes of `path` mapped into this process now (from /proc/self/maps).
size_t MappedBytesOf(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  size_t bytes = 0;
  while (std::getline(maps, line)) {
    if (line.size() < path.size() || line.compare(line.size() - path.size(), path.size(), path))
      continue;
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2) bytes += hi - lo;
  }
  return bytes;
}

// Checks, while records arrive, how much of the file is mapped.
class MappingWatchSink final : public RecordSink {
 public:
  MappingWatchSink(std::string path, std::atomic<size_t>* peak)
      : path_(std::move(path)), peak_(peak) {}
  void OnRecord(const LogRecord& record) override {
    (void)record;
    if (++records_ % 500 != 0) return;
    const size_t now = MappedBytesOf(path_);
    size_t seen = peak_->load();
    while (now > seen && !peak_->compare_exchange_weak(seen, now)) {
    }
  }

 private:
  std::string path_;
  std::atomic<size_t>* peak_;
  int64_t records_ = 0;
};

TEST(LogReaderTest, PlainFileIsReadIntoBuffersNotMapped) {
  // Memory must not grow with the file: each thread copies its window into
  // one reused buffer (pread), so no page of the file is ever mapped (a
  // mapping per window cost ~30% more CPU: page tables, TLB misses, unmaps).
  TempDir dir;
  const std::string log = MakeLog(60000);  // ~9 MB, 128 KiB windows: ~70 of them
  const std::string path = dir.File("big.jsonl");
  WriteStringToFile(path, log);
  for (int threads : {1, 2, 3}) {
    ReadOptions options;
    options.threads = threads;
    options.block_bytes = 128 * 1024;
    auto reader = LogReader::Create(options);
    ASSERT_TRUE(reader.ok());
    std::atomic<size_t> peak{0};
    std::vector<std::unique_ptr<MappingWatchSink>> sinks;
    ReadStats stats;
    Status status = (*reader)->Read(
        {path},
        [&](int) {
          sinks.push_back(std::make_unique<MappingWatchSink>(path, &peak));
          return sinks.back().get();
        },
        &stats);
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_EQ(stats.requests, 60000);
    EXPECT_EQ(peak.load(), 0u) << "the file was memory-mapped";
    EXPECT_EQ(MappedBytesOf(path), 0u);
  }
}

// Truncates `path` to `size` bytes when the first record arrives.
class TruncatingSink final : public RecordSink {
 public:
  TruncatingSink(std::string path, off_t size) : path_(std::move(path)), size_(size) {}
  void OnRecord(const LogRecord& record) override {
    (void)record;
    if (records_++ == 0) EXPECT_EQ(truncate(path_.c_str(), size_), 0);
  }
  int64_t records() const { return records_; }

 private:
  std::string path_;
  off_t size_;
  int64_t records_ = 0;
};

TEST(LogReaderTest, FileTruncatedWhileReadIsDataLossAfterItsRecords) {
  // logrotate copytruncate while analyze runs: the windows still in the
  // file are read, the next one is refused (DataLoss) instead of touching
  // pages past the new end (SIGBUS).
  TempDir dir;
  const std::string log = MakeLog(20000);  // ~3 MB, 64 KiB windows
  const std::string path = dir.File("rotating.jsonl");
  WriteStringToFile(path, log);
  const size_t keep = log.find('\n', 4 * 65536) + 1;  // inside the 5th window
  ReadOptions options;
  options.threads = 1;
  options.block_bytes = 65536;
  auto reader = LogReader::Create(options);
  ASSERT_TRUE(reader.ok());
  TruncatingSink sink(path, static_cast<off_t>(keep));
  ReadStats stats;
  Status status = (*reader)->Read(
      {path}, [&](int) { return &sink; }, &stats);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  EXPECT_NE(status.message().find("shrank"), std::string::npos) << status.ToString();
  // Every line still in the file was read (the first four windows end
  // exactly there), then the fifth window's end could not be found.
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(keep));
  EXPECT_EQ(stats.records, std::count(log.begin(), log.begin() + keep, '\n'));
  EXPECT_EQ(stats.records, sink.records());
  EXPECT_EQ(stats.malformed, 0);
}

TEST(LogReaderTest, WindowBoundariesInsideLongLines) {
  // Lines longer than a window: some windows start and end inside the same
  // line (empty windows), and line numbers still count every line.
  TempDir dir;
  std::string log;
  for (int i = 0; i < 40; ++i) {
    log += "{\"request_id\":\"r" + std::to_string(i) + "\",\"error\":\"" +
           std::string(static_cast<size_t>(i % 4 == 0 ? 20000 : 10), 'e') +
           "\",\"total_ms\":" + std::to_string(i) + "}\n";
  }
  log += std::string(3000, ' ') + "\n{\"request_id\":\"last\",\"total_ms\":1}";
  WriteStringToFile(dir.File("long.jsonl"), log);
  ReadOptions one;
  one.threads = 1;
  const ReadResult base = ReadAll({dir.File("long.jsonl")}, one);
  ASSERT_TRUE(base.status.ok());
  ASSERT_EQ(base.records.size(), 41u);
  for (int threads : {2, 3}) {
    ReadOptions options;
    options.threads = threads;
    options.block_bytes = 4096;  // the smallest: many windows fall inside one line
    const ReadResult r = ReadAll({dir.File("long.jsonl")}, options);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.stats.lines, 42);
    EXPECT_EQ(r.stats.malformed, 0);
    ASSERT_EQ(r.records.size(), 41u);
    for (size_t i = 0; i < r.records.size(); ++i) {
      EXPECT_EQ(r.records[i].request_id, base.records[i].request_id);
      EXPECT_EQ(r.records[i]->line, base.records[i]->line);
    }
    EXPECT_EQ(r.records.back().request_id, "last");
    EXPECT_EQ(r.records.back()->line, 42);
  }
}

}  // namespace
}  // namespace yoloscope
