// InputSource: a sequential byte stream over one log input: a file, stdin
// ("-"), or a gzip / zstd compressed file or stream (told apart by their magic
// bytes, whatever the file name). The readers pull bytes with Read().
//
// Ownership: an InputSource owns its file descriptor (stdin is not closed).
// Thread-safety: not thread-safe; one thread reads a source at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

enum class Compression { kNone, kGzip, kZstd };

std::string_view CompressionName(Compression compression);

// The compression the first bytes of a stream announce (gzip 1f 8b, zstd
// 28 b5 2f fd); kNone otherwise.
Compression DetectCompression(std::string_view head);

class InputSource {
 public:
  virtual ~InputSource() = default;

  // Opens `path` ("-" is stdin) and, when its first bytes are a gzip or zstd
  // magic, wraps it in the matching decompressor. NotFound when the file
  // does not exist, InvalidArgument when it is a directory or unreadable.
  static StatusOr<std::unique_ptr<InputSource>> Open(const std::string& path);

  // Reads up to `n` bytes into `buf`; returns 0 at the end of the input (for
  // an uncompressed regular file, a later Read may return bytes appended in
  // the meantime: that is how --follow works). DataLoss on corrupt
  // compressed data.
  StatusOr<size_t> Read(char* buf, size_t n);

  // The first bytes of the (decompressed) content without consuming them:
  // up to `max` bytes, fewer only at the end of the input.
  StatusOr<std::string_view> Peek(size_t max);

  // The name given to Open ("-" for stdin).
  const std::string& path() const { return path_; }
  Compression compression() const { return compression_; }
  // True for an uncompressed regular file (can be memory-mapped, split into
  // chunks and followed).
  bool is_plain_file() const { return plain_file_; }
  // Size of the file on disk when it is a regular file, else -1.
  int64_t file_size() const { return file_size_; }
  // Bytes taken from the underlying file or pipe so far (compressed bytes for
  // a compressed input).
  virtual int64_t raw_bytes_read() const = 0;

  // For plain files only: whether the file at path() was truncated or
  // replaced (rotated) since it was opened; the caller then re-opens it.
  virtual bool FileWasReplacedOrTruncated() const { return false; }

 protected:
  InputSource(std::string path, Compression compression, bool plain_file, int64_t file_size)
      : path_(std::move(path)),
        compression_(compression),
        plain_file_(plain_file),
        file_size_(file_size) {}

  // Reads up to `n` (> 0) bytes; 0 at the end of the input.
  virtual StatusOr<size_t> ReadSome(char* buf, size_t n) = 0;

 private:
  std::string peeked_;  // bytes taken by Peek, not yet returned by Read.
  size_t peek_pos_ = 0;
  std::string path_;
  Compression compression_;
  bool plain_file_;
  int64_t file_size_;
};

}  // namespace yoloscope
