// InputMappedFile: a plain (uncompressed) log file read through short-lived
// memory mappings, for the zero-copy parallel JSONL path: the file is cut
// into windows that end at newlines, and one thread maps, parses in place and
// unmaps each window.
//
// Memory: only the windows being parsed are mapped, so the resident set is
// about (threads x window size) whatever the file size. Each window is its
// own mapping and is unmapped when done: every page it brought in leaves the
// process with it (the page cache keeps them). Window boundaries are found
// with pread(), so no page outside a live window is ever mapped.
//
// Ownership: owns the file descriptor; a Window owns its mapping.
// Thread-safety: NextLineStart, Map and ShrankBelow may be called from
// several threads at once; a Window is used by one thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

class InputMappedFile {
 public:
  // A read-only mapping of the file bytes [begin, end), unmapped on
  // destruction. Bytes from data().data() up to readable_end() may be read:
  // the window's own bytes, and the rest of its last page (bytes of the next
  // window, or zeros past the end of the file).
  class Window {
   public:
    Window() = default;
    ~Window();
    Window(Window&& other) noexcept;
    Window& operator=(Window&& other) noexcept;
    Window(const Window&) = delete;
    Window& operator=(const Window&) = delete;

    std::string_view data() const { return {data_, size_}; }
    const char* readable_end() const { return readable_ ? readable_ : map_ + map_size_; }

   private:
    friend class InputMappedFile;
    void Unmap();

    char* map_ = nullptr;  // page-aligned start of the mapping
    size_t map_size_ = 0;  // whole pages
    const char* data_ = "";
    size_t size_ = 0;
    const char* readable_ = nullptr;  // set when the bytes live in a ReadBuffer
  };

  // A reusable destination for ReadInto, one per thread: 2 MiB aligned, with
  // transparent huge pages where the kernel gives them (madvise mode).
  class ReadBuffer {
   public:
    ReadBuffer() = default;
    ~ReadBuffer();
    ReadBuffer(const ReadBuffer&) = delete;
    ReadBuffer& operator=(const ReadBuffer&) = delete;

   private:
    friend class InputMappedFile;
    bool Reserve(size_t bytes);
    char* data_ = nullptr;
    size_t capacity_ = 0;
  };

  // Opens `path` (a regular file). The size is taken now: bytes appended
  // later are not read.
  static StatusOr<std::unique_ptr<InputMappedFile>> Open(const std::string& path);
  ~InputMappedFile();

  InputMappedFile(const InputMappedFile&) = delete;
  InputMappedFile& operator=(const InputMappedFile&) = delete;

  // Size of the file when it was opened.
  size_t size() const { return size_; }

  // The start of the first line that begins at or after `pos`: `pos` itself
  // when it is 0 or follows a '\n', else the byte after the next '\n';
  // size() when there is none. Reads the bytes with pread(), mapping
  // nothing. DataLoss when the file became shorter than size().
  StatusOr<size_t> NextLineStart(size_t pos) const;

  // Maps [begin, end) (begin <= end <= size()) and faults its pages in with
  // one call (MADV_POPULATE_READ where the kernel has it). An empty range
  // gives an empty Window. Touching a page past the end of a file truncated
  // since raises SIGBUS, so callers check ShrankBelow first (a narrow race
  // remains; see log_reader.h).
  StatusOr<Window> Map(size_t begin, size_t end) const;

  // Copies [begin, end) into `buffer` with pread() and returns a Window over
  // it, followed by `padding` zero bytes (readable_end()). Used instead of Map
  // for parsing: a copy out of the page cache costs less than mapping the
  // window (page-table setup, TLB misses on 4 KiB pages, the unmap), ~30% of
  // the readers' CPU time on a cached 1 GB log. The Window is valid until
  // the buffer's next use. DataLoss when the file became shorter.
  StatusOr<Window> ReadInto(size_t begin, size_t end, size_t padding, ReadBuffer* buffer) const;

  // Starts reading the bytes [begin, end) into the page cache in the
  // background (POSIX_FADV_WILLNEED) unless they are cached already, for a
  // window that will be mapped soon: an uncached window is then read in a
  // few large requests, overlapping the parsing of the windows before it,
  // instead of one page fault and its read-ahead at a time.
  void Prefetch(size_t begin, size_t end) const;

  // Whether the file is now shorter than `end` bytes.
  bool ShrankBelow(size_t end) const;

 private:
  InputMappedFile(int fd, size_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}

  int fd_;
  size_t size_;
  std::string path_;
};

}  // namespace yoloscope
