#include "analyzer/readers/input_block_reader.h"

#include <algorithm>
#include <cstring>

namespace yoloscope {

InputBlockReader::InputBlockReader(InputSource* source, size_t block_bytes, size_t max_line_bytes)
    : source_(source),
      block_bytes_(std::max<size_t>(block_bytes, 4096)),
      max_line_bytes_(std::max(max_line_bytes, block_bytes_)) {}

int64_t InputBlockReader::CountNewlines(const char* data, size_t size) {
  int64_t n = 0;
  const char* end = data + size;
  while (data < end) {
    const void* nl = std::memchr(data, '\n', static_cast<size_t>(end - data));
    if (nl == nullptr) break;
    ++n;
    data = static_cast<const char*>(nl) + 1;
  }
  return n;
}

void InputBlockReader::Reset(InputSource* source) {
  source_ = source;
  eof_ = false;
  carry_.clear();
  pending_error_ = Status::Ok();
  next_line_ = 1;
}

StatusOr<InputBlockReader::Block> InputBlockReader::Next(std::vector<char>* buffer) {
  if (!pending_error_.ok()) {  // reported after the lines read before it.
    Status error = pending_error_;
    pending_error_ = Status::Ok();
    carry_.clear();
    return error;
  }
  // Start from the carried partial line, then read until the block holds at
  // least one newline and about block_bytes_ bytes, or the input ends.
  size_t size = carry_.size();
  size_t want = std::max(block_bytes_, size + block_bytes_ / 2);
  if (buffer->size() < want + kPadding) buffer->resize(want + kPadding);
  std::memcpy(buffer->data(), carry_.data(), carry_.size());
  carry_.clear();
  size_t scanned = 0;  // bytes already searched for a newline.
  bool have_newline = false;
  eof_ = false;
  while (true) {
    if (!have_newline && size > scanned) {
      have_newline = std::memchr(buffer->data() + scanned, '\n', size - scanned) != nullptr;
      scanned = size;
    }
    if (size >= want && have_newline) break;
    if (size >= want) {  // one line fills the buffer: grow, or cut it.
      if (size >= max_line_bytes_) break;
      want = std::min(max_line_bytes_, want * 2);
      buffer->resize(want + kPadding);
    }
    StatusOr<size_t> read = source_->Read(buffer->data() + size, want - size);
    if (!read.ok()) {
      if (size == 0) return read.status();
      pending_error_ = read.status();  // deliver the whole lines read so far first.
      eof_ = true;
      break;
    }
    const size_t got = *read;
    if (got == 0) {
      eof_ = true;
      break;
    }
    size += got;
  }

  // Cut after the last newline; keep the rest for the next block.
  size_t cut = size;
  const char* base = buffer->data();
  const void* last_nl = size == 0 ? nullptr : memrchr(base, '\n', size);
  if (last_nl != nullptr) {
    cut = static_cast<size_t>(static_cast<const char*>(last_nl) - base) + 1;
  } else if (size < max_line_bytes_ && (!eof_ || hold_partial_)) {
    cut = 0;  // no complete line yet.
  }
  if (cut < size) {
    if (eof_ && !hold_partial_ && last_nl != nullptr) {
      // The input ended with a line without newline: return it in this block.
      cut = size;
    } else {
      carry_.assign(base + cut, size - cut);
    }
  }
  if (!pending_error_.ok()) {  // a line cut short by the error is dropped.
    cut =
        last_nl == nullptr ? 0 : static_cast<size_t>(static_cast<const char*>(last_nl) - base) + 1;
    carry_.clear();
    if (cut == 0) {
      Status error = pending_error_;
      pending_error_ = Status::Ok();
      return error;
    }
  }
  Block block;
  block.size = cut;
  block.first_line = next_line_;
  if (cut > 0) {
    int64_t lines = CountNewlines(base, cut);
    if (base[cut - 1] != '\n') ++lines;
    block.lines = lines;
    next_line_ += lines;
    bytes_ += static_cast<int64_t>(cut);
  }
  return block;
}

}  // namespace yoloscope
