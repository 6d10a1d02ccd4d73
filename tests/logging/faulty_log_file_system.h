// FaultyLogFileSystem: the real PosixLogFileSystem with faults a test turns
// on: a space budget (writes past it are short, then fail with ENOSPC, like
// a full disk), or an errno (EIO, EFBIG, ...) for every write. Tests only.
//
// Thread-safety: the knobs are atomics; set them from the test thread while
// the writer thread writes.
#pragma once

#include <errno.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "logging/posix_log_file_system.h"

namespace yoloscope::testing {

class FaultyLogFileSystem final : public LogFileSystem {
 public:
  // Bytes that may still be written in all; -1 = unlimited. A write that
  // crosses it writes what fits (a short write) and the next one fails.
  std::atomic<int64_t> space_left{-1};
  // When non-zero, every write fails with this errno.
  std::atomic<int> fail_errno{0};
  std::atomic<int64_t> writes{0};
  std::atomic<int64_t> failed_writes{0};

  int Open(const std::string& path, bool truncate) override { return real_.Open(path, truncate); }
  int64_t Write(int fd, const char* data, size_t size) override {
    writes.fetch_add(1);
    if (const int err = fail_errno.load(); err != 0) {
      failed_writes.fetch_add(1);
      return -err;
    }
    int64_t budget = space_left.load();
    size_t n = size;
    if (budget >= 0) {
      if (budget == 0) {
        failed_writes.fetch_add(1);
        return -ENOSPC;
      }
      n = std::min<size_t>(size, static_cast<size_t>(budget));
    }
    const int64_t written = real_.Write(fd, data, n);
    if (written > 0 && budget >= 0) space_left.fetch_sub(written);
    return written;
  }
  int Truncate(int fd, int64_t size) override { return real_.Truncate(fd, size); }
  int Close(int fd) override { return real_.Close(fd); }
  int StatFd(int fd, LogFileInfo* info) override { return real_.StatFd(fd, info); }
  int StatPath(const std::string& path, LogFileInfo* info) override {
    return real_.StatPath(path, info);
  }
  int Rename(const std::string& from, const std::string& to) override {
    return real_.Rename(from, to);
  }
  int Unlink(const std::string& path) override { return real_.Unlink(path); }

 private:
  PosixLogFileSystem real_;
};

}  // namespace yoloscope::testing
