#include "logging/posix_log_file_system.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace yoloscope {
namespace {

void FromStat(const struct stat& st, LogFileInfo* info) {
  info->device = static_cast<uint64_t>(st.st_dev);
  info->inode = static_cast<uint64_t>(st.st_ino);
  info->size = static_cast<int64_t>(st.st_size);
  info->links = static_cast<uint64_t>(st.st_nlink);
  info->regular = S_ISREG(st.st_mode);
}

}  // namespace

int PosixLogFileSystem::Open(const std::string& path, bool truncate) {
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  return fd >= 0 ? fd : -errno;
}

int64_t PosixLogFileSystem::Write(int fd, const char* data, size_t size) {
  while (true) {
    const ssize_t n = ::write(fd, data, size);
    if (n >= 0) return static_cast<int64_t>(n);
    if (errno != EINTR) return -errno;
  }
}

int PosixLogFileSystem::Truncate(int fd, int64_t size) {
  return ::ftruncate(fd, static_cast<off_t>(size)) == 0 ? 0 : -errno;
}

int PosixLogFileSystem::Close(int fd) { return ::close(fd) == 0 ? 0 : -errno; }

int PosixLogFileSystem::StatFd(int fd, LogFileInfo* info) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return -errno;
  FromStat(st, info);
  return 0;
}

int PosixLogFileSystem::StatPath(const std::string& path, LogFileInfo* info) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -errno;
  FromStat(st, info);
  return 0;
}

int PosixLogFileSystem::Rename(const std::string& from, const std::string& to) {
  return std::rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
}

int PosixLogFileSystem::Unlink(const std::string& path) {
  return ::unlink(path.c_str()) == 0 ? 0 : -errno;
}

}  // namespace yoloscope
