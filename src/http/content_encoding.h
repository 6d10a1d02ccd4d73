// HTTP content codings (RFC 9110 section 8.4): gzip and deflate (the zlib
// format; raw deflate is accepted on input too, as browsers and some
// clients send it), for request bodies (Content-Encoding) and responses
// (Accept-Encoding).
//
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope::http {

enum class ContentCoding { kIdentity, kGzip, kDeflate };

// "gzip" / "x-gzip" / "deflate" / "identity" (case-insensitive); anything
// else is Unimplemented (answered 415 by the caller).
StatusOr<ContentCoding> ParseContentCoding(std::string_view name);

// The coding to answer with for an Accept-Encoding header: gzip, then
// deflate, when accepted with a non-zero q; identity otherwise.
ContentCoding PickResponseCoding(std::string_view accept_encoding);

// "gzip" / "deflate" / "identity".
std::string_view ContentCodingName(ContentCoding coding);

// Decodes `data`. InvalidArgument for corrupt data; OutOfRange when the
// decoded size would exceed `max_bytes` (a compression bomb is stopped at
// the limit, never inflated in full).
StatusOr<std::string> DecodeContent(ContentCoding coding, std::string_view data,
                                    uint64_t max_bytes);

// Encodes `data` (zlib level 1: response time matters more than size).
StatusOr<std::string> EncodeContent(ContentCoding coding, std::string_view data);

}  // namespace yoloscope::http
