// InputBlockReader: cuts a streamed InputSource (stdin, a pipe, a compressed
// file, a file being followed) into blocks of whole lines, for the JSONL and
// table readers and for the parallel parsing pipeline.
//
// Each block holds complete lines only (a block ends right after a '\n'),
// except that the last line of the input may lack its newline. At least
// `kPadding` readable bytes follow every block in its buffer, so simdjson can
// parse lines in place. A line longer than `max_line_bytes` is cut there
// (its pieces then fail to parse as malformed lines).
//
// Line numbers: the reader counts newlines, so every block knows the 1-based
// number of its first line.
//
// Ownership: does not own the source; the caller owns the block buffers.
// Thread-safety: not thread-safe (one producer thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "analyzer/readers/input_source.h"
#include "common/status.h"

namespace yoloscope {

class InputBlockReader {
 public:
  static constexpr size_t kPadding = 64;
  static constexpr size_t kDefaultBlockBytes = 4 << 20;
  static constexpr size_t kDefaultMaxLineBytes = 64 << 20;

  struct Block {
    size_t size = 0;         // data bytes at buffer->data().
    int64_t first_line = 0;  // 1-based number of the first line in the block.
    int64_t lines = 0;       // lines in the block (the last may lack '\n').
  };

  explicit InputBlockReader(InputSource* source, size_t block_bytes = kDefaultBlockBytes,
                            size_t max_line_bytes = kDefaultMaxLineBytes);

  // Reads the next block into `*buffer` (resized as needed; its capacity is
  // reused). Returns a block with size 0 when no complete line is available:
  // at the end of the input, or, with hold_partial, until the newline of a
  // trailing partial line arrives (a growing file). An error from the
  // source is returned by the call after the one that hands out the whole
  // lines read before it (a line cut by the error is dropped).
  StatusOr<Block> Next(std::vector<char>* buffer);

  // With hold_partial, a trailing line without newline is kept back instead
  // of being returned at the end of the input (--follow).
  void set_hold_partial(bool hold) { hold_partial_ = hold; }
  // True while bytes of an incomplete line are held back.
  bool has_partial() const { return !carry_.empty(); }
  // Forgets everything held (after a file was truncated or rotated) and
  // restarts line numbers at 1 for `source`.
  void Reset(InputSource* source);

  // Number of '\n' in [data, data + size), at memchr speed (std::count is
  // several times slower here).
  static int64_t CountNewlines(const char* data, size_t size);

  // Content bytes handed out in blocks so far.
  int64_t bytes() const { return bytes_; }
  int64_t lines() const { return next_line_ - 1; }

 private:
  InputSource* source_;
  size_t block_bytes_;
  size_t max_line_bytes_;
  bool hold_partial_ = false;
  bool eof_ = false;
  std::string carry_;     // bytes after the last newline of the previous block.
  Status pending_error_;  // a source error held back until its block is handed out
  int64_t next_line_ = 1;
  int64_t bytes_ = 0;
};

}  // namespace yoloscope
