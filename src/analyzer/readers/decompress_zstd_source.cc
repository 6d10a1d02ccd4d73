#include "analyzer/readers/decompress_zstd_source.h"

#include <zstd.h>

#include <string>
#include <vector>

namespace yoloscope {

struct ZstdSource::Impl {
  ZSTD_DCtx* dctx = nullptr;
  std::vector<char> in;
  ZSTD_inBuffer input{nullptr, 0, 0};
  bool raw_eof = false;
  bool at_frame_end = false;  // the last frame ended and nothing followed yet.

  ~Impl() {
    if (dctx != nullptr) ZSTD_freeDCtx(dctx);
  }
};

ZstdSource::ZstdSource(std::unique_ptr<InputSource> raw, std::unique_ptr<Impl> impl)
    : InputSource(raw->path(), Compression::kZstd, /*plain_file=*/false, raw->file_size()),
      raw_(std::move(raw)),
      impl_(std::move(impl)) {}

ZstdSource::~ZstdSource() = default;

StatusOr<std::unique_ptr<InputSource>> ZstdSource::Create(std::unique_ptr<InputSource> raw) {
  auto impl = std::make_unique<Impl>();
  impl->dctx = ZSTD_createDCtx();
  if (impl->dctx == nullptr) return InternalError("cannot create a zstd context");
  impl->in.resize(ZSTD_DStreamInSize());
  return std::unique_ptr<InputSource>(new ZstdSource(std::move(raw), std::move(impl)));
}

int64_t ZstdSource::raw_bytes_read() const { return raw_->raw_bytes_read(); }

StatusOr<size_t> ZstdSource::ReadSome(char* buf, size_t n) {
  Impl& s = *impl_;
  ZSTD_outBuffer output{buf, n, 0};
  while (output.pos == 0) {
    if (s.input.pos == s.input.size && !s.raw_eof) {
      YS_ASSIGN_OR_RETURN(size_t got, raw_->Read(s.in.data(), s.in.size()));
      if (got == 0) {
        s.raw_eof = true;
      } else {
        s.input = ZSTD_inBuffer{s.in.data(), got, 0};
      }
    }
    // Called even without new input: the context may hold output to flush.
    const size_t in_before = s.input.pos;
    const size_t rc = ZSTD_decompressStream(s.dctx, &output, &s.input);
    if (ZSTD_isError(rc)) {
      return DataLossError(path() + ": corrupt zstd data (" + ZSTD_getErrorName(rc) + ")");
    }
    if (rc == 0) {
      s.at_frame_end = true;
    } else if (s.input.pos != in_before || output.pos != 0) {
      s.at_frame_end = false;
    }
    if (output.pos == 0 && s.input.pos == s.input.size && s.raw_eof) {
      if (s.at_frame_end) return size_t{0};  // the last frame ended cleanly.
      return DataLossError(path() + ": truncated zstd stream");
    }
  }
  return output.pos;
}

}  // namespace yoloscope
