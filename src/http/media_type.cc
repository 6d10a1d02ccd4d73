#include "http/media_type.h"

namespace yoloscope::http {

StatusOr<MediaType> MediaType::Parse(std::string_view content_type) {
  std::string_view text = TrimWhitespace(content_type);
  if (text.empty()) return InvalidArgumentError("empty content type");
  size_t i = 0;
  while (i < text.size() && IsTokenChar(text[i])) ++i;
  if (i == 0 || i == text.size() || text[i] != '/') {
    return InvalidArgumentError("malformed content type '" + std::string(content_type) +
                                "': expected type/subtype");
  }
  size_t subtype_start = ++i;
  while (i < text.size() && IsTokenChar(text[i])) ++i;
  if (i == subtype_start) {
    return InvalidArgumentError("malformed content type '" + std::string(content_type) +
                                "': empty subtype");
  }
  MediaType media_type;
  media_type.type.assign(text.substr(0, i));
  for (char& c : media_type.type) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  Status status = ParseHeaderParams(text.substr(i), media_type.params);
  if (!status.ok()) {
    return status.WithContext("malformed content type '" + std::string(content_type) + "'");
  }
  return media_type;
}

bool MediaType::Is(std::string_view type_subtype) const {
  return EqualsIgnoreCase(type, type_subtype);
}

std::optional<std::string_view> MediaType::Param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace yoloscope::http
