// LogFileSystem: the few file operations AsyncLogWriter performs, behind an
// interface so that tests can inject faults (ENOSPC, EIO, EFBIG, short
// writes, a deleted file) into the writer without a real full disk.
// PosixLogFileSystem (posix_log_file_system.h) is the real one.
//
// Every call returns 0 (or a byte count) on success and -errno on failure,
// like the system call it stands for; none throws.
//
// Thread-safety: an implementation must allow calls from the writer thread
// while other threads use their own files; AsyncLogWriter calls it from its
// writer thread only (and from Create).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace yoloscope {

// What fstat(2) / stat(2) say about a file, as far as the writer needs it.
struct LogFileInfo {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t size = 0;    // bytes
  uint64_t links = 0;  // 0: the file was deleted (still open)
  bool regular = false;

  bool SameFile(const LogFileInfo& other) const {
    return device == other.device && inode == other.inode;
  }
};

class LogFileSystem {
 public:
  virtual ~LogFileSystem() = default;

  // open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC [| O_TRUNC], 0644):
  // a descriptor >= 0, or -errno.
  virtual int Open(const std::string& path, bool truncate) = 0;
  // write(2): bytes written (possibly fewer than `size`), or -errno.
  virtual int64_t Write(int fd, const char* data, size_t size) = 0;
  // ftruncate(2) to `size` bytes: 0 or -errno.
  virtual int Truncate(int fd, int64_t size) = 0;
  virtual int Close(int fd) = 0;
  // fstat(2) / stat(2): 0 or -errno.
  virtual int StatFd(int fd, LogFileInfo* info) = 0;
  virtual int StatPath(const std::string& path, LogFileInfo* info) = 0;
  virtual int Rename(const std::string& from, const std::string& to) = 0;
  virtual int Unlink(const std::string& path) = 0;
};

}  // namespace yoloscope
