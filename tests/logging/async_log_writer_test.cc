#include "logging/async_log_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "logging/record_writer.h"
#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class AsyncLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ys_logwriter_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(dir_, ec);
  }

  AsyncLogWriterConfig Config(const std::string& name = "log.jsonl") {
    AsyncLogWriterConfig config;
    config.path = (dir_ / name).string();
    return config;
  }

  std::unique_ptr<AsyncLogWriter> Make(const AsyncLogWriterConfig& config) {
    auto writer = AsyncLogWriter::Create(config, &clock_);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return writer.ok() ? std::move(writer).value() : nullptr;
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static std::vector<std::string> ReadLines(const std::string& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
  RealClock clock_;
};

TEST_F(AsyncLogWriterTest, CreateFailsClearlyOnAnUnwritablePath) {
  auto missing_dir = AsyncLogWriter::Create(Config("no/such/dir/log.jsonl"), &clock_);
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing_dir.status().message().find("no/such/dir/log.jsonl"), std::string::npos);

  AsyncLogWriterConfig is_dir;
  is_dir.path = dir_.string();
  auto dir_result = AsyncLogWriter::Create(is_dir, &clock_);
  EXPECT_EQ(dir_result.status().code(), StatusCode::kFailedPrecondition);

  if (::geteuid() != 0) {  // root ignores file permissions
    fs::create_directory(dir_ / "ro");
    fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    auto read_only = AsyncLogWriter::Create(Config("ro/log.jsonl"), &clock_);
    EXPECT_EQ(read_only.status().code(), StatusCode::kFailedPrecondition)
        << read_only.status().ToString();
  }

  AsyncLogWriterConfig bad = Config();
  bad.queue_capacity = 0;
  EXPECT_EQ(AsyncLogWriter::Create(bad, &clock_).status().code(), StatusCode::kInvalidArgument);
  bad = Config();
  bad.flush_interval_us = 0;
  EXPECT_EQ(AsyncLogWriter::Create(bad, &clock_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AsyncLogWriter::Create(Config(), nullptr).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AsyncLogWriterTest, EveryAcceptedLineIsWrittenOnceInOrderPerProducer) {
  AsyncLogWriterConfig config = Config();
  config.queue_capacity = 256;  // small enough that some lines may be dropped
  config.buffer_bytes = 4096;
  auto writer = Make(config);
  constexpr int kProducers = 4, kLines = 20000;
  std::vector<std::vector<int>> accepted(kProducers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kLines; ++i) {
        std::string line = "{\"p\":" + std::to_string(p) + ",\"i\":" + std::to_string(i) +
                           ",\"pad\":\"" + std::string(i % 97, 'x') + "\"}";
        if (writer->TryWrite(std::move(line))) accepted[p].push_back(i);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(writer->Close().ok());

  std::vector<std::vector<int>> seen(kProducers);
  int64_t total_accepted = 0;
  for (const auto& a : accepted) total_accepted += static_cast<int64_t>(a.size());
  for (const std::string& line : ReadLines(config.path)) {
    int p = -1, i = -1;
    ASSERT_EQ(std::sscanf(line.c_str(), "{\"p\":%d,\"i\":%d,", &p, &i), 2) << line;
    ASSERT_GE(p, 0);
    ASSERT_LT(p, kProducers);
    EXPECT_EQ(line.size(), std::string("{\"p\":,\"i\":,\"pad\":\"\"}").size() +
                               std::to_string(p).size() + std::to_string(i).size() + i % 97);
    seen[p].push_back(i);
  }
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(seen[p], accepted[p]) << "producer " << p;
  AsyncLogWriterStats stats = writer->GetStats();
  EXPECT_EQ(stats.accepted_lines, total_accepted);
  EXPECT_EQ(stats.written_lines, total_accepted);
  EXPECT_EQ(stats.dropped_lines, kProducers * kLines - total_accepted);
  EXPECT_EQ(writer->dropped_total(), stats.dropped_lines);
  EXPECT_EQ(stats.lines_lost, 0);
  EXPECT_EQ(stats.io_errors, 0);
}

TEST_F(AsyncLogWriterTest, CloseFlushesEverythingAcceptedAndThenRejects) {
  AsyncLogWriterConfig config = Config();
  config.flush_interval_us = 600'000'000;  // only Close can flush in this test
  auto writer = Make(config);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer->TryWrite("line " + std::to_string(i)));
  ASSERT_TRUE(writer->TryWrite("already terminated\n"));
  ASSERT_TRUE(writer->Close().ok());
  std::vector<std::string> lines = ReadLines(config.path);
  ASSERT_EQ(lines.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lines[i], "line " + std::to_string(i));
  EXPECT_EQ(lines[100], "already terminated");
  EXPECT_FALSE(writer->TryWrite("too late"));
  EXPECT_EQ(writer->dropped_total(), 1);
  EXPECT_TRUE(writer->Close().ok());  // idempotent
}

TEST_F(AsyncLogWriterTest, AppendsToAnExistingFileUnlessTruncating) {
  AsyncLogWriterConfig config = Config();
  {
    auto writer = Make(config);
    ASSERT_TRUE(writer->TryWrite("first"));
  }  // destructor closes
  {
    auto writer = Make(config);
    ASSERT_TRUE(writer->TryWrite("second"));
  }
  EXPECT_EQ(ReadFile(config.path), "first\nsecond\n");
  config.truncate = true;
  {
    auto writer = Make(config);
    ASSERT_TRUE(writer->TryWrite("third"));
  }
  EXPECT_EQ(ReadFile(config.path), "third\n");
}

TEST_F(AsyncLogWriterTest, FlushesWithinTheIntervalWithoutClose) {
  AsyncLogWriterConfig config = Config();
  config.flush_interval_us = 50'000;
  auto writer = Make(config);
  ASSERT_TRUE(writer->TryWrite("tick"));
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {  // up to 2 s; expected after ~50 ms
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    seen = ReadFile(config.path) == "tick\n";
  }
  EXPECT_TRUE(seen);
}

TEST_F(AsyncLogWriterTest, FlushMakesAcceptedLinesVisible) {
  AsyncLogWriterConfig config = Config();
  config.flush_interval_us = 600'000'000;
  auto writer = Make(config);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->TryWrite("x" + std::to_string(i)));
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(ReadLines(config.path).size(), 10u);
  EXPECT_EQ(writer->GetStats().written_lines, 10);
}

TEST_F(AsyncLogWriterTest, RotationKeepsFilesBoundedAndLinesWhole) {
  AsyncLogWriterConfig config = Config();
  config.max_file_bytes = 1000;
  config.max_files = 100;  // enough that nothing is rotated away
  config.buffer_bytes = 300;
  auto writer = Make(config);
  constexpr int kLines = 300;
  for (int i = 0; i < kLines; ++i) {
    ASSERT_TRUE(writer->TryWrite("line " + std::to_string(i) + " " + std::string(i % 120, 'y')));
  }
  ASSERT_TRUE(writer->Close().ok());
  const int64_t rotations = writer->GetStats().rotations;
  ASSERT_GT(rotations, 5);
  ASSERT_LE(rotations, config.max_files);
  // Oldest file first: path.<rotations> ... path.1, then path.
  std::vector<std::string> files;
  for (int64_t r = rotations; r >= 1; --r) files.push_back(config.path + "." + std::to_string(r));
  files.push_back(config.path);
  int next = 0;
  for (const std::string& file : files) {
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_LE(fs::file_size(file), 1000u) << file;
    const std::string content = ReadFile(file);
    ASSERT_FALSE(content.empty()) << file;
    EXPECT_EQ(content.back(), '\n') << file;  // no line split across files
    for (const std::string& line : ReadLines(file)) {
      EXPECT_EQ(line, "line " + std::to_string(next) + " " + std::string(next % 120, 'y'));
      ++next;
    }
  }
  EXPECT_EQ(next, kLines);
  EXPECT_FALSE(fs::exists(config.path + "." + std::to_string(rotations + 1)));
}

TEST_F(AsyncLogWriterTest, RotationKeepsOnlyMaxFiles) {
  AsyncLogWriterConfig config = Config();
  config.max_file_bytes = 100;
  config.max_files = 2;
  auto writer = Make(config);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(writer->TryWrite("line " + std::to_string(i) + " " + std::string(30, 'z')));
  }
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_TRUE(fs::exists(config.path + ".1"));
  EXPECT_TRUE(fs::exists(config.path + ".2"));
  EXPECT_FALSE(fs::exists(config.path + ".3"));
  // What is kept is the newest, contiguous and ending with the last line.
  std::vector<std::string> kept;
  for (const char* suffix : {".2", ".1", ""}) {
    for (std::string& line : ReadLines(config.path + suffix)) kept.push_back(std::move(line));
  }
  ASSERT_FALSE(kept.empty());
  const int first = std::atoi(kept.front().c_str() + 5);
  for (size_t k = 0; k < kept.size(); ++k) {
    EXPECT_EQ(kept[k], "line " + std::to_string(first + k) + " " + std::string(30, 'z'));
  }
  EXPECT_EQ(first + static_cast<int>(kept.size()), 100);
}

TEST_F(AsyncLogWriterTest, LineLongerThanTheBufferOrTheFileLimitStaysWhole) {
  AsyncLogWriterConfig config = Config();
  config.buffer_bytes = 64;
  config.max_file_bytes = 500;
  auto writer = Make(config);
  const std::string big(2000, 'b');
  ASSERT_TRUE(writer->TryWrite("small 1"));
  ASSERT_TRUE(writer->TryWrite(std::string(big)));
  ASSERT_TRUE(writer->TryWrite("small 2"));
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadFile(config.path + ".2"), "small 1\n");
  EXPECT_EQ(ReadFile(config.path + ".1"), big + "\n");  // alone, over the limit
  EXPECT_EQ(ReadFile(config.path), "small 2\n");
}

TEST_F(AsyncLogWriterTest, FullQueueDropsWithoutBlockingAndCounts) {
  std::atomic<bool> in_hook{false};
  std::atomic<bool> release{false};
  AsyncLogWriterConfig config = Config();
  config.queue_capacity = 4;
  config.before_write_for_testing = [&] {
    in_hook = true;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  auto writer = Make(config);
  ASSERT_TRUE(writer->TryWrite("0"));
  // Wait until the writer has taken line 0 and is stalled "on the disk".
  for (int i = 0; i < 5000 && !in_hook.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(in_hook.load());
  EXPECT_FALSE(writer->queue_full());
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(writer->TryWrite(std::to_string(i)));
  EXPECT_TRUE(writer->queue_full());
  const auto start = std::chrono::steady_clock::now();
  for (int i = 5; i <= 10; ++i) EXPECT_FALSE(writer->TryWrite(std::to_string(i)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));  // never blocked
  EXPECT_EQ(writer->dropped_total(), 6);
  EXPECT_EQ(writer->GetStats().queue_length, 4);
  EXPECT_EQ(writer->TakeDroppedSinceLast(), 6);
  EXPECT_EQ(writer->TakeDroppedSinceLast(), 0);
  // A line carrying a dropped count that is itself dropped hands the count back.
  EXPECT_FALSE(writer->TryWrite("{\"dropped_records\":6}", 6));
  EXPECT_EQ(writer->TakeDroppedSinceLast(), 7);
  EXPECT_EQ(writer->dropped_total(), 7);

  EXPECT_EQ(writer->dropped(LogDropReason::kQueueFull), 7);
  release = true;
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_FALSE(writer->queue_full());
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadFile(config.path), "0\n1\n2\n3\n4\n");
  EXPECT_EQ(writer->GetStats().written_lines, 5);
}

TEST_F(AsyncLogWriterTest, CopiesTheLineSoTheCallerCanReuseItsBuffer) {
  AsyncLogWriterConfig config = Config();
  auto writer = Make(config);
  std::string buffer;
  for (int i = 0; i < 100; ++i) {
    buffer.clear();
    buffer.append("reused ").append(std::to_string(i));
    if (i % 2 == 0) buffer.push_back('\n');  // with or without its newline
    ASSERT_TRUE(writer->TryWrite(buffer));
  }
  ASSERT_TRUE(writer->TryWrite(""));  // an empty line is one '\n'
  ASSERT_TRUE(writer->Close().ok());
  std::vector<std::string> lines = ReadLines(config.path);
  ASSERT_EQ(lines.size(), 101u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(lines[i], "reused " + std::to_string(i));
  EXPECT_EQ(lines[100], "");
  EXPECT_EQ(writer->GetStats().written_bytes, static_cast<int64_t>(ReadFile(config.path).size()));
}

TEST_F(AsyncLogWriterTest, LinesGatherWhileTheWriterWaitsAndFlushTakesThemAtOnce) {
  AsyncLogWriterConfig config = Config();
  config.batch_wait_us = 60'000'000;  // far longer than the test: only Flush ends the wait
  config.queue_capacity = 1000;       // wakes at 500 queued lines
  auto writer = Make(config);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(writer->TryWrite("g" + std::to_string(i)));
  // The first line woke the writer, which now lets the rest gather: nothing
  // was taken from the queue yet.
  EXPECT_EQ(writer->GetStats().chunks, 0);
  EXPECT_EQ(writer->GetStats().queue_length, 100);
  ASSERT_TRUE(writer->Flush().ok());
  AsyncLogWriterStats stats = writer->GetStats();
  EXPECT_EQ(stats.chunks, 1);  // all 100 lines in one hand-off
  EXPECT_EQ(stats.written_lines, 100);
  EXPECT_EQ(stats.queue_length, 0);
  EXPECT_EQ(ReadLines(config.path).size(), 100u);
}

TEST_F(AsyncLogWriterTest, AHalfFullQueueEndsTheGatheringWait) {
  AsyncLogWriterConfig config = Config();
  config.batch_wait_us = 60'000'000;
  config.queue_capacity = 8;  // wakes at 4 queued lines
  auto writer = Make(config);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(writer->TryWrite("h" + std::to_string(i)));
  bool taken = false;
  for (int i = 0; i < 500 && !taken; ++i) {  // up to 5 s, far below the 60 s wait
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    taken = writer->GetStats().queue_length == 0;
  }
  EXPECT_TRUE(taken);
  // And Close() does not wait for the gathering either.
  ASSERT_TRUE(writer->TryWrite("last"));
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadLines(config.path).size(), 5u);
}

TEST_F(AsyncLogWriterTest, WriteRecordSerializesAndCarriesTheDroppedCount) {
  std::atomic<bool> in_hook{false};
  std::atomic<bool> release{false};
  AsyncLogWriterConfig config = Config();
  config.queue_capacity = 1;
  config.before_write_for_testing = [&] {
    in_hook = true;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  auto writer = Make(config);
  RequestLogRecord r;
  r.ts_us = 1767225600123456;
  r.request_id = "first";
  ASSERT_TRUE(WriteRecord(&r, writer.get()));
  for (int i = 0; i < 5000 && !in_hook.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(in_hook.load());  // the writer holds "first"; the queue is empty
  r.request_id = "queued";
  ASSERT_TRUE(WriteRecord(&r, writer.get()));
  BatchLogRecord b;
  b.ts_us = 1767225600200000;
  b.batch_id = 7;
  EXPECT_FALSE(WriteRecord(&b, writer.get()));  // queue full: dropped
  GpuLogRecord g;
  g.ts_us = 1767225600300000;
  g.gpu_id = 0;
  EXPECT_FALSE(WriteRecord(&g, writer.get()));  // dropped too, its count handed back
  release = true;
  ASSERT_TRUE(writer->Flush().ok());
  r.request_id = "after";
  ASSERT_TRUE(WriteRecord(&r, writer.get()));
  EXPECT_EQ(r.dropped_records, 2);
  ASSERT_TRUE(writer->Close().ok());

  std::vector<std::string> lines = ReadLines(config.path);
  ASSERT_EQ(lines.size(), 3u);
  RequestLogRecord expected;
  expected.ts_us = 1767225600123456;
  for (const char* id : {"first", "queued"}) {
    expected.request_id = id;
    std::string line;
    AppendJsonLine(expected, &line);
    EXPECT_EQ(lines[id == std::string("first") ? 0 : 1] + "\n", line);
  }
  EXPECT_NE(lines[2].find("\"request_id\":\"after\""), std::string::npos);
  EXPECT_NE(lines[2].find("\"dropped_records\":2}"), std::string::npos) << lines[2];
  EXPECT_EQ(writer->dropped_total(), 2);
}

// Not a pass/fail test: prints how many 400-byte lines per second the writer
// sustains (producers retry when the queue is full, so every line is written
// and the rate is the writer's, measured from the first line to Close()).
TEST_F(AsyncLogWriterTest, ReportsThroughputFor400ByteLines) {
  AsyncLogWriterConfig config = Config();
  config.max_file_bytes = 64LL << 20;
  config.max_files = 2;
  for (int producers : {1, 2}) {
    auto writer = Make(config);
    constexpr int kLinesPerRun = 400'000;
    const int per_producer = kLinesPerRun / producers;
    const std::string payload(380, 'r');
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    std::atomic<int64_t> retries{0};
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        for (int i = 0; i < per_producer; ++i) {
          char head[24];
          std::snprintf(head, sizeof(head), "{\"p\":%d,\"i\":%09d,", p, i);
          std::string line;
          line.reserve(400);
          // 399 characters + the '\n' the writer adds = 400 bytes on disk.
          line.append(head).append("\"x\":\"");
          line.append(payload.data(), 399 - line.size() - 2).append("\"}");
          while (!writer->TryWrite(std::string(line))) {
            retries.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(writer->Close().ok());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const AsyncLogWriterStats stats = writer->GetStats();
    ASSERT_EQ(stats.written_lines, per_producer * producers);
    ASSERT_EQ(stats.written_bytes, stats.written_lines * 400);
    const double lines_per_s = stats.written_lines / seconds;
    std::cout << "[throughput] producers=" << producers << " lines=" << stats.written_lines
              << " bytes/line=" << stats.written_bytes / stats.written_lines
              << " seconds=" << seconds << " lines/s=" << static_cast<int64_t>(lines_per_s)
              << " MB/s=" << stats.written_bytes / seconds / 1e6
              << " full-queue retries=" << retries.load() << " rotations=" << stats.rotations
              << "\n";
    RecordProperty("lines_per_s_producers_" + std::to_string(producers),
                   std::to_string(static_cast<int64_t>(lines_per_s)));
    EXPECT_GT(lines_per_s, 10'000);  // sanity only; the real number is printed
  }
}

}  // namespace
}  // namespace yoloscope
