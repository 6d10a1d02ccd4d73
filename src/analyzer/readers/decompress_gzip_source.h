// GzipSource: an InputSource that inflates a gzip stream read from another
// InputSource. Concatenated gzip members (as written by `cat a.gz b.gz`,
// pigz or logrotate) are read one after another; a zlib-wrapped stream is
// accepted too.
//
// Ownership: owns the wrapped source. Thread-safety: not thread-safe.
#pragma once

#include <memory>

#include "analyzer/readers/input_source.h"

namespace yoloscope {

class GzipSource final : public InputSource {
 public:
  // Wraps `raw`, positioned at the gzip magic. Internal when zlib cannot be
  // initialised.
  static StatusOr<std::unique_ptr<InputSource>> Create(std::unique_ptr<InputSource> raw);
  ~GzipSource() override;

  int64_t raw_bytes_read() const override;

 protected:
  StatusOr<size_t> ReadSome(char* buf, size_t n) override;

 private:
  struct Impl;
  GzipSource(std::unique_ptr<InputSource> raw, std::unique_ptr<Impl> impl);

  std::unique_ptr<InputSource> raw_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
