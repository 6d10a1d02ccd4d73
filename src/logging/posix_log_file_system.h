// PosixLogFileSystem: LogFileSystem on the real system calls (open, write,
// ftruncate, fstat, stat, rename, unlink). Stateless.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include "logging/log_file_system.h"

namespace yoloscope {

class PosixLogFileSystem final : public LogFileSystem {
 public:
  int Open(const std::string& path, bool truncate) override;
  int64_t Write(int fd, const char* data, size_t size) override;
  int Truncate(int fd, int64_t size) override;
  int Close(int fd) override;
  int StatFd(int fd, LogFileInfo* info) override;
  int StatPath(const std::string& path, LogFileInfo* info) override;
  int Rename(const std::string& from, const std::string& to) override;
  int Unlink(const std::string& path) override;
};

}  // namespace yoloscope
