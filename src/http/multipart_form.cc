#include "http/multipart_form.h"

#include "http/header_params.h"
#include "http/media_type.h"

namespace yoloscope::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Fills `part` from its header block (the lines between the delimiter line
// and the empty line, each ending in CRLF).
Status ParsePartHeaders(std::string_view headers, size_t index, MultipartPart& part) {
  bool has_disposition = false;
  while (!headers.empty()) {
    size_t eol = headers.find(kCrlf);
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgumentError("part " + std::to_string(index) + " has a malformed header line");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = TrimWhitespace(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-type")) {
      part.content_type = value;
    } else if (EqualsIgnoreCase(name, "content-disposition")) {
      size_t i = 0;
      while (i < value.size() && IsTokenChar(value[i])) ++i;
      if (!EqualsIgnoreCase(value.substr(0, i), "form-data")) {
        return InvalidArgumentError("part " + std::to_string(index) +
                                    " has a Content-Disposition other than form-data");
      }
      HeaderParams params;
      Status status = ParseHeaderParams(value.substr(i), params);
      if (!status.ok()) {
        return status.WithContext("part " + std::to_string(index) + " Content-Disposition");
      }
      for (auto& [key, param_value] : params) {
        if (key == "name") part.name = std::move(param_value);
        if (key == "filename") part.filename = std::move(param_value);
      }
      has_disposition = true;
    }
  }
  if (!has_disposition || part.name.empty()) {
    return InvalidArgumentError("part " + std::to_string(index) +
                                " has no Content-Disposition with a name");
  }
  return Status::Ok();
}

bool IsBoundaryChar(char c) {
  // RFC 2046 bchars.
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

}  // namespace

StatusOr<MultipartForm> MultipartForm::Parse(std::string_view content_type, std::string_view body) {
  StatusOr<MediaType> media_type = MediaType::Parse(content_type);
  if (!media_type.ok()) return media_type.status();
  if (!media_type->Is("multipart/form-data")) {
    return InvalidArgumentError("expected multipart/form-data, got '" + media_type->type + "'");
  }
  std::optional<std::string_view> boundary = media_type->Param("boundary");
  if (!boundary) return InvalidArgumentError("multipart/form-data without a boundary parameter");
  return ParseWithBoundary(*boundary, body);
}

StatusOr<MultipartForm> MultipartForm::ParseWithBoundary(std::string_view boundary,
                                                         std::string_view body) {
  if (boundary.empty() || boundary.size() > 70) {
    return InvalidArgumentError("multipart boundary must be 1 to 70 characters");
  }
  for (char c : boundary) {
    if (!IsBoundaryChar(c))
      return InvalidArgumentError("multipart boundary has an invalid character");
  }
  if (boundary.back() == ' ') return InvalidArgumentError("multipart boundary ends in a space");

  // Delimiters are "--boundary" at the very start or "\r\n--boundary"; what
  // precedes the first one is a preamble and is ignored.
  std::string delimiter = "\r\n--";
  delimiter.append(boundary);
  size_t pos;
  if (body.substr(0, delimiter.size() - 2) == std::string_view(delimiter).substr(2)) {
    pos = delimiter.size() - 2;
  } else {
    size_t found = body.find(delimiter);
    if (found == std::string_view::npos) {
      return InvalidArgumentError("multipart body does not contain its boundary");
    }
    pos = found + delimiter.size();
  }

  MultipartForm form;
  while (true) {
    // After a delimiter: "--" closes the body; otherwise optional transport
    // padding and CRLF start a part.
    if (body.substr(pos, 2) == "--") return form;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != kCrlf) {
      if (pos >= body.size()) return InvalidArgumentError("multipart body ends after a boundary");
      return InvalidArgumentError("malformed multipart boundary line");
    }
    pos += 2;
    if (form.parts_.size() == kMaxParts) {
      return InvalidArgumentError("multipart body has more than " + std::to_string(kMaxParts) +
                                  " parts");
    }
    size_t index = form.parts_.size();
    // Headers end with an empty line; a part without headers starts with it.
    size_t headers_end;
    if (body.substr(pos, 2) == kCrlf) {
      headers_end = pos;
    } else {
      size_t blank = body.find("\r\n\r\n", pos);
      if (blank == std::string_view::npos || blank - pos > kMaxPartHeaderBytes) {
        return InvalidArgumentError("part " + std::to_string(index) +
                                    " headers are not terminated by an empty line");
      }
      headers_end = blank + 2;
    }
    MultipartPart part;
    YS_RETURN_IF_ERROR(ParsePartHeaders(body.substr(pos, headers_end - pos), index, part));
    size_t data_start = headers_end + 2;
    size_t data_end = body.find(delimiter, data_start);
    if (data_end == std::string_view::npos) {
      return InvalidArgumentError("part " + std::to_string(index) +
                                  " is not terminated by the boundary (truncated body?)");
    }
    part.data = body.substr(data_start, data_end - data_start);
    form.parts_.push_back(std::move(part));
    pos = data_end + delimiter.size();
  }
}

const MultipartPart* MultipartForm::Find(std::string_view name) const {
  for (const MultipartPart& part : parts_) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace yoloscope::http
