#include "analyzer/readers/input_mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace yoloscope {
namespace {

// Lines are usually under 1 KiB: one small read finds the next newline.
constexpr size_t kScanChunk = 16 * 1024;

size_t PageSize() {
  static const size_t page = [] {
    const long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

}  // namespace

InputMappedFile::Window::~Window() { Unmap(); }

InputMappedFile::Window::Window(Window&& other) noexcept
    : map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_(std::exchange(other.data_, "")),
      size_(std::exchange(other.size_, 0)),
      readable_(std::exchange(other.readable_, nullptr)) {}

InputMappedFile::Window& InputMappedFile::Window::operator=(Window&& other) noexcept {
  if (this != &other) {
    Unmap();
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    data_ = std::exchange(other.data_, "");
    size_ = std::exchange(other.size_, 0);
    readable_ = std::exchange(other.readable_, nullptr);
  }
  return *this;
}

void InputMappedFile::Window::Unmap() {
  // munmap, not madvise(MADV_DONTNEED) on one big mapping: it removes every
  // page this window brought in, including pages the kernel mapped around a
  // fault (fault-around, large folios) that a DONTNEED of "our" range left
  // behind. Those leftovers made RSS grow with the file size.
  if (map_ != nullptr) munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
  data_ = "";
  size_ = 0;
  readable_ = nullptr;
}

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
  // Larger readahead when the file is not cached yet; harmless when it is.
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<InputMappedFile>(
      new InputMappedFile(fd, static_cast<size_t>(st.st_size), path));
}

InputMappedFile::~InputMappedFile() { close(fd_); }

bool InputMappedFile::ShrankBelow(size_t end) const {
  struct stat st;
  return fstat(fd_, &st) == 0 && static_cast<size_t>(st.st_size) < end;
}

StatusOr<size_t> InputMappedFile::NextLineStart(size_t pos) const {
  if (pos == 0) return size_t{0};
  if (pos >= size_) return size_;
  char buf[kScanChunk];
  size_t at = pos - 1;  // a '\n' right before pos makes pos a line start.
  while (at < size_) {
    const size_t want = std::min(kScanChunk, size_ - at);
    const ssize_t got = pread(fd_, buf, want, static_cast<off_t>(at));
    if (got < 0) {
      if (errno == EINTR) continue;
      return InvalidArgumentError(path_ + ": cannot read: " + std::strerror(errno));
    }
    if (got == 0) return DataLossError(path_ + ": the file shrank while it was read");
    const void* nl = std::memchr(buf, '\n', static_cast<size_t>(got));
    if (nl != nullptr) return at + static_cast<size_t>(static_cast<const char*>(nl) - buf) + 1;
    at += static_cast<size_t>(got);
  }
  return size_;
}

void InputMappedFile::Prefetch(size_t begin, size_t end) const {
  end = std::min(end, size_);
  if (begin >= end) return;
  // WILLNEED walks the page cache page by page even when everything is
  // there (~3% of a warm read's CPU when done per window), so look first: a
  // byte in the middle that can be read without waiting means the range is
  // (most likely) cached already. Kernels without RWF_NOWAIT say EOPNOTSUPP:
  // then always prefetch.
  char probe;
  struct iovec iov = {&probe, 1};
  if (preadv2(fd_, &iov, 1, static_cast<off_t>(begin + (end - begin) / 2), RWF_NOWAIT) == 1) return;
  posix_fadvise(fd_, static_cast<off_t>(begin), static_cast<off_t>(end - begin),
                POSIX_FADV_WILLNEED);
}

InputMappedFile::ReadBuffer::~ReadBuffer() {
  if (data_ != nullptr) munmap(data_, capacity_);
}

bool InputMappedFile::ReadBuffer::Reserve(size_t bytes) {
  if (bytes <= capacity_) return true;
  constexpr size_t kHuge = 2u << 20;
  const size_t capacity = (bytes + kHuge - 1) / kHuge * kHuge;
  // Over-allocate by one huge page to align the start.
  void* p = mmap(nullptr, capacity + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
  if (p == MAP_FAILED) return false;
  char* raw = static_cast<char*>(p);
  char* aligned = reinterpret_cast<char*>(
      (reinterpret_cast<uintptr_t>(raw) + kHuge - 1) / kHuge * kHuge);
  if (aligned > raw) munmap(raw, static_cast<size_t>(aligned - raw));
  const size_t tail = static_cast<size_t>(raw + capacity + kHuge - (aligned + capacity));
  if (tail > 0) munmap(aligned + capacity, tail);
#ifdef MADV_HUGEPAGE
  madvise(aligned, capacity, MADV_HUGEPAGE);
#endif
  if (data_ != nullptr) munmap(data_, capacity_);
  data_ = aligned;
  capacity_ = capacity;
  return true;
}

StatusOr<InputMappedFile::Window> InputMappedFile::ReadInto(size_t begin, size_t end,
                                                            size_t padding,
                                                            ReadBuffer* buffer) const {
  Window w;
  if (end > size_ || begin > end) {
    return InvalidArgumentError(path_ + ": window outside the file");
  }
  if (begin == end) return w;
  const size_t n = end - begin;
  if (!buffer->Reserve(n + padding)) {
    return ResourceExhaustedError(path_ + ": cannot allocate a read buffer");
  }
  size_t got = 0;
  while (got < n) {
    const ssize_t r = pread(fd_, buffer->data_ + got, n - got, static_cast<off_t>(begin + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return DataLossError(path_ + ": read failed: " + std::strerror(errno));
    }
    if (r == 0) return DataLossError(path_ + ": the file shrank while it was read");
    got += static_cast<size_t>(r);
  }
  std::memset(buffer->data_ + n, 0, padding);
  w.data_ = buffer->data_;
  w.size_ = n;
  w.readable_ = buffer->data_ + n + padding;
  return w;
}

StatusOr<InputMappedFile::Window> InputMappedFile::Map(size_t begin, size_t end) const {
  Window w;
  if (end > size_ || begin > end) {
    return InvalidArgumentError(path_ + ": window outside the file");
  }
  if (begin == end) return w;
  const size_t page = PageSize();
  const size_t first = begin / page * page;
  const size_t last = (end + page - 1) / page * page;
  void* p = mmap(nullptr, last - first, PROT_READ, MAP_PRIVATE, fd_, static_cast<off_t>(first));
  if (p == MAP_FAILED) {
    return InvalidArgumentError(path_ + ": cannot map: " + std::strerror(errno));
  }
  w.map_ = static_cast<char*>(p);
  w.map_size_ = last - first;
  w.data_ = w.map_ + (begin - first);
  w.size_ = end - begin;
  // Read-ahead hint for an uncached file, then the whole window's page table
  // in one call instead of a fault per few pages (ignored by kernels < 5.14,
  // where the pages fault in as they are parsed).
  madvise(p, w.map_size_, MADV_SEQUENTIAL);
#ifdef MADV_POPULATE_READ
  // EFAULT: pages past the end of the file, which was truncated since the
  // caller checked; reading them would raise SIGBUS.
  if (madvise(p, w.map_size_, MADV_POPULATE_READ) != 0 && errno == EFAULT) {
    return DataLossError(path_ + ": the file shrank while it was read");
  }
#endif
  return w;
}

}  // namespace yoloscope
