// Fuzzes MediaType::Parse (Content-Type values, src/http/media_type).
// Properties: a parsed type is "type/subtype" in lower case; Is() agrees
// with itself.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "http/media_type.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::http::MediaType;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto media = MediaType::Parse(text);
  if (!media.ok()) return 0;
  for (char c : media->type) {
    yoloscope::fuzz::Check(!std::isupper(static_cast<unsigned char>(c)), "type not lower-case");
  }
  yoloscope::fuzz::Check(media->Is(media->type), "Is(type) is false");
  (void)media->Param("boundary");
  (void)media->Param("charset");
  return 0;
}
