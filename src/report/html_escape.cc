#include "report/html_escape.h"

namespace yoloscope {

void AppendEscapedHtml(std::string_view text, std::string* out) {
  out->reserve(out->size() + text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  AppendEscapedHtml(text, &out);
  return out;
}

std::string JsonForScript(const nlohmann::json& value) {
  // dump() with error_handler_t::replace never throws on invalid UTF-8.
  const std::string raw = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + raw.size() / 16);
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '<') {
      out.append("\\u003c");
    } else if (c == '>') {
      out.append("\\u003e");
    } else if (c == '&') {
      out.append("\\u0026");
    } else if (c == '\xE2' && i + 2 < raw.size() && raw[i + 1] == '\x80' &&
               (raw[i + 2] == '\xA8' || raw[i + 2] == '\xA9')) {
      // U+2028 / U+2029: line terminators in older JS parsers.
      out.append(raw[i + 2] == '\xA8' ? "\\u2028" : "\\u2029");
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace yoloscope
