// Header-field helpers shared by MediaType and MultipartForm: the
// `*(";" name "=" (token / quoted-string))` parameter tail of Content-Type
// (RFC 9110 section 8.3.1) and Content-Disposition (RFC 6266).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace yoloscope::http {

using HeaderParams = std::vector<std::pair<std::string, std::string>>;

// Parses `text` (what follows the type, starting at a ';' or empty) into
// (lower-case name, unquoted value) pairs appended to `out`. Tolerates empty
// pieces ("a=1;;b=2") and whitespace around ';' and '='.
Status ParseHeaderParams(std::string_view text, HeaderParams& out);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Whether `c` may appear in an HTTP token (RFC 9110 tchar).
bool IsTokenChar(char c);

// `text` without leading and trailing spaces and tabs.
std::string_view TrimWhitespace(std::string_view text);

}  // namespace yoloscope::http
