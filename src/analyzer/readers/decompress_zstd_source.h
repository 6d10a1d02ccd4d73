// ZstdSource: an InputSource that decompresses a zstd stream (one or more
// frames, e.g. from `zstd` or a rotated .zst log) read from another
// InputSource.
//
// Ownership: owns the wrapped source. Thread-safety: not thread-safe.
#pragma once

#include <memory>

#include "analyzer/readers/input_source.h"

namespace yoloscope {

class ZstdSource final : public InputSource {
 public:
  // Wraps `raw`, positioned at the zstd magic. Internal when the zstd
  // context cannot be created.
  static StatusOr<std::unique_ptr<InputSource>> Create(std::unique_ptr<InputSource> raw);
  ~ZstdSource() override;

  int64_t raw_bytes_read() const override;

 protected:
  StatusOr<size_t> ReadSome(char* buf, size_t n) override;

 private:
  struct Impl;
  ZstdSource(std::unique_ptr<InputSource> raw, std::unique_ptr<Impl> impl);

  std::unique_ptr<InputSource> raw_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
