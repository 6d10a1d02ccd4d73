// HTML-safe text for the report and live pages. Everything that comes from a
// log (request ids, model names, file names, statuses, finding text derived
// from them) goes through these before it reaches a page.
//
// Contracts:
//   - EscapeHtml: the result is inert as HTML text and inside a double- or
//     single-quoted attribute value (& < > " ' are replaced by entities).
//     Bytes >= 0x80 pass through unchanged (UTF-8 stays UTF-8); invalid
//     UTF-8 is not repaired here (nlohmann's dump replaces it upstream).
//   - JsonForScript: `value` serialized as JSON that can sit inside
//     <script type="application/json"> (or a JS expression) without ending
//     it or opening a comment: '<', '>', '&' and U+2028 / U+2029 are written
//     as \u escapes, which JSON.parse turns back into the same characters.
//     Invalid UTF-8 in strings is replaced by U+FFFD, never thrown on.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace yoloscope {

// Appends `text` to `out` with & < > " ' replaced by HTML entities.
void AppendEscapedHtml(std::string_view text, std::string* out);

// `text` with & < > " ' replaced by HTML entities.
std::string EscapeHtml(std::string_view text);

// `value` as compact JSON, safe to embed in a <script> element.
std::string JsonForScript(const nlohmann::json& value);

}  // namespace yoloscope
