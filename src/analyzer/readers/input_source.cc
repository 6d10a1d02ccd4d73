#include "analyzer/readers/input_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "analyzer/readers/clickhouse_source.h"
#include "analyzer/readers/decompress_gzip_source.h"
#include "analyzer/readers/decompress_zstd_source.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {
namespace {

constexpr size_t kMagicBytes = 4;

// A file or stdin, read with read(2).
class FdSource final : public InputSource {
 public:
  FdSource(std::string path, int fd, bool owns_fd, bool regular, int64_t size, dev_t dev, ino_t ino)
      : InputSource(std::move(path), Compression::kNone, regular, regular ? size : -1),
        fd_(fd),
        owns_fd_(owns_fd),
        dev_(dev),
        ino_(ino) {}
  ~FdSource() override {
    if (owns_fd_) close(fd_);
  }

  int64_t raw_bytes_read() const override { return offset_; }

  bool FileWasReplacedOrTruncated() const override {
    if (!is_plain_file()) return false;
    struct stat st;
    if (fstat(fd_, &st) == 0 && st.st_size < offset_) return true;
    if (stat(path().c_str(), &st) != 0) return false;  // removed: keep the old one.
    return st.st_dev != dev_ || st.st_ino != ino_;
  }

 protected:
  StatusOr<size_t> ReadSome(char* buf, size_t n) override {
    for (;;) {
      const ssize_t got = read(fd_, buf, n);
      if (got >= 0) {
        offset_ += got;
        return static_cast<size_t>(got);
      }
      if (errno == EINTR) continue;
      return InvalidArgumentError(path() + ": read failed: " + std::strerror(errno));
    }
  }

 private:
  int fd_;
  bool owns_fd_;
  dev_t dev_;
  ino_t ino_;
  int64_t offset_ = 0;
};

}  // namespace

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
  }
  return "none";
}

Compression DetectCompression(std::string_view head) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() >= 2 && byte(0) == 0x1f && byte(1) == 0x8b) return Compression::kGzip;
  if (head.size() >= 4 && byte(0) == 0x28 && byte(1) == 0xb5 && byte(2) == 0x2f &&
      byte(3) == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

StatusOr<std::unique_ptr<InputSource>> InputSource::Open(const std::string& path) {
  std::unique_ptr<InputSource> raw;
  if (ClickHouseUri::Matches(path)) return OpenClickHouseSource(path);
  if (path == "-") {
    struct stat st;
    const bool regular = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
    // A regular file redirected to stdin is still read as a stream.
    raw = std::make_unique<FdSource>(path, STDIN_FILENO, /*owns_fd=*/false, false,
                                     regular ? st.st_size : -1, 0, 0);
  } else {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return NotFoundError(path + ": no such file");
      return InvalidArgumentError(path + ": cannot open: " + std::strerror(err));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      const int err = errno;
      close(fd);
      return InvalidArgumentError(path + ": cannot stat: " + std::strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return InvalidArgumentError(path + ": is a directory");
    }
    const bool regular = S_ISREG(st.st_mode);
    raw = std::make_unique<FdSource>(path, fd, /*owns_fd=*/true, regular, st.st_size, st.st_dev,
                                     st.st_ino);
  }
  YS_ASSIGN_OR_RETURN(std::string_view head, raw->Peek(kMagicBytes));
  switch (DetectCompression(head)) {
    case Compression::kGzip:
      return GzipSource::Create(std::move(raw));
    case Compression::kZstd:
      return ZstdSource::Create(std::move(raw));
    case Compression::kNone:
      break;
  }
  return raw;
}

StatusOr<size_t> InputSource::Read(char* buf, size_t n) {
  if (n == 0) return size_t{0};
  if (peek_pos_ < peeked_.size()) {
    const size_t take = std::min(n, peeked_.size() - peek_pos_);
    std::memcpy(buf, peeked_.data() + peek_pos_, take);
    peek_pos_ += take;
    if (peek_pos_ == peeked_.size()) {
      peeked_.clear();
      peeked_.shrink_to_fit();
      peek_pos_ = 0;
    }
    return take;
  }
  return ReadSome(buf, n);
}

StatusOr<std::string_view> InputSource::Peek(size_t max) {
  if (peek_pos_ > 0) {  // drop what Read already returned.
    peeked_.erase(0, peek_pos_);
    peek_pos_ = 0;
  }
  while (peeked_.size() < max) {
    const size_t have = peeked_.size();
    peeked_.resize(max);
    StatusOr<size_t> got = ReadSome(peeked_.data() + have, max - have);
    if (!got.ok()) {
      peeked_.resize(have);
      return got.status();
    }
    peeked_.resize(have + *got);
    if (*got == 0) break;
  }
  return std::string_view(peeked_.data(), std::min(max, peeked_.size()));
}

}  // namespace yoloscope
