// MultipartForm: a parsed multipart/form-data body (RFC 7578 / RFC 2046),
// e.g. the `image` field of a `curl -F image=@photo.jpg` upload.
//
// Ownership: parts' `content_type` and `data` are views into the body passed
// to Parse, which must outlive the form; names and filenames are owned (they
// may be unescaped). Parsing copies no part data.
//
// Thread-safety: immutable after Parse; safe to read from several threads.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope::http {

struct MultipartPart {
  std::string name;               // Content-Disposition name.
  std::string filename;           // Content-Disposition filename; empty if absent.
  std::string_view content_type;  // as sent; empty if absent (RFC 7578: text/plain).
  std::string_view data;          // the part's bytes.
};

class MultipartForm {
 public:
  // At most this many parts; more is an error (a body of many tiny parts
  // would otherwise cost more to index than to send).
  static constexpr size_t kMaxParts = 1024;
  // At most this many bytes of header lines per part.
  static constexpr size_t kMaxPartHeaderBytes = 16 * 1024;

  // Parses `body` using the boundary of `content_type`, which must be
  // multipart/form-data. InvalidArgument with a message naming the problem on
  // a wrong type, a missing or bad boundary, a truncated body, or a part
  // without a Content-Disposition name.
  static StatusOr<MultipartForm> Parse(std::string_view content_type, std::string_view body);
  // The same with the boundary given directly (1..70 characters).
  static StatusOr<MultipartForm> ParseWithBoundary(std::string_view boundary,
                                                   std::string_view body);

  // The first part named `name`, or nullptr.
  const MultipartPart* Find(std::string_view name) const;
  const std::vector<MultipartPart>& parts() const { return parts_; }

 private:
  std::vector<MultipartPart> parts_;
};

}  // namespace yoloscope::http
