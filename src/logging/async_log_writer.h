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
//   Clock) while anything is buffered, on Flush(), and on Close(). "Flushed"
//   means handed to the operating system (no fsync).
// - Size-based rotation: when the next line would take the current file past
//   max_file_bytes, the file is closed and renamed path -> path.1 -> path.2
//   ... up to path.<max_files> (the oldest is deleted), and a new file is
//   started. A rotation never splits a line; a single line longer than
//   max_file_bytes gets a file of its own.
// - I/O errors after Create do not stop the writer: they are counted
//   (io_errors, lines_lost) and the first one is returned by Close().
//
// Thread-safety: TryWrite, TakeDroppedSinceLast, Flush, GetStats and Close
// may be called from any number of threads. Lifetime: the Clock is not owned
// and must outlive the writer; the destructor calls Close().
#pragma once

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

namespace yoloscope {

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
  int64_t flush_interval_us = 1'000'000;
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
  int64_t dropped_lines = 0;   // TryWrite returned false.
  int64_t written_lines = 0;   // handed to the OS.
  int64_t written_bytes = 0;
  int64_t lines_lost = 0;  // accepted but lost to an I/O error.
  int64_t io_errors = 0;
  int64_t rotations = 0;
  int64_t queue_length = 0;  // accepted, not yet taken by the writer.
  int64_t chunks = 0;        // times the writer took lines from the queue.
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
  // Lines dropped since Create. Lock-free.
  int64_t dropped_total() const { return dropped_total_.load(std::memory_order_relaxed); }

  // Blocks until every line accepted before the call has been handed to the
  // OS. Returns the first I/O error seen so far (or OK).
  Status Flush();

  // Stops accepting lines, writes everything accepted, closes the file and
  // joins the writer thread. Idempotent; returns the first I/O error seen.
  Status Close();

  AsyncLogWriterStats GetStats() const;
  const std::string& path() const { return config_.path; }

 private:
  AsyncLogWriter(const AsyncLogWriterConfig& config, Clock* clock, int fd, int64_t file_bytes);

  void Run();
  // Writer-thread helpers (touch only writer-owned state). `line` ends with
  // '\n'.
  void AppendLine(std::string_view line);
  void AppendBytes(const char* data, size_t size);
  void FlushBuffer();
  bool WriteAll(const char* data, size_t size);
  void Rotate();
  bool ReopenFile();
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
  // Queue length at which a producer wakes a writer that is gathering.
  const size_t wake_lines_;
  bool writer_idle_ = false;     // Guarded by mu_. Writer waits for a notify.
  int64_t accepted_ = 0;         // Guarded by mu_. Lines accepted so far.
  int64_t flushed_through_ = 0;  // Guarded by mu_. Accepted lines now on the OS.
  int64_t flush_requests_ = 0;   // Guarded by mu_.
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

  // Writer-thread state (no lock: only the writer thread touches it).
  int fd_ = -1;
  int64_t file_bytes_ = 0;  // current file's size including buffered bytes.
  std::unique_ptr<char[]> buffer_;
  size_t buffer_used_ = 0;
  int64_t buffer_lines_ = 0;     // complete lines in buffer_.
  int64_t buffer_since_ns_ = 0;  // when buffer_ last went from empty to non-empty.

  std::thread thread_;
};

}  // namespace yoloscope
