// InputMappedFile: a read-only memory mapping of a whole plain (uncompressed)
// log file, for the zero-copy parallel JSONL path: the file is split into
// ranges that end at newlines and one thread parses each range in place.
//
// Memory: mapping costs address space, not RAM; pages become resident as
// they are touched. Release() hands processed pages back so that the RSS stays
// bounded however large the file is (the page cache keeps them).
//
// Ownership: owns the mapping (unmapped on destruction).
// Thread-safety: data() may be read and Release() called from several
// threads on disjoint ranges.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace yoloscope {

class InputMappedFile {
 public:
  // Maps `path` (a regular file). An empty file gives an empty data().
  static StatusOr<std::unique_ptr<InputMappedFile>> Open(const std::string& path);
  ~InputMappedFile();

  InputMappedFile(const InputMappedFile&) = delete;
  InputMappedFile& operator=(const InputMappedFile&) = delete;

  std::string_view data() const { return {data_, size_}; }

  // Splits [0, size) into at most `parts` non-empty consecutive ranges
  // [begin, end) of about equal size, each ending right after a '\n' (the
  // last one at the end of the file).
  std::vector<std::pair<size_t, size_t>> SplitAtNewlines(int parts) const;

  // Drops the whole pages inside [begin, end) from this process's memory.
  void Release(size_t begin, size_t end) const;
  // Hints that [begin, end) will be read sequentially soon.
  void WillRead(size_t begin, size_t end) const;

  // Maps the pages of [begin, end) in one go (MADV_POPULATE_READ) ahead of
  // reading them; a no-op where the kernel lacks it.
  void Populate(size_t begin, size_t end) const;

  // Whether the file is now shorter than `end` bytes. Touching mapped pages
  // past the end of a truncated file raises SIGBUS, so readers check this
  // before each window (a narrow race remains; see log_reader.h).
  bool ShrankBelow(size_t end) const;

 private:
  InputMappedFile(int fd, const char* data, size_t size) : fd_(fd), data_(data), size_(size) {}

  int fd_;  // kept open for ShrankBelow; -1 for an empty file
  const char* data_;
  size_t size_;
};

}  // namespace yoloscope
