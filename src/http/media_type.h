// MediaType: a parsed Content-Type value, e.g.
// `multipart/form-data; boundary="abc"` -> type "multipart/form-data",
// params {boundary: abc}.
//
// Thread-safety: a value type.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/header_params.h"

namespace yoloscope::http {

struct MediaType {
  std::string type;     // "type/subtype", lower-cased, without parameters.
  HeaderParams params;  // lower-cased names, unquoted values, in order.

  // Parses a Content-Type header value; InvalidArgument on a malformed one.
  static StatusOr<MediaType> Parse(std::string_view content_type);

  // Case-insensitive comparison with "type/subtype".
  bool Is(std::string_view type_subtype) const;
  // The first parameter named `name` (case-insensitive).
  std::optional<std::string_view> Param(std::string_view name) const;
};

}  // namespace yoloscope::http
