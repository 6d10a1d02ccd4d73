#include "logging/async_log_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "logging/posix_log_file_system.h"

namespace yoloscope {
namespace {

// For the queue's initial reservation only.
constexpr size_t kTypicalLineBytes = 512;

Status OpenError(const std::string& path, int err) {
  std::string message = "cannot open log file '" + path + "' for writing: " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(message);
    default:
      // EACCES, EROFS, EISDIR, ...: the path exists but cannot be written.
      return FailedPreconditionError(message);
  }
}

}  // namespace

const char* LogDropReasonName(LogDropReason reason) {
  switch (reason) {
    case LogDropReason::kQueueFull:
      return "queue_full";
    case LogDropReason::kClosed:
      return "closed";
    case LogDropReason::kNoSpace:
      return "no_space";
    case LogDropReason::kIoError:
      return "io_error";
    case LogDropReason::kFileTooLarge:
      return "file_too_large";
    case LogDropReason::kFileDeleted:
      return "file_deleted";
    case LogDropReason::kWriteError:
      return "write_error";
  }
  return "write_error";
}

LogDropReason LogDropReasonForErrno(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return LogDropReason::kNoSpace;
    case EIO:
      return LogDropReason::kIoError;
    case EFBIG:
      return LogDropReason::kFileTooLarge;
    default:
      return LogDropReason::kWriteError;
  }
}

StatusOr<std::unique_ptr<AsyncLogWriter>> AsyncLogWriter::Create(const AsyncLogWriterConfig& config,
                                                                 Clock* clock) {
  if (clock == nullptr) return InvalidArgumentError("AsyncLogWriter needs a clock");
  if (config.path.empty()) return InvalidArgumentError("log path is empty");
  if (config.queue_capacity < 1) return InvalidArgumentError("queue_capacity must be >= 1");
  if (config.buffer_bytes < 1) return InvalidArgumentError("buffer_bytes must be >= 1");
  if (config.flush_interval_us <= 0) return InvalidArgumentError("flush_interval_us must be > 0");
  if (config.file_check_interval_us <= 0) {
    return InvalidArgumentError("file_check_interval_us must be > 0");
  }
  if (config.warn_interval_us < 0) return InvalidArgumentError("warn_interval_us must be >= 0");
  if (config.batch_wait_us < 0) return InvalidArgumentError("batch_wait_us must be >= 0");
  if (config.max_file_bytes < 0) return InvalidArgumentError("max_file_bytes must be >= 0");
  if (config.max_files < 0) return InvalidArgumentError("max_files must be >= 0");

  std::shared_ptr<LogFileSystem> fs = config.file_system;
  if (fs == nullptr) fs = std::make_shared<PosixLogFileSystem>();
  // Opened here, not on the writer thread, so that a bad path fails Create
  // instead of silently dropping every record later.
  const int fd = fs->Open(config.path, config.truncate);
  if (fd < 0) return OpenError(config.path, -fd);
  LogFileInfo info;
  if (fs->StatFd(fd, &info) != 0 || !info.regular) {
    fs->Close(fd);
    return FailedPreconditionError("log path '" + config.path + "' is not a regular file");
  }
  return std::unique_ptr<AsyncLogWriter>(
      new AsyncLogWriter(config, clock, std::move(fs), fd, info));
}

AsyncLogWriter::AsyncLogWriter(const AsyncLogWriterConfig& config, Clock* clock,
                               std::shared_ptr<LogFileSystem> fs, int fd, const LogFileInfo& info)
    : config_(config),
      clock_(clock),
      wake_lines_(std::max<size_t>(1, config.queue_capacity / 2)),
      fs_(std::move(fs)),
      fd_(fd),
      file_info_(info),
      file_bytes_(info.size),
      buffer_(new char[config.buffer_bytes]) {
  // Reserved up front: producers then append without allocating, and the
  // writer's swap hands the same capacity back and forth (the byte buffer
  // grows past this only under a load that fills it, and then stays).
  pending_ends_.reserve(config_.queue_capacity);
  pending_carried_.reserve(config_.queue_capacity);
  pending_bytes_.reserve(std::min<size_t>(config_.queue_capacity, 1024) * kTypicalLineBytes);
  buffer_ends_.reserve(1024);
  buffer_carried_.reserve(1024);
  next_check_ns_ = clock_->NowNs() + config_.file_check_interval_us * 1000;
  thread_ = std::thread([this] { Run(); });
}

AsyncLogWriter::~AsyncLogWriter() { (void)Close(); }

bool AsyncLogWriter::TryWrite(std::string_view line, int64_t carried_dropped) {
  const bool add_newline = line.empty() || line.back() != '\n';
  bool accepted = false;
  bool closed = false;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed = closing_;
    if (!closing_ && pending_ends_.size() < config_.queue_capacity) {
      pending_bytes_.append(line);
      if (add_newline) pending_bytes_.push_back('\n');
      pending_ends_.push_back(pending_bytes_.size());
      pending_carried_.push_back(std::max<int64_t>(0, carried_dropped));
      ++accepted_;
      accepted = true;
      // An idle writer needs this line's wake-up; a gathering one only once
      // the queue is half full (it takes everything when its wait ends).
      if (writer_idle_ || pending_ends_.size() == wake_lines_) {
        writer_idle_ = false;
        wake = true;
      }
    }
  }
  if (wake) work_cv_.notify_one();
  if (!accepted) {
    Drop(closed ? LogDropReason::kClosed : LogDropReason::kQueueFull, 1,
         std::max<int64_t>(0, carried_dropped));
  }
  return accepted;
}

void AsyncLogWriter::Drop(LogDropReason reason, int64_t lines, int64_t carried) {
  if (lines <= 0) return;
  dropped_total_.fetch_add(lines, std::memory_order_relaxed);
  dropped_by_reason_[static_cast<size_t>(reason)].fetch_add(lines, std::memory_order_relaxed);
  // The next record written reports these, and the counts the dropped
  // lines were carrying themselves.
  dropped_since_last_.fetch_add(lines + carried, std::memory_order_relaxed);
}

int64_t AsyncLogWriter::TakeDroppedSinceLast() {
  // A load first: the exchange would take the cache line exclusively on
  // every record even though nothing was dropped.
  if (dropped_since_last_.load(std::memory_order_relaxed) == 0) return 0;
  return dropped_since_last_.exchange(0, std::memory_order_relaxed);
}

bool AsyncLogWriter::queue_full() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_ends_.size() >= config_.queue_capacity;
}

std::string AsyncLogWriter::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

Status AsyncLogWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t target = accepted_;
  ++flush_requests_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return flushed_through_ >= target || writer_done_; });
  return first_error_;
}

Status AsyncLogWriter::Reopen() {
  std::unique_lock<std::mutex> lock(mu_);
  if (closing_ || writer_done_) return FailedPreconditionError("log writer is closed");
  const int64_t target = ++reopen_requests_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return reopens_done_ >= target || writer_done_; });
  return reopen_status_;
}

Status AsyncLogWriter::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (!closed_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
    }
    work_cv_.notify_one();
    if (thread_.joinable()) thread_.join();
    closed_ = true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  return first_error_;
}

AsyncLogWriterStats AsyncLogWriter::GetStats() const {
  AsyncLogWriterStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s.accepted_lines = accepted_;
    s.queue_length = static_cast<int64_t>(pending_ends_.size());
  }
  s.dropped_lines = dropped_total_.load(std::memory_order_relaxed);
  s.written_lines = written_lines_.load(std::memory_order_relaxed);
  s.written_bytes = written_bytes_.load(std::memory_order_relaxed);
  s.lines_lost = lines_lost_.load(std::memory_order_relaxed);
  s.io_errors = io_errors_.load(std::memory_order_relaxed);
  s.rotations = rotations_.load(std::memory_order_relaxed);
  s.chunks = chunks_.load(std::memory_order_relaxed);
  s.reopens = reopens_.load(std::memory_order_relaxed);
  s.truncations = truncations_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kLogDropReasonCount; ++i) {
    s.dropped_by_reason[i] = dropped_by_reason_[i].load(std::memory_order_relaxed);
  }
  return s;
}

void AsyncLogWriter::Run() {
  // Named, so that `top -H` and `perf` show what the log costs.
  pthread_setname_np(pthread_self(), "ys-log-writer");
  const int64_t interval_ns = config_.flush_interval_us * 1000;
  const auto batch_wait = std::chrono::microseconds(config_.batch_wait_us);
  std::string chunk;             // the lines taken from the queue, back to back.
  std::vector<size_t> ends;      // their end offsets in chunk.
  std::vector<int64_t> carried;  // the dropped counts they carry.
  chunk.reserve(pending_bytes_.capacity());
  ends.reserve(config_.queue_capacity);
  carried.reserve(config_.queue_capacity);
  int64_t handled_flush_requests = 0;
  int64_t handled_reopen_requests = 0;
  std::unique_lock<std::mutex> lock(mu_);
  auto urgent = [&] {
    return closing_ || flush_requests_ != handled_flush_requests ||
           reopen_requests_ != handled_reopen_requests;
  };
  while (true) {
    // Sleep until there are lines, a flush/reopen/close request, the oldest
    // buffered byte is due, or the file is due for its check.
    // buffer_* is writer-only state, read here too. While idle, the next
    // TryWrite wakes us (writer_idle_).
    bool check_due = false;
    while (pending_ends_.empty() && !urgent()) {
      writer_idle_ = true;
      const int64_t now_ns = clock_->NowNs();
      if (now_ns >= next_check_ns_) {
        check_due = true;
        break;
      }
      int64_t due_ns = next_check_ns_;
      if (buffer_used_ > 0) {
        const int64_t flush_due_ns = buffer_since_ns_ + interval_ns;
        if (now_ns >= flush_due_ns) break;
        due_ns = std::min(due_ns, flush_due_ns);
      }
      work_cv_.wait_for(lock, std::chrono::nanoseconds(due_ns - now_ns));
    }
    writer_idle_ = false;
    // Let more lines gather, unless something is urgent or the queue is
    // already half full (producers wake us when it gets there).
    if (batch_wait.count() > 0 && !pending_ends_.empty() && !urgent() &&
        pending_ends_.size() < wake_lines_) {
      work_cv_.wait_for(lock, batch_wait,
                        [&] { return urgent() || pending_ends_.size() >= wake_lines_; });
    }
    // Take everything queued in O(1); producers keep going while we write.
    chunk.swap(pending_bytes_);
    ends.swap(pending_ends_);
    carried.swap(pending_carried_);
    const int64_t accepted_through = accepted_;
    const bool closing = closing_;
    const bool flush_requested = flush_requests_ != handled_flush_requests;
    handled_flush_requests = flush_requests_;
    const int64_t reopen_target = reopen_requests_;
    const bool reopen_requested = reopen_target != handled_reopen_requests;
    handled_reopen_requests = reopen_target;
    lock.unlock();

    if (!ends.empty()) {
      chunks_.fetch_add(1, std::memory_order_relaxed);
      if (config_.before_write_for_testing) config_.before_write_for_testing();
    }
    size_t begin = 0;
    for (size_t i = 0; i < ends.size(); ++i) {
      AppendLine(std::string_view(chunk.data() + begin, ends[i] - begin), carried[i]);
      begin = ends[i];
    }
    chunk.clear();  // keeps the capacity: the next swap hands it back.
    ends.clear();
    carried.clear();
    const bool due = buffer_used_ > 0 && clock_->NowNs() - buffer_since_ns_ >= interval_ns;
    if (reopen_requested) {
      // SIGHUP: what is buffered belongs to the old file (logrotate renamed
      // it and waits for us), then the path is opened anew.
      writing_before_reopen_ = true;
      FlushBuffer();
      writing_before_reopen_ = false;
    } else if (closing || flush_requested || due) {
      FlushBuffer();
    }
    Status reopen_status;
    if (reopen_requested) {
      // The buffered lines went to the old file; new ones go to the path.
      CloseFile();
      int err = 0;
      if (OpenFile(&err)) {
        reopens_.fetch_add(1, std::memory_order_relaxed);
      } else {
        reopen_status = OpenError(config_.path, err);
        NoteFailure(err, "reopen");
      }
    } else if (check_due || clock_->NowNs() >= next_check_ns_) {
      CheckPath();
    }

    lock.lock();
    if (reopen_requested) {
      reopens_done_ = reopen_target;
      reopen_status_ = reopen_status;
      done_cv_.notify_all();
    }
    if (buffer_used_ == 0) {
      // Every line accepted before the swap is now with the OS (or counted
      // as lost), so Flush() callers waiting for them can return.
      flushed_through_ = std::max(flushed_through_, accepted_through);
      done_cv_.notify_all();
    }
    // closing_ stops TryWrite from accepting, so once the queue is empty
    // here nothing more can arrive.
    if (closing && pending_ends_.empty()) break;
  }
  lock.unlock();
  FlushBuffer();
  MaybeWarn(/*force=*/true);
  CloseFile();
  lock.lock();
  writer_done_ = true;
  done_cv_.notify_all();
}

void AsyncLogWriter::AppendLine(std::string_view line, int64_t carried) {
  const size_t need = line.size();
  // Rotate between lines only, and never leave a file empty: a line longer
  // than max_file_bytes goes into a file of its own.
  if (config_.max_file_bytes > 0 && file_bytes_ > 0 &&
      file_bytes_ + static_cast<int64_t>(need) > config_.max_file_bytes) {
    Rotate();
  }
  file_bytes_ += static_cast<int64_t>(need);
  if (need > config_.buffer_bytes) {
    // Too big for the buffer: write it straight through, after what is
    // buffered so the order is kept.
    FlushBuffer();
    const size_t end = need;
    WriteLines(line.data(), line.size(), &end, &carried, 1);
    return;
  }
  if (buffer_used_ + need > config_.buffer_bytes) FlushBuffer();
  if (buffer_used_ == 0) buffer_since_ns_ = clock_->NowNs();
  std::memcpy(buffer_.get() + buffer_used_, line.data(), line.size());
  buffer_used_ += line.size();
  buffer_ends_.push_back(buffer_used_);
  buffer_carried_.push_back(carried);
}

void AsyncLogWriter::FlushBuffer() {
  if (buffer_used_ == 0) return;
  WriteLines(buffer_.get(), buffer_used_, buffer_ends_.data(), buffer_carried_.data(),
             buffer_ends_.size());
  buffer_used_ = 0;
  buffer_ends_.clear();
  buffer_carried_.clear();
}

void AsyncLogWriter::WriteLines(const char* data, size_t size, const size_t* ends,
                                const int64_t* carried, size_t count) {
  auto drop_from = [&](size_t first, LogDropReason reason) {
    int64_t carried_sum = 0;
    for (size_t i = first; i < count; ++i) carried_sum += carried[i];
    const int64_t lines = static_cast<int64_t>(count - first);
    lines_lost_.fetch_add(lines, std::memory_order_relaxed);
    Drop(reason, lines, carried_sum);
    unwarned_drops_[static_cast<size_t>(reason)] += lines;
    dropped_while_failing_ += lines;
  };
  // A deleted file is never written into: reopen the path first. (A file
  // moved away still gets this write; CheckPath below moves on after it.)
  LogFileInfo before;
  bool have_before = false;
  if (fd_ >= 0) {
    have_before = fs_->StatFd(fd_, &before) == 0;
    if (have_before && before.links == 0) {
      ReplaceFile(/*deleted=*/true);
      have_before = false;
    }
  }
  int err = 0;
  if (fd_ < 0 && !OpenFile(&err)) {
    // No file (a failed open, rotation or reopen): counted, retried at the
    // next write.
    RecordIoError("open", err);
    NoteFailure(err, "open");
    drop_from(0, LogDropReasonForErrno(err));
    MaybeWarn(false);
    return;
  }
  if (!have_before) have_before = fs_->StatFd(fd_, &before) == 0;
  // Where this write starts: the end of the file (O_APPEND), to cut a
  // partial line back to.
  const int64_t start = have_before ? before.size : -1;
  size_t written = 0;
  while (written < size) {
    const int64_t n = fs_->Write(fd_, data + written, size - written);
    if (n <= 0) {
      err = n < 0 ? static_cast<int>(-n) : EIO;
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (written == size) {
    LogFileInfo after;
    if (fs_->StatFd(fd_, &after) == 0 && after.links == 0) {
      // Deleted between our check and the write: these lines are gone.
      // Count them, and write later ones to the path again.
      drop_from(0, LogDropReason::kFileDeleted);
      MaybeWarn(false);
      CloseFile();
      return;
    }
    written_lines_.fetch_add(static_cast<int64_t>(count), std::memory_order_relaxed);
    written_bytes_.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
    NoteSuccess();
    // Moved away or replaced: later lines go to the path.
    if (!writing_before_reopen_) CheckPath();
    return;
  }
  // Keep the whole lines that reached the file; cut off a partial one.
  size_t whole = 0;
  while (whole < count && ends[whole] <= written) ++whole;
  const size_t keep = whole > 0 ? ends[whole - 1] : 0;
  if (written > keep) {
    if (start >= 0 && fs_->Truncate(fd_, start + static_cast<int64_t>(keep)) == 0) {
      truncations_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Cannot cut it off: end the partial line so that later records stay
      // lines of their own; the reader skips this one as malformed.
      RecordIoError("ftruncate after a short write", start >= 0 ? EIO : EBADF);
      fs_->Write(fd_, "\n", 1);
    }
  }
  written_lines_.fetch_add(static_cast<int64_t>(whole), std::memory_order_relaxed);
  written_bytes_.fetch_add(static_cast<int64_t>(keep), std::memory_order_relaxed);
  RecordIoError("write", err);
  NoteFailure(err, "write");
  drop_from(whole, LogDropReasonForErrno(err));
  MaybeWarn(false);
}

bool AsyncLogWriter::OpenFile(int* err) {
  const int fd = fs_->Open(config_.path, /*truncate=*/false);
  if (fd < 0) {
    *err = -fd;
    return false;
  }
  LogFileInfo info;
  if (fs_->StatFd(fd, &info) != 0) info = LogFileInfo();
  fd_ = fd;
  file_info_ = info;
  file_bytes_ = info.size + static_cast<int64_t>(buffer_used_);
  next_check_ns_ = clock_->NowNs() + config_.file_check_interval_us * 1000;
  return true;
}

void AsyncLogWriter::CloseFile() {
  if (fd_ < 0) return;
  const int rc = fs_->Close(fd_);
  if (rc != 0) RecordIoError("close", -rc);
  fd_ = -1;
}

void AsyncLogWriter::CheckPath() {
  next_check_ns_ = clock_->NowNs() + config_.file_check_interval_us * 1000;
  if (fd_ < 0) return;
  LogFileInfo at_path;
  // Still our file. (file_bytes_, the size rotation's count, is kept by
  // AppendLine; an outside truncation at worst brings the next rotation
  // forward.)
  if (fs_->StatPath(config_.path, &at_path) == 0 && at_path.SameFile(file_info_)) return;
  // No file at the path, or another one: deleted, or moved away by a
  // rotation that did not signal us. What we wrote is wherever the old file
  // is now; new lines go to the path.
  LogFileInfo open_info;
  ReplaceFile(fs_->StatFd(fd_, &open_info) == 0 && open_info.links == 0);
}

void AsyncLogWriter::ReplaceFile(bool deleted) {
  CloseFile();
  int err = 0;
  const bool reopened = OpenFile(&err);
  if (reopened) reopens_.fetch_add(1, std::memory_order_relaxed);
  if (config_.warn) {
    config_.warn("request log '" + config_.path + "' was " +
                 (deleted ? "deleted" : "replaced or moved") +
                 (reopened ? "; reopened the path"
                           : "; cannot reopen it: " + std::string(std::strerror(err))));
  }
  if (!reopened) {
    RecordIoError("reopen", err);
    NoteFailure(err, "reopen");
  }
}

void AsyncLogWriter::Rotate() {
  FlushBuffer();
  CloseFile();
  const std::string& path = config_.path;
  bool rotated = true;
  if (config_.max_files > 0) {
    // Oldest first, so each rename moves into a name that was just freed;
    // rename() replaces path.<max_files>, dropping the oldest file.
    for (int i = config_.max_files - 1; i >= 1; --i) {
      const std::string from = path + "." + std::to_string(i);
      const std::string to = path + "." + std::to_string(i + 1);
      const int rc = fs_->Rename(from, to);
      if (rc != 0 && rc != -ENOENT) RecordIoError("rename " + from, -rc);
    }
    const int rc = fs_->Rename(path, path + ".1");
    if (rc != 0) {
      RecordIoError("rename " + path, -rc);
      rotated = false;
    }
  } else {
    const int rc = fs_->Unlink(path);
    if (rc != 0 && rc != -ENOENT) {
      RecordIoError("unlink " + path, -rc);
      rotated = false;
    }
  }
  if (rotated) rotations_.fetch_add(1, std::memory_order_relaxed);
  // On failure fd_ stays -1 and the next write retries the open.
  int err = 0;
  if (!OpenFile(&err)) RecordIoError("open", err);
  // After a failed rotation keep appending to the same file, and try again
  // only after another max_file_bytes rather than before every line.
  if (!rotated) file_bytes_ = 0;
}

void AsyncLogWriter::NoteFailure(int err, const std::string& what) {
  if (!failing_) {
    failing_ = true;
    dropped_while_failing_ = 0;
  }
  healthy_.store(false, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = what + ": " + std::strerror(err);
}

void AsyncLogWriter::NoteSuccess() {
  if (!failing_) return;
  failing_ = false;
  healthy_.store(true, std::memory_order_relaxed);
  MaybeWarn(/*force=*/true);
  if (config_.warn) {
    config_.warn("request log '" + config_.path + "': writing again (" +
                 std::to_string(dropped_while_failing_) + " records were dropped meanwhile)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_error_.clear();
}

void AsyncLogWriter::MaybeWarn(bool force) {
  int64_t total = 0;
  for (int64_t n : unwarned_drops_) total += n;
  if (total == 0) return;
  const int64_t now_ns = clock_->NowNs();
  if (!force && warned_once_ && now_ns - last_warn_ns_ < config_.warn_interval_us * 1000) return;
  if (config_.warn) {
    std::string message =
        "request log '" + config_.path + "': " + std::to_string(total) + " records dropped (";
    bool first = true;
    for (size_t i = 0; i < kLogDropReasonCount; ++i) {
      if (unwarned_drops_[i] == 0) continue;
      if (!first) message += ", ";
      first = false;
      message += LogDropReasonName(static_cast<LogDropReason>(i));
      message += ' ';
      message += std::to_string(unwarned_drops_[i]);
    }
    message += ")";
    std::string error;
    {
      std::lock_guard<std::mutex> lock(mu_);
      error = last_error_;
    }
    if (!error.empty()) message += ": " + error;
    message += "; retrying at every write";
    config_.warn(message);
  }
  unwarned_drops_.fill(0);
  last_warn_ns_ = now_ns;
  warned_once_ = true;
}

void AsyncLogWriter::RecordIoError(const std::string& what, int err) {
  io_errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  if (first_error_.ok()) {
    first_error_ =
        InternalError("log file '" + config_.path + "': " + what + ": " + std::strerror(err));
  }
}

}  // namespace yoloscope
