// End to end through the real readers: logs from the benchmark's generator
// (bench/loggen) with one injected condition each must yield the matching
// finding, in the condition's time window; a clean one must yield none.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "analyzer/analyze_command.h"
#include "analyzer/report/report_writer.h"
#include "bench/loggen/log_generator.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

constexpr double kStartS = 120, kDurationS = 60;

class AnalyzeLoggenTest : public ::testing::Test {
 protected:
  static fs::path Generate(const std::string& condition, uint64_t seed = 5) {
    LogGeneratorConfig config;
    config.seed = seed;
    config.requests = 60000;
    config.rps = 200;
    if (!condition.empty()) {
      auto c = ParseLogCondition(condition + "@" + std::to_string(static_cast<int>(kStartS)) + "+" +
                                 std::to_string(static_cast<int>(kDurationS)));
      EXPECT_TRUE(c.ok()) << c.status().ToString();
      config.conditions.push_back(*c);
    }
    const fs::path path =
        fs::temp_directory_path() / ("ys_loggen_" + std::to_string(getpid()) + "_" +
                                     (condition.empty() ? "clean" : condition) + ".jsonl");
    std::ofstream out(path, std::ios::binary);
    auto gen = LogGenerator::Create(config);
    EXPECT_TRUE(gen.ok());
    LogGeneratorStats stats;
    EXPECT_TRUE((*gen)
                    ->Generate(
                        [&](std::string_view piece) {
                          out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                          return Status::Ok();
                        },
                        &stats)
                    .ok());
    return path;
  }

  static AnalysisReport Analyze(const fs::path& path, int threads = 2) {
    AnalyzeOptions o;
    o.paths = {path.string()};
    o.threads = threads;
    auto report = AnalyzeCommand(o).Analyze();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : AnalysisReport{};
  }

  static std::string Kinds(const AnalysisReport& r) {
    std::string s;
    for (const Finding& f : r.findings)
      s += std::string(SeverityName(f.severity)) + ":" + f.kind + " ";
    return s;
  }

  static const Finding* Find(const AnalysisReport& r, std::string_view kind) {
    for (const Finding& f : r.findings) {
      if (f.kind == kind) return &f;
    }
    return nullptr;
  }
};

TEST_F(AnalyzeLoggenTest, CleanLogHasNoWarning) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    const fs::path p = Generate("", seed);
    const AnalysisReport r = Analyze(p);
    fs::remove(p);
    EXPECT_GE(r.summary.requests, 60000);  // the generator finishes its last batch.
    for (const Finding& f : r.findings) EXPECT_EQ(f.severity, FindingSeverity::kInfo) << Kinds(r);
  }
}

struct Case {
  const char* condition;
  const char* kind;
  const char* not_kind;
};

class AnalyzeLoggenConditionTest : public AnalyzeLoggenTest,
                                   public ::testing::WithParamInterface<Case> {};

TEST_P(AnalyzeLoggenConditionTest, FindsTheInjectedCondition) {
  const Case c = GetParam();
  const fs::path p = Generate(c.condition);
  const AnalysisReport r = Analyze(p);
  fs::remove(p);
  const Finding* f = Find(r, c.kind);
  ASSERT_NE(f, nullptr) << c.condition << ": " << Kinds(r);
  EXPECT_GE(f->severity, FindingSeverity::kWarning) << Kinds(r);
  if (c.not_kind[0] != '\0') EXPECT_EQ(Find(r, c.not_kind), nullptr) << Kinds(r);
  // Time-bound findings point at the condition's window.
  if (!f->time_ranges.empty() && r.summary.first_ts_us) {
    bool overlaps = false;
    const int64_t t0 = LogGeneratorConfig{}.start_us;
    for (const TimeRange& tr : f->time_ranges) {
      const double a = static_cast<double>(tr.start_us - t0) / 1e6,
                   b = static_cast<double>(tr.end_us - t0) / 1e6;
      overlaps = overlaps || (a < kStartS + kDurationS + 10 && b > kStartS);
    }
    EXPECT_TRUE(overlaps) << c.condition;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Conditions, AnalyzeLoggenConditionTest,
    ::testing::Values(Case{"memory_squeeze", "gpu_memory_pressure", ""},
                      Case{"memory_squeeze", "oom", ""},
                      Case{"queue_saturation", "queue_saturation", "gpu_contention"},
                      Case{"cpu_preprocess", "cpu_preprocess_bound", "gpu_contention"},
                      Case{"throttling", "gpu_throttling", "gpu_contention"},
                      Case{"gpu_contention", "gpu_contention", "gpu_throttling"},
                      Case{"error_burst", "error_burst", ""},
                      Case{"cold_start", "cold_start", "gpu_contention"},
                      // The generator's "leak" grows reserved memory while allocated stays flat:
                      // by PyTorch's allocator semantics that is cache growth / fragmentation.
                      Case{"memory_leak", "memory_fragmentation", ""}));

// The whole JSON document, less the input section's timing and thread count.
std::string Document(const AnalysisReport& r) {
  nlohmann::json j = nlohmann::json::parse(ReportWriter::Json(r));
  for (const char* k : {"threads", "seconds", "bytes_per_s"}) j["input"].erase(k);
  return j.dump(1);
}

TEST_F(AnalyzeLoggenTest, OneAndTwoThreadsAgree) {
  const fs::path p = Generate("throttling");
  const AnalysisReport one = Analyze(p, 1), two = Analyze(p, 2);
  fs::remove(p);
  EXPECT_EQ(Document(one), Document(two));
  EXPECT_EQ(Kinds(one), Kinds(two));
  EXPECT_EQ(one.summary.requests, two.summary.requests);
  ASSERT_EQ(one.stages.size(), two.stages.size());
  for (size_t i = 0; i < one.stages.size(); ++i) {
    EXPECT_EQ(one.stages[i].count, two.stages[i].count);
    EXPECT_DOUBLE_EQ(one.stages[i].p99_ms, two.stages[i].p99_ms);
  }
}

// Allocator retries are counted per source over the merged log, and every
// number is rounded from the same digits: the reports of one and of two
// reading threads are the same document (2 threads once said "4132 records
// needed cudaMalloc retries" where 1 said 4130, and a mean of 70.125 printed
// 70.12 or 70.13).
TEST_F(AnalyzeLoggenTest, OneAndTwoThreadsWriteTheSameReport) {
  const fs::path p = Generate("memory_squeeze");
  const AnalysisReport one = Analyze(p, 1), two = Analyze(p, 2);
  // What a reader of the raw records counts: the generator's batch records
  // carry the retries of their batch (its requests repeat them).
  int64_t retried_batches = 0;
  {
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"alloc_retries\":");
      if (line.find("\"event\":\"batch\"") == std::string::npos || at == std::string::npos) {
        continue;
      }
      if (std::stoll(line.substr(at + 16)) > 0) ++retried_batches;
    }
  }
  fs::remove(p);
  const Finding* oom = Find(one, "oom");
  ASSERT_NE(oom, nullptr) << Kinds(one);
  ASSERT_GT(retried_batches, 0);
  const std::string said = std::to_string(retried_batches) + " records needed cudaMalloc retries";
  bool found = false;
  for (const std::string& e : oom->evidence) found |= e.find(said) != std::string::npos;
  EXPECT_TRUE(found) << said << "\n" << Document(one);
  EXPECT_EQ(two.input.threads, 2);
  EXPECT_EQ(Document(one), Document(two));
}

}  // namespace
}  // namespace yoloscope
