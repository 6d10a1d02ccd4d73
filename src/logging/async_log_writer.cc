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

namespace yoloscope {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
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

StatusOr<std::unique_ptr<AsyncLogWriter>> AsyncLogWriter::Create(const AsyncLogWriterConfig& config,
                                                                 Clock* clock) {
  if (clock == nullptr) return InvalidArgumentError("AsyncLogWriter needs a clock");
  if (config.path.empty()) return InvalidArgumentError("log path is empty");
  if (config.queue_capacity < 1) return InvalidArgumentError("queue_capacity must be >= 1");
  if (config.buffer_bytes < 1) return InvalidArgumentError("buffer_bytes must be >= 1");
  if (config.flush_interval_us <= 0) return InvalidArgumentError("flush_interval_us must be > 0");
  if (config.batch_wait_us < 0) return InvalidArgumentError("batch_wait_us must be >= 0");
  if (config.max_file_bytes < 0) return InvalidArgumentError("max_file_bytes must be >= 0");
  if (config.max_files < 0) return InvalidArgumentError("max_files must be >= 0");

  // Opened here, not on the writer thread, so that a bad path fails Create
  // instead of silently dropping every record later.
  const int fd = ::open(config.path.c_str(), kOpenFlags | (config.truncate ? O_TRUNC : 0), 0644);
  if (fd < 0) return OpenError(config.path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError("log path '" + config.path + "' is not a regular file");
  }
  return std::unique_ptr<AsyncLogWriter>(
      new AsyncLogWriter(config, clock, fd, static_cast<int64_t>(st.st_size)));
}

AsyncLogWriter::AsyncLogWriter(const AsyncLogWriterConfig& config, Clock* clock, int fd,
                               int64_t file_bytes)
    : config_(config),
      clock_(clock),
      wake_lines_(std::max<size_t>(1, config.queue_capacity / 2)),
      fd_(fd),
      file_bytes_(file_bytes),
      buffer_(new char[config.buffer_bytes]) {
  // Reserved up front: producers then append without allocating, and the
  // writer's swap hands the same capacity back and forth (the byte buffer
  // grows past this only under a load that fills it, and then stays).
  pending_ends_.reserve(config_.queue_capacity);
  pending_bytes_.reserve(std::min<size_t>(config_.queue_capacity, 1024) * kTypicalLineBytes);
  thread_ = std::thread([this] { Run(); });
}

AsyncLogWriter::~AsyncLogWriter() { (void)Close(); }

bool AsyncLogWriter::TryWrite(std::string_view line, int64_t carried_dropped) {
  const bool add_newline = line.empty() || line.back() != '\n';
  bool accepted = false;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_ && pending_ends_.size() < config_.queue_capacity) {
      pending_bytes_.append(line);
      if (add_newline) pending_bytes_.push_back('\n');
      pending_ends_.push_back(pending_bytes_.size());
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
    dropped_total_.fetch_add(1, std::memory_order_relaxed);
    dropped_since_last_.fetch_add(1 + std::max<int64_t>(0, carried_dropped),
                                  std::memory_order_relaxed);
  }
  return accepted;
}

int64_t AsyncLogWriter::TakeDroppedSinceLast() {
  // A load first: the exchange would take the cache line exclusively on
  // every record even though nothing was dropped.
  if (dropped_since_last_.load(std::memory_order_relaxed) == 0) return 0;
  return dropped_since_last_.exchange(0, std::memory_order_relaxed);
}

Status AsyncLogWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t target = accepted_;
  ++flush_requests_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return flushed_through_ >= target || writer_done_; });
  return first_error_;
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
  return s;
}

void AsyncLogWriter::Run() {
  // Named, so that `top -H` and `perf` show what the log costs.
  pthread_setname_np(pthread_self(), "ys-log-writer");
  const int64_t interval_ns = config_.flush_interval_us * 1000;
  const auto batch_wait = std::chrono::microseconds(config_.batch_wait_us);
  std::string chunk;         // the lines taken from the queue, back to back.
  std::vector<size_t> ends;  // their end offsets in chunk.
  chunk.reserve(pending_bytes_.capacity());
  ends.reserve(config_.queue_capacity);
  int64_t handled_flush_requests = 0;
  std::unique_lock<std::mutex> lock(mu_);
  auto urgent = [&] { return closing_ || flush_requests_ != handled_flush_requests; };
  while (true) {
    // Sleep until there are lines, a flush or close request, or the oldest
    // buffered byte is due. buffer_* is writer-only state, read here too.
    // While idle, the next TryWrite wakes us (writer_idle_).
    while (pending_ends_.empty() && !urgent()) {
      writer_idle_ = true;
      if (buffer_used_ == 0) {
        work_cv_.wait(lock);
        continue;
      }
      const int64_t due_ns = buffer_since_ns_ + interval_ns;
      const int64_t now_ns = clock_->NowNs();
      if (now_ns >= due_ns) break;
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
    const int64_t accepted_through = accepted_;
    const bool closing = closing_;
    const bool flush_requested = flush_requests_ != handled_flush_requests;
    handled_flush_requests = flush_requests_;
    lock.unlock();

    if (!ends.empty()) {
      chunks_.fetch_add(1, std::memory_order_relaxed);
      if (config_.before_write_for_testing) config_.before_write_for_testing();
    }
    size_t begin = 0;
    for (const size_t end : ends) {
      AppendLine(std::string_view(chunk.data() + begin, end - begin));
      begin = end;
    }
    chunk.clear();  // keeps the capacity: the next swap hands it back.
    ends.clear();
    const bool due = buffer_used_ > 0 && clock_->NowNs() - buffer_since_ns_ >= interval_ns;
    if (closing || flush_requested || due) FlushBuffer();

    lock.lock();
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
  if (fd_ >= 0 && ::close(fd_) != 0) RecordIoError("close", errno);
  fd_ = -1;
  lock.lock();
  writer_done_ = true;
  done_cv_.notify_all();
}

void AsyncLogWriter::AppendLine(std::string_view line) {
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
    const bool ok = WriteAll(line.data(), line.size());
    (ok ? written_lines_ : lines_lost_).fetch_add(1, std::memory_order_relaxed);
    if (ok) written_bytes_.fetch_add(static_cast<int64_t>(need), std::memory_order_relaxed);
    return;
  }
  if (buffer_used_ + need > config_.buffer_bytes) FlushBuffer();
  if (buffer_used_ == 0) buffer_since_ns_ = clock_->NowNs();
  std::memcpy(buffer_.get() + buffer_used_, line.data(), line.size());
  buffer_used_ += line.size();
  ++buffer_lines_;
}

void AsyncLogWriter::FlushBuffer() {
  if (buffer_used_ == 0) return;
  if (WriteAll(buffer_.get(), buffer_used_)) {
    written_lines_.fetch_add(buffer_lines_, std::memory_order_relaxed);
    written_bytes_.fetch_add(static_cast<int64_t>(buffer_used_), std::memory_order_relaxed);
  } else {
    lines_lost_.fetch_add(buffer_lines_, std::memory_order_relaxed);
  }
  buffer_used_ = 0;
  buffer_lines_ = 0;
}

bool AsyncLogWriter::WriteAll(const char* data, size_t size) {
  // A failed rotation may have left no file open; try again rather than
  // losing every later line.
  if (fd_ < 0 && !ReopenFile()) return false;
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      RecordIoError("write", errno);
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool AsyncLogWriter::ReopenFile() {
  fd_ = ::open(config_.path.c_str(), kOpenFlags, 0644);
  if (fd_ < 0) {
    RecordIoError("open", errno);
    return false;
  }
  struct stat st;
  file_bytes_ = ::fstat(fd_, &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
  return true;
}

void AsyncLogWriter::Rotate() {
  FlushBuffer();
  if (fd_ >= 0 && ::close(fd_) != 0) RecordIoError("close", errno);
  fd_ = -1;
  const std::string& path = config_.path;
  bool rotated = true;
  if (config_.max_files > 0) {
    // Oldest first, so each rename moves into a name that was just freed;
    // rename() replaces path.<max_files>, dropping the oldest file.
    for (int i = config_.max_files - 1; i >= 1; --i) {
      const std::string from = path + "." + std::to_string(i);
      const std::string to = path + "." + std::to_string(i + 1);
      if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        RecordIoError("rename " + from, errno);
      }
    }
    if (::rename(path.c_str(), (path + ".1").c_str()) != 0) {
      RecordIoError("rename " + path, errno);
      rotated = false;
    }
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    RecordIoError("unlink " + path, errno);
    rotated = false;
  }
  if (rotated) rotations_.fetch_add(1, std::memory_order_relaxed);
  // On failure fd_ stays -1 and the next write retries the open.
  ReopenFile();
  // After a failed rotation keep appending to the same file, and try again
  // only after another max_file_bytes rather than before every line.
  if (!rotated) file_bytes_ = 0;
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
