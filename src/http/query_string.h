// URL query strings and percent-encoding (RFC 3986 / HTML form encoding).
//
// Lenient by design: a malformed escape ("%zz", a trailing "%") is kept
// literally rather than rejected, so a request is never refused for its query;
// handlers validate the values they use.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace yoloscope::http {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; with `plus_as_space` also '+' -> ' ' (query strings).
std::string PercentDecode(std::string_view text, bool plus_as_space);

// Parses "conf=0.3&iou=0.5&flag" into decoded (key, value) pairs in order;
// repeated keys are all kept, a key without '=' has an empty value, and empty
// pieces ("a=1&&b=2") are skipped. `query` excludes the leading '?'.
QueryParams ParseQueryString(std::string_view query);

}  // namespace yoloscope::http
