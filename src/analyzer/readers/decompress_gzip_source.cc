#include "analyzer/readers/decompress_gzip_source.h"

#include <zlib.h>

#include <string>
#include <vector>

namespace yoloscope {
namespace {

constexpr size_t kInputBufferBytes = 256 * 1024;

}  // namespace

struct GzipSource::Impl {
  z_stream zs{};
  std::vector<unsigned char> in;
  bool raw_eof = false;
  bool stream_end = false;  // the last member ended and nothing follows.
  bool initialised = false;

  ~Impl() {
    if (initialised) inflateEnd(&zs);
  }
};

GzipSource::GzipSource(std::unique_ptr<InputSource> raw, std::unique_ptr<Impl> impl)
    : InputSource(raw->path(), Compression::kGzip, /*plain_file=*/false, raw->file_size()),
      raw_(std::move(raw)),
      impl_(std::move(impl)) {}

GzipSource::~GzipSource() = default;

StatusOr<std::unique_ptr<InputSource>> GzipSource::Create(std::unique_ptr<InputSource> raw) {
  auto impl = std::make_unique<Impl>();
  impl->in.resize(kInputBufferBytes);
  // 15 window bits + 32: detect a gzip or zlib header automatically.
  if (inflateInit2(&impl->zs, 15 + 32) != Z_OK) {
    return InternalError("zlib inflateInit2 failed for " + raw->path());
  }
  impl->initialised = true;
  return std::unique_ptr<InputSource>(new GzipSource(std::move(raw), std::move(impl)));
}

int64_t GzipSource::raw_bytes_read() const { return raw_->raw_bytes_read(); }

StatusOr<size_t> GzipSource::ReadSome(char* buf, size_t n) {
  Impl& s = *impl_;
  if (s.stream_end) return size_t{0};
  s.zs.next_out = reinterpret_cast<Bytef*>(buf);
  s.zs.avail_out = static_cast<uInt>(n > (1u << 30) ? (1u << 30) : n);
  const uInt out_start = s.zs.avail_out;
  while (s.zs.avail_out == out_start) {
    if (s.zs.avail_in == 0 && !s.raw_eof) {
      YS_ASSIGN_OR_RETURN(size_t got,
                          raw_->Read(reinterpret_cast<char*>(s.in.data()), s.in.size()));
      if (got == 0) {
        s.raw_eof = true;
      } else {
        s.zs.next_in = s.in.data();
        s.zs.avail_in = static_cast<uInt>(got);
      }
    }
    const int rc = inflate(&s.zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      // Another member may follow; anything else after the end is ignored
      // (gzip itself ignores trailing zero padding).
      if (s.zs.avail_in == 0 && !s.raw_eof) {
        YS_ASSIGN_OR_RETURN(size_t got,
                            raw_->Read(reinterpret_cast<char*>(s.in.data()), s.in.size()));
        if (got == 0) {
          s.raw_eof = true;
        } else {
          s.zs.next_in = s.in.data();
          s.zs.avail_in = static_cast<uInt>(got);
        }
      }
      if (s.zs.avail_in >= 2 && s.zs.next_in[0] == 0x1f && s.zs.next_in[1] == 0x8b) {
        inflateReset(&s.zs);
        continue;
      }
      s.stream_end = true;
      break;
    }
    if (rc == Z_BUF_ERROR) {  // no progress: needs more input.
      if (s.zs.avail_in == 0 && s.raw_eof) {
        return DataLossError(path() + ": truncated gzip stream");
      }
      continue;
    }
    if (rc != Z_OK) {
      return DataLossError(path() + ": corrupt gzip data (" +
                           std::string(s.zs.msg != nullptr ? s.zs.msg : "inflate failed") + ")");
    }
  }
  return static_cast<size_t>(out_start - s.zs.avail_out);
}

}  // namespace yoloscope
