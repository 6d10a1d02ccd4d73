// Fuzzes MultipartForm (RFC 7578 bodies): the first line is the
// Content-Type header value, the rest the body; one input in two also goes
// through ParseWithBoundary with the first line as the boundary.
// Properties: parts' data lie inside the body; at most kMaxParts parts.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "http/multipart_form.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::http::MultipartForm;
  using yoloscope::http::MultipartPart;
  yoloscope::fuzz::FuzzInput input(data, size);
  const bool direct = input.TakeByte() & 1;
  std::string_view head = input.TakeLine();
  std::string_view body = input.rest();
  auto form =
      direct ? MultipartForm::ParseWithBoundary(head, body) : MultipartForm::Parse(head, body);
  if (!form.ok()) return 0;
  yoloscope::fuzz::Check(form->parts().size() <= MultipartForm::kMaxParts, "too many parts");
  for (const MultipartPart& part : form->parts()) {
    yoloscope::fuzz::Check(
        part.data.empty() || (part.data.data() >= body.data() &&
                              part.data.data() + part.data.size() <= body.data() + body.size()),
        "a part's data lies outside the body");
    (void)form->Find(part.name);
  }
  return 0;
}
