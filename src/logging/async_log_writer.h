// AsyncLogWriter: appends already-serialized lines (the request log's JSONL
// records) to a file from a dedicated writer thread, so that serving threads
// never wait for the disk.
//
// Contract:
// - Producers hand over complete lines with TryWrite, which copies the bytes
//   into the queue (no per-line allocation once the queue's buffers have
//   grown). A line should not contain '\n' except optionally at its end; the
//   writer adds the terminating '\n' when it is missing. Lines from one
//   producer are written in the order they were accepted, each exactly once
//   and whole.
// - The queue between producers and the writer is bounded (queue_capacity
//   lines). When it is full TryWrite returns false at once and the line is
//   dropped and counted: dropped_total() for metrics, and
//   TakeDroppedSinceLast() for the caller to put `dropped_records` on its
//   next record. TryWrite never waits for I/O; it only takes a mutex that the
//   writer holds for O(1) (two buffer swaps).
// - Hand-off in batches: a producer wakes the writer only when the writer is
//   idle (waiting for a first line) or the queue reaches half its capacity.
//   Once woken, the writer lets lines gather for batch_wait_us before taking
//   them all at once, so under load it wakes at most ~1/batch_wait_us times a
//   second whatever the line rate, and producers make no system call per
//   line. Flush() and Close() wake it at once.
// - The writer copies lines into a large buffer (buffer_bytes) and writes it
//   with one write(2) when full, and at least every flush_interval_us (by the
//   Clock, default 50 ms) while anything is buffered, on Flush(), Reopen()
//   and Close(). "Flushed" means handed to the operating system (no fsync).
//   So a line reaches the kernel at most flush_interval_us + batch_wait_us
//   (52 ms by default; the documented bound is 100 ms) or 1 MiB of later
//   lines after it was accepted, unless the disk itself stalls the writer.
// - Size-based rotation: when the next line would take the current file past
//   max_file_bytes, the file is closed and renamed path -> path.1 -> path.2
//   ... up to path.<max_files> (the oldest is deleted), and a new file is
//   started. A rotation never splits a line; a single line longer than
//   max_file_bytes gets a file of its own.
// - External rotation: Reopen() (serve calls it on SIGHUP) writes what is
//   buffered to the current file, then opens the path again (a new file
//   after `mv log log.1`). Independently, the writer never writes into a
//   deleted file (fstat before every write: reopen the path first), and
//   after every write and at least every file_check_interval_us it compares
//   the open file with the path (fstat vs stat): when the path is gone or is
//   another file (moved by a rotation that did not signal) it reopens the
//   path, so records go to the file the operator sees. Lines that reached a
//   file deleted during the write itself are counted as dropped (reason
//   file_deleted).
// - Write failures are never silent. A record is whole or absent: after a
//   failed or short write(2) the file is truncated back to the end of the
//   last whole line that reached it; the lines that did not make it are
//   dropped and counted by reason (no_space for ENOSPC/EDQUOT, io_error for
//   EIO, file_too_large for EFBIG, write_error for anything else):
//   dropped_by_reason(), dropped_total(), and TakeDroppedSinceLast() (with
//   the dropped_records they carried), so the next record written says how
//   many were lost. `warn` (if set) hears of the failure at most once per
//   warn_interval_us, with the counts since the previous warning, and once
//   when writing works again. The writer keeps trying: every later write
//   retries, so logging resumes by itself when space returns. healthy() is
//   false from a failed write until a write succeeds (serve's audit policy
//   refuses requests meanwhile).
// Thread-safety: TryWrite, TakeDroppedSinceLast, Flush, Reopen, GetStats,
// healthy and Close may be called from any number of threads. Lifetime: the
// Clock is not owned and must outlive the writer; the file system is shared
// (null: the real one); `warn` is called on the writer thread and must not
// block for long. The destructor calls Close().
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "logging/log_file_system.h"

namespace yoloscope {

// Why a line was not written. Names (LogDropReasonName) are the `reason`
// label of yoloscope_log_records_dropped_total.
enum class LogDropReason {
  kQueueFull = 0,  // the queue was full (the writer could not keep up)
  kClosed,         // TryWrite after Close
  kNoSpace,        // ENOSPC, EDQUOT
  kIoError,        // EIO
  kFileTooLarge,   // EFBIG (file size limit of the file system or RLIMIT_FSIZE)
  kFileDeleted,    // written to a file deleted meanwhile
  kWriteError,     // any other errno (EACCES on reopen, EROFS, ...)
};
inline constexpr size_t kLogDropReasonCount = 7;
const char* LogDropReasonName(LogDropReason reason);
// The reason for a write/open errno.
LogDropReason LogDropReasonForErrno(int err);

struct AsyncLogWriterConfig {
  // File to append to (created if missing). Required.
  std::string path;
  // Lines accepted but not yet taken by the writer; beyond this TryWrite
  // drops. Memory bound: queue_capacity x line size (64 Ki x 400 B = 26 MB),
  // twice (the queue's two buffers alternate between producers and writer).
  size_t queue_capacity = 64 * 1024;
  // After a wake-up, how long the writer lets lines gather before taking
  // them (see the contract). 0 = take them at once. Bounds the writer's
  // wake-ups, not the latency of Flush()/Close().
  int64_t batch_wait_us = 2'000;
  // The writer's I/O buffer; one write(2) per buffer-full.
  size_t buffer_bytes = 1 << 20;
  // Longest time an accepted line may sit in the writer's buffer. Must be > 0.
  int64_t flush_interval_us = 50'000;
  // How often, at least, the open file is compared with the path (deleted or
  // replaced: reopen). Also checked before every write. Must be > 0.
  int64_t file_check_interval_us = 1'000'000;
  // Write failures are reported through `warn` at most this often. Must be >= 0.
  int64_t warn_interval_us = 10'000'000;
  // Receives warnings (write failures, recovery, reopening a deleted file);
  // null: none. serve prints them on stderr.
  std::function<void(const std::string& message)> warn;
  // The file operations; null = PosixLogFileSystem. Tests inject faults here.
  std::shared_ptr<LogFileSystem> file_system;
  // Rotate before a file would grow past this size. 0 = never rotate.
  int64_t max_file_bytes = 256LL << 20;
  // Rotated files kept (path.1 newest ... path.<max_files> oldest). 0 = the
  // old contents are discarded at rotation.
  int max_files = 5;
  // Start with an empty file instead of appending to an existing one.
  bool truncate = false;
  // Test seam: run on the writer thread before it writes each chunk of lines
  // taken from the queue (a test can block in it to simulate a stalled disk).
  std::function<void()> before_write_for_testing;
};

struct AsyncLogWriterStats {
  int64_t accepted_lines = 0;  // TryWrite returned true.
  int64_t dropped_lines = 0;   // Not written, for any reason (= sum of dropped_by_reason).
  int64_t written_lines = 0;   // handed to the OS.
  int64_t written_bytes = 0;
  int64_t lines_lost = 0;  // accepted but lost to an I/O error.
  int64_t io_errors = 0;
  int64_t rotations = 0;
  int64_t queue_length = 0;  // accepted, not yet taken by the writer.
  int64_t chunks = 0;        // times the writer took lines from the queue.
  int64_t reopens = 0;       // Reopen() calls done, and deleted/replaced files reopened.
  int64_t truncations = 0;   // partial lines cut off after a failed write.
  std::array<int64_t, kLogDropReasonCount> dropped_by_reason{};  // index: LogDropReason
};

class AsyncLogWriter {
 public:
  // Opens (creates) config.path and starts the writer thread. Errors:
  // InvalidArgument for a bad config or null clock, NotFound when the
  // directory does not exist, FailedPrecondition when the file cannot be
  // written (permissions, read-only file system, a directory at that path).
  static StatusOr<std::unique_ptr<AsyncLogWriter>> Create(const AsyncLogWriterConfig& config,
                                                          Clock* clock);
  ~AsyncLogWriter();

  AsyncLogWriter(const AsyncLogWriter&) = delete;
  AsyncLogWriter& operator=(const AsyncLogWriter&) = delete;

  // Queues a copy of `line` for writing; true if accepted. False (never
  // blocking) when the queue is full or the writer is closed: the line is
  // dropped and counted. `carried_dropped` is the dropped count the caller
  // put on this line (from TakeDroppedSinceLast); if this line is dropped
  // too, that count goes back into the since-last counter so it is reported
  // on a later line. Allocates nothing once the queue's buffers have grown
  // to the peak load.
  bool TryWrite(std::string_view line, int64_t carried_dropped = 0);

  // Lines dropped since the previous call (resets to 0). Lock-free; a plain
  // load when nothing was dropped (the common case, once per record).
  int64_t TakeDroppedSinceLast();
  // Lines not written since Create, for any reason. Lock-free.
  int64_t dropped_total() const { return dropped_total_.load(std::memory_order_relaxed); }
  // Lines dropped since Create for `reason`. Lock-free.
  int64_t dropped(LogDropReason reason) const {
    return dropped_by_reason_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  // False from a failed write (or open) until a write succeeds. Lock-free.
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // The last write/open error while unhealthy ("No space left on device").
  std::string last_error() const;
  // Whether the queue is at queue_capacity (the next TryWrite would drop).
  // Takes the queue's mutex briefly.
  bool queue_full() const;

  // Writes what is buffered to the current file, then opens the path again
  // (logrotate's "postrotate kill -HUP"). Blocks until done; returns the
  // open's error (the writer keeps retrying at every later write).
  Status Reopen();

  // Blocks until every line accepted before the call has been handed to the
  // OS. Returns the first I/O error seen so far (or OK).
  Status Flush();

  // Stops accepting lines, writes everything accepted, closes the file and
  // joins the writer thread. Idempotent; returns the first I/O error seen.
  Status Close();

  AsyncLogWriterStats GetStats() const;
  const std::string& path() const { return config_.path; }

 private:
  AsyncLogWriter(const AsyncLogWriterConfig& config, Clock* clock,
                 std::shared_ptr<LogFileSystem> fs, int fd, const LogFileInfo& info);

  void Run();
  // Writer-thread helpers (touch only writer-owned state). `line` ends with
  // '\n'.
  void AppendLine(std::string_view line, int64_t carried);
  void FlushBuffer();
  // Writes `size` bytes holding `count` whole lines (line i ends at ends[i],
  // carried[i] dropped counts on it): all of them, or truncates back to the
  // last whole line written and drops the rest.
  void WriteLines(const char* data, size_t size, const size_t* ends, const int64_t* carried,
                  size_t count);
  // Compares the open file with the path (fstat vs stat); reopens the path
  // when the file was deleted, moved away or replaced.
  void CheckPath();
  // Closes the open file and opens the path again, with a warning.
  void ReplaceFile(bool deleted);
  void Rotate();
  bool OpenFile(int* err);
  void CloseFile();
  void Drop(LogDropReason reason, int64_t lines, int64_t carried);
  void NoteFailure(int err, const std::string& what);
  void NoteSuccess();
  void MaybeWarn(bool force);
  void RecordIoError(const std::string& what, int err);

  const AsyncLogWriterConfig config_;
  Clock* const clock_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits: lines, flush, close.
  std::condition_variable done_cv_;  // Flush() waits: flushed_through_ moved.
  // The queue: accepted lines back to back, each ending with '\n', and the
  // end offset of each in pending_bytes_. Swapped whole with the writer's
  // (empty) pair, so both keep their capacity. Guarded by mu_.
  std::string pending_bytes_;
  std::vector<size_t> pending_ends_;
  std::vector<int64_t> pending_carried_;  // dropped_records each line carries
  // Queue length at which a producer wakes a writer that is gathering.
  const size_t wake_lines_;
  bool writer_idle_ = false;     // Guarded by mu_. Writer waits for a notify.
  int64_t accepted_ = 0;         // Guarded by mu_. Lines accepted so far.
  int64_t flushed_through_ = 0;  // Guarded by mu_. Accepted lines now on the OS.
  int64_t flush_requests_ = 0;   // Guarded by mu_.
  int64_t reopen_requests_ = 0;  // Guarded by mu_.
  int64_t reopens_done_ = 0;     // Guarded by mu_.
  Status reopen_status_;         // Guarded by mu_. Of the last Reopen.
  std::string last_error_;       // Guarded by mu_.
  bool closing_ = false;         // Guarded by mu_.
  bool writer_done_ = false;     // Guarded by mu_.
  Status first_error_;           // Guarded by mu_.

  std::mutex close_mu_;  // Serializes Close().
  bool closed_ = false;  // Guarded by close_mu_.

  // Counters read by GetStats without stopping the writer.
  std::atomic<int64_t> dropped_total_{0};
  std::atomic<int64_t> dropped_since_last_{0};
  std::atomic<int64_t> written_lines_{0};
  std::atomic<int64_t> written_bytes_{0};
  std::atomic<int64_t> lines_lost_{0};
  std::atomic<int64_t> io_errors_{0};
  std::atomic<int64_t> rotations_{0};
  std::atomic<int64_t> chunks_{0};
  std::atomic<int64_t> reopens_{0};
  std::atomic<int64_t> truncations_{0};
  std::array<std::atomic<int64_t>, kLogDropReasonCount> dropped_by_reason_{};
  std::atomic<bool> healthy_{true};

  std::shared_ptr<LogFileSystem> fs_;

  // Writer-thread state (no lock: only the writer thread touches it).
  int fd_ = -1;
  LogFileInfo file_info_;   // of fd_ when opened
  int64_t file_bytes_ = 0;  // current file's size including buffered bytes.
  int64_t next_check_ns_ = 0;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_used_ = 0;
  std::vector<size_t> buffer_ends_;      // end offset of each line in buffer_
  std::vector<int64_t> buffer_carried_;  // dropped_records each line carries
  int64_t buffer_since_ns_ = 0;          // when buffer_ last went from empty to non-empty.
  // Warnings: drops since the last one, and when it was.
  std::array<int64_t, kLogDropReasonCount> unwarned_drops_{};
  int64_t last_warn_ns_ = 0;
  bool warned_once_ = false;
  bool failing_ = false;                // writer's view of !healthy_
  bool writing_before_reopen_ = false;  // SIGHUP flush: no path check after it
  int64_t dropped_while_failing_ = 0;

  std::thread thread_;
};

}  // namespace yoloscope
