// UTF-8 validation shared by every writer of JSON (the request log, HTTP
// error bodies): invalid bytes are replaced by U+FFFD so that output is
// always valid UTF-8.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace yoloscope {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
// bytes there are not valid UTF-8 (overlongs, surrogates and > U+10FFFF
// rejected, as simdjson does). Requires i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

}  // namespace yoloscope
