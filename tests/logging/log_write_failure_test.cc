// AsyncLogWriter when the disk fails (issue 15): full disk, EIO, EFBIG, a
// deleted or moved file, Reopen (SIGHUP), and the flush bound. Faults come
// from FaultyLogFileSystem behind the writer's LogFileSystem interface; the
// real-tmpfs case is tests/server/serve_reliability_test.cc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "logging/async_log_writer.h"
#include "logging/faulty_log_file_system.h"
#include "logging/record_writer.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using testing::FaultyLogFileSystem;

class LogWriteFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ys_logfail_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "log.jsonl").string();
    fs_ = std::make_shared<FaultyLogFileSystem>();
  }
  void TearDown() override { fs::remove_all(dir_); }

  AsyncLogWriterConfig Config() {
    AsyncLogWriterConfig config;
    config.path = path_;
    config.file_system = fs_;
    config.flush_interval_us = 600'000'000;  // only Flush/Close write
    config.warn = [this](const std::string& message) {
      std::lock_guard<std::mutex> lock(warn_mu_);
      warnings_.push_back(message);
    };
    return config;
  }
  std::unique_ptr<AsyncLogWriter> Make(const AsyncLogWriterConfig& config, Clock* clock = nullptr) {
    auto writer = AsyncLogWriter::Create(config, clock ? clock : &clock_);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return writer.ok() ? std::move(writer).value() : nullptr;
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string Warnings() {
    std::lock_guard<std::mutex> lock(warn_mu_);
    std::string all;
    for (const auto& w : warnings_) all += w + "\n";
    return all;
  }
  size_t WarningCount() {
    std::lock_guard<std::mutex> lock(warn_mu_);
    return warnings_.size();
  }
  // A 10-byte line "line-NNNN\n".
  static std::string Line(int i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "line-%04d", i);
    return buf;
  }

  fs::path dir_;
  std::string path_;
  std::shared_ptr<FaultyLogFileSystem> fs_;
  RealClock clock_;
  std::mutex warn_mu_;
  std::vector<std::string> warnings_;
};

TEST_F(LogWriteFailureTest, FullDiskKeepsWholeLinesCountsTheRestAndResumes) {
  auto writer = Make(Config());
  // Room for 3.5 lines: the 4th is cut mid-line by a short write.
  fs_->space_left = 35;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->TryWrite(Line(i)));
  EXPECT_FALSE(writer->Flush().ok());  // the first I/O error is reported
  EXPECT_EQ(ReadFile(path_), "line-0000\nline-0001\nline-0002\n");  // no half line
  AsyncLogWriterStats st = writer->GetStats();
  EXPECT_EQ(st.written_lines, 3);
  EXPECT_EQ(st.dropped_by_reason[static_cast<size_t>(LogDropReason::kNoSpace)], 7);
  EXPECT_EQ(writer->dropped(LogDropReason::kNoSpace), 7);
  EXPECT_EQ(writer->dropped_total(), 7);
  EXPECT_EQ(st.truncations, 1);
  EXPECT_FALSE(writer->healthy());
  EXPECT_NE(writer->last_error().find("No space left"), std::string::npos);
  EXPECT_NE(Warnings().find("7 records dropped (no_space 7)"), std::string::npos) << Warnings();

  // Still failing: more lines are dropped and counted, and the warning is
  // rate-limited (one per warn_interval_us = 10 s).
  const size_t warnings_before = WarningCount();
  for (int i = 10; i < 15; ++i) ASSERT_TRUE(writer->TryWrite(Line(i)));
  (void)writer->Flush();
  EXPECT_EQ(writer->dropped(LogDropReason::kNoSpace), 12);
  EXPECT_EQ(WarningCount(), warnings_before);

  // Space returns: the next record says how many were lost, and it is
  // written whole.
  fs_->space_left = -1;
  GpuLogRecord rec;
  rec.ts_us = 1'767'225'600'000'000;
  rec.gpu_id = 0;
  ASSERT_TRUE(WriteRecord(&rec, writer.get()));
  (void)writer->Flush();
  EXPECT_TRUE(writer->healthy());
  const std::string text = ReadFile(path_);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  auto j = nlohmann::json::parse(last);
  EXPECT_EQ(j["dropped_records"], 12) << last;
  EXPECT_NE(Warnings().find("writing again (12 records were dropped meanwhile)"), std::string::npos)
      << Warnings();
  ASSERT_FALSE(writer->Close().ok());  // the first error stays reported at Close
}

TEST_F(LogWriteFailureTest, EioAndEfbigAreCountedUnderTheirOwnReasons) {
  auto writer = Make(Config());
  fs_->fail_errno = EIO;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(writer->TryWrite(Line(i)));
  (void)writer->Flush();
  fs_->fail_errno = EFBIG;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(writer->TryWrite(Line(i)));
  (void)writer->Flush();
  fs_->fail_errno = 0;
  ASSERT_TRUE(writer->TryWrite("after"));
  (void)writer->Close();
  EXPECT_EQ(writer->dropped(LogDropReason::kIoError), 4);
  EXPECT_EQ(writer->dropped(LogDropReason::kFileTooLarge), 3);
  EXPECT_EQ(writer->dropped(LogDropReason::kNoSpace), 0);
  EXPECT_EQ(writer->dropped_total(), 7);
  EXPECT_EQ(ReadFile(path_), "after\n");
  EXPECT_EQ(std::string(LogDropReasonName(LogDropReason::kIoError)), "io_error");
  EXPECT_EQ(std::string(LogDropReasonName(LogDropReason::kFileTooLarge)), "file_too_large");
}

TEST_F(LogWriteFailureTest, ACarriedDroppedCountIsNotLostWhenItsLineIsDroppedToo) {
  auto writer = Make(Config());
  fs_->fail_errno = EIO;
  ASSERT_TRUE(writer->TryWrite("{\"dropped_records\":5}", 5));
  (void)writer->Flush();
  // The line itself and the 5 it was reporting.
  EXPECT_EQ(writer->TakeDroppedSinceLast(), 6);
  EXPECT_EQ(writer->dropped_total(), 1);
}

TEST_F(LogWriteFailureTest, ADeletedFileIsReopenedAndLaterRecordsLandInTheNewOne) {
  auto writer = Make(Config());
  ASSERT_TRUE(writer->TryWrite("before"));
  ASSERT_TRUE(writer->Flush().ok());
  fs::remove(path_);
  ASSERT_TRUE(writer->TryWrite("after"));
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(ReadFile(path_), "after\n");
  EXPECT_EQ(writer->GetStats().reopens, 1);
  EXPECT_EQ(writer->dropped_total(), 0);
  EXPECT_NE(Warnings().find("was deleted; reopened the path"), std::string::npos) << Warnings();
}

TEST_F(LogWriteFailureTest, AMovedFileIsNoticedByThePeriodicCheckWithoutAnyWrite) {
  AsyncLogWriterConfig config = Config();
  config.file_check_interval_us = 20'000;
  auto writer = Make(config);
  ASSERT_TRUE(writer->TryWrite("before"));
  ASSERT_TRUE(writer->Flush().ok());
  fs::rename(path_, path_ + ".1");
  // No write: the periodic check alone recreates the path.
  for (int i = 0; i < 1000 && !fs::exists(path_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(fs::exists(path_));
  ASSERT_TRUE(writer->TryWrite("after"));
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadFile(path_ + ".1"), "before\n");
  EXPECT_EQ(ReadFile(path_), "after\n");
  EXPECT_NE(Warnings().find("replaced or moved"), std::string::npos) << Warnings();
}

TEST_F(LogWriteFailureTest, ReopenWritesTheBufferToTheOldFileThenOpensThePath) {
  auto writer = Make(Config());
  ASSERT_TRUE(writer->TryWrite("a"));
  ASSERT_TRUE(writer->TryWrite("b"));
  // logrotate: mv log log.1, then SIGHUP -> Reopen. "a" and "b" were still
  // in the writer's buffer; they belong to the old file.
  fs::rename(path_, path_ + ".1");
  ASSERT_TRUE(writer->Reopen().ok());
  ASSERT_TRUE(writer->TryWrite("c"));
  ASSERT_TRUE(writer->Close().ok());
  EXPECT_EQ(ReadFile(path_ + ".1"), "a\nb\n");
  EXPECT_EQ(ReadFile(path_), "c\n");
  EXPECT_EQ(writer->GetStats().reopens, 1);
  EXPECT_FALSE(writer->Reopen().ok());  // closed
}

TEST_F(LogWriteFailureTest, ReopenOfAnUnwritablePathFailsAndTheWriterRetriesLater) {
  const fs::path sub = dir_ / "sub";
  fs::create_directories(sub);
  AsyncLogWriterConfig config = Config();
  config.path = (sub / "log.jsonl").string();
  auto w = Make(config);
  fs::remove_all(sub);
  Status st = w->Reopen();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot open log file"), std::string::npos) << st.ToString();
  EXPECT_FALSE(w->healthy());
  ASSERT_TRUE(w->TryWrite("lost"));
  (void)w->Flush();
  EXPECT_EQ(w->dropped(LogDropReason::kWriteError), 1);
  fs::create_directories(sub);
  ASSERT_TRUE(w->TryWrite("kept"));
  (void)w->Close();
  EXPECT_EQ(ReadFile(config.path), "kept\n");
}

TEST_F(LogWriteFailureTest, SizeRotationCountsWrittenBytesOnceWhenFlushedOften) {
  // After each write the writer re-reads the file size (to follow an
  // outside truncation); the bytes just written must not count twice.
  AsyncLogWriterConfig config = Config();
  config.max_file_bytes = 100;
  config.max_files = 2;
  auto writer = Make(config);
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(writer->TryWrite(Line(i)));  // 10 bytes each
    ASSERT_TRUE(writer->Flush().ok());
  }
  ASSERT_TRUE(writer->Close().ok());
  std::string first;
  for (int i = 0; i < 10; ++i) first += Line(i) + "\n";
  EXPECT_EQ(ReadFile(path_ + ".1"), first);
  EXPECT_EQ(ReadFile(path_), Line(10) + "\n");
}

TEST_F(LogWriteFailureTest, RecordsReachTheKernelWithinTheFlushBoundWithoutFlush) {
  // The documented bound: 100 ms (docs/log-schema.md). Under a fake clock a
  // line reaches the file only once the clock passes the default interval.
  AsyncLogWriterConfig defaults;
  EXPECT_LE(defaults.flush_interval_us + defaults.batch_wait_us, 100'000);
  EXPECT_LE(defaults.buffer_bytes, size_t{1} << 20);
  FakeClock clock;
  AsyncLogWriterConfig config;
  config.path = path_;
  auto writer = Make(config, &clock);
  ASSERT_TRUE(writer->TryWrite("r1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReadFile(path_), "");  // the fake clock has not moved
  clock.AdvanceNs(100'000'000);
  std::string text;
  for (int i = 0; i < 1000 && text.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = ReadFile(path_);
  }
  EXPECT_EQ(text, "r1\n");
  EXPECT_TRUE(writer->Close().ok());
}

}  // namespace
}  // namespace yoloscope
