#include "http/header_params.h"

#include <cstring>

namespace yoloscope::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string_view TrimWhitespace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

Status ParseHeaderParams(std::string_view text, HeaderParams& out) {
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  while (true) {
    skip_ws();
    if (i == text.size()) return Status::Ok();
    if (text[i] != ';') {
      return InvalidArgumentError("expected ';' before parameter at offset " + std::to_string(i));
    }
    ++i;
    skip_ws();
    if (i == text.size() || text[i] == ';') continue;  // empty piece
    size_t name_start = i;
    while (i < text.size() && IsTokenChar(text[i])) ++i;
    if (i == name_start) {
      return InvalidArgumentError("invalid parameter name at offset " + std::to_string(i));
    }
    std::string name(text.substr(name_start, i - name_start));
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    skip_ws();
    if (i == text.size() || text[i] != '=') {
      return InvalidArgumentError("parameter '" + name + "' has no value");
    }
    ++i;
    skip_ws();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) c = text[i++];
        value.push_back(c);
      }
      if (!closed) return InvalidArgumentError("unterminated quoted value of '" + name + "'");
    } else {
      size_t value_start = i;
      while (i < text.size() && IsTokenChar(text[i])) ++i;
      value.assign(text.substr(value_start, i - value_start));
      if (value.empty()) return InvalidArgumentError("parameter '" + name + "' has no value");
    }
    out.emplace_back(std::move(name), std::move(value));
  }
}

}  // namespace yoloscope::http
