#include "http/content_encoding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace yoloscope::http {
namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// window bits: 16 + 15 gzip, 15 zlib, -15 raw deflate.
StatusOr<std::string> Inflate(std::string_view data, int window_bits, uint64_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, window_bits) != Z_OK) return InternalError("zlib inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return InvalidArgumentError(std::string("corrupt compressed body (") +
                                  (zs.msg ? zs.msg : "zlib error") + ")");
    }
    const size_t got = sizeof(buf) - zs.avail_out;
    if (out.size() + got > max_bytes) {
      inflateEnd(&zs);
      return OutOfRangeError("decompressed body exceeds the limit of " + std::to_string(max_bytes) +
                             " bytes");
    }
    out.append(buf, got);
    if (rc != Z_STREAM_END && zs.avail_in == 0 && got == 0) {
      inflateEnd(&zs);
      return InvalidArgumentError("truncated compressed body");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

StatusOr<ContentCoding> ParseContentCoding(std::string_view name) {
  name = Trim(name);
  if (name.empty() || EqualsNoCase(name, "identity")) return ContentCoding::kIdentity;
  if (EqualsNoCase(name, "gzip") || EqualsNoCase(name, "x-gzip")) return ContentCoding::kGzip;
  if (EqualsNoCase(name, "deflate")) return ContentCoding::kDeflate;
  return UnimplementedError("unsupported Content-Encoding '" + std::string(name.substr(0, 64)) +
                            "': send gzip, deflate or identity");
}

ContentCoding PickResponseCoding(std::string_view accept_encoding) {
  bool gzip = false, deflate = false;
  while (!accept_encoding.empty()) {
    const size_t comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    std::string_view coding = item, params;
    if (const size_t semi = item.find(';'); semi != std::string_view::npos) {
      coding = item.substr(0, semi);
      params = item.substr(semi + 1);
    }
    coding = Trim(coding);
    params = Trim(params);
    // "q=0" (or 0.0, 0.00, 0.000) refuses the coding.
    const bool refused = params.size() >= 3 && (params[0] == 'q' || params[0] == 'Q') &&
                         params[1] == '=' &&
                         params.substr(2).find_first_not_of("0.") == std::string_view::npos;
    if (refused) continue;
    if (EqualsNoCase(coding, "gzip") || EqualsNoCase(coding, "x-gzip")) gzip = true;
    if (EqualsNoCase(coding, "deflate")) deflate = true;
  }
  return gzip ? ContentCoding::kGzip : deflate ? ContentCoding::kDeflate : ContentCoding::kIdentity;
}

std::string_view ContentCodingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kDeflate:
      return "deflate";
    case ContentCoding::kIdentity:
      break;
  }
  return "identity";
}

StatusOr<std::string> DecodeContent(ContentCoding coding, std::string_view data,
                                    uint64_t max_bytes) {
  switch (coding) {
    case ContentCoding::kIdentity:
      return std::string(data);
    case ContentCoding::kGzip:
      return Inflate(data, 16 + MAX_WBITS, max_bytes);
    case ContentCoding::kDeflate: {
      // RFC 9110's deflate is the zlib format; some clients send raw deflate.
      auto zlib = Inflate(data, MAX_WBITS, max_bytes);
      if (zlib.ok() || zlib.status().code() == StatusCode::kOutOfRange) return zlib;
      return Inflate(data, -MAX_WBITS, max_bytes);
    }
  }
  return InternalError("unknown content coding");
}

StatusOr<std::string> EncodeContent(ContentCoding coding, std::string_view data) {
  if (coding == ContentCoding::kIdentity) return std::string(data);
  z_stream zs{};
  const int bits = coding == ContentCoding::kGzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (deflateInit2(&zs, 1, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return InternalError("zlib deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return InternalError("zlib deflate failed");
  out.resize(zs.total_out);
  return out;
}

}  // namespace yoloscope::http
