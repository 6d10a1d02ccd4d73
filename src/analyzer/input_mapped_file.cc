#include "analyzer/input_mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace yoloscope {
namespace {

size_t PageSize() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

}  // namespace

StatusOr<std::unique_ptr<InputMappedFile>> InputMappedFile::Open(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError(path + ": no such file");
    return InvalidArgumentError(path + ": cannot open: " + std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return InvalidArgumentError(path + ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    close(fd);
    return std::unique_ptr<InputMappedFile>(new InputMappedFile(-1, "", 0));
  }
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    close(fd);
    return InvalidArgumentError(path + ": cannot map: " + std::strerror(err));
  }
  return std::unique_ptr<InputMappedFile>(
      new InputMappedFile(fd, static_cast<const char*>(p), size));
}

InputMappedFile::~InputMappedFile() {
  if (size_ > 0) munmap(const_cast<char*>(data_), size_);
  if (fd_ >= 0) close(fd_);
}

bool InputMappedFile::ShrankBelow(size_t end) const {
  if (fd_ < 0) return false;
  struct stat st;
  return fstat(fd_, &st) == 0 && static_cast<size_t>(st.st_size) < end;
}

std::vector<std::pair<size_t, size_t>> InputMappedFile::SplitAtNewlines(int parts) const {
  std::vector<std::pair<size_t, size_t>> ranges;
  if (size_ == 0) return ranges;
  if (parts < 1) parts = 1;
  size_t begin = 0;
  for (int i = 1; i <= parts && begin < size_; ++i) {
    size_t end = size_;
    if (i < parts) {
      const size_t target = size_ / static_cast<size_t>(parts) * static_cast<size_t>(i);
      if (target <= begin) continue;
      const void* nl = std::memchr(data_ + target, '\n', size_ - target);
      end = nl == nullptr ? size_ : static_cast<size_t>(static_cast<const char*>(nl) - data_) + 1;
    }
    ranges.emplace_back(begin, end);
    begin = end;
  }
  return ranges;
}

void InputMappedFile::Release(size_t begin, size_t end) const {
  if (size_ == 0) return;
  const size_t page = PageSize();
  const auto base = reinterpret_cast<uintptr_t>(data_);
  // Only pages entirely inside [begin, end): neighbours may still be in use.
  uintptr_t first = (base + begin + page - 1) / page * page;
  uintptr_t last = (base + end) / page * page;
  if (end >= size_) last = (base + size_ + page - 1) / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void InputMappedFile::WillRead(size_t begin, size_t end) const {
  if (size_ == 0 || end <= begin) return;
  const size_t page = PageSize();
  const auto base = reinterpret_cast<uintptr_t>(data_);
  uintptr_t first = (base + begin) / page * page;
  madvise(reinterpret_cast<void*>(first), base + end - first, MADV_SEQUENTIAL);
}

void InputMappedFile::Populate(size_t begin, size_t end) const {
#ifdef MADV_POPULATE_READ
  if (size_ == 0 || end <= begin) return;
  const size_t page = PageSize();
  const auto base = reinterpret_cast<uintptr_t>(data_);
  uintptr_t first = (base + begin) / page * page;
  // One call instead of a page fault per 64 KiB; ignored by kernels < 5.14.
  madvise(reinterpret_cast<void*>(first), base + std::min(end, size_) - first, MADV_POPULATE_READ);
#else
  (void)begin;
  (void)end;
#endif
}

}  // namespace yoloscope
