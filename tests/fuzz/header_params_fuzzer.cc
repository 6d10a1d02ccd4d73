// Fuzzes the `; name=value` parameter tail of Content-Type and
// Content-Disposition (src/http/header_params), and the helpers beside it.
// Property: parameter names come out lower-case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "http/header_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope::http;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  HeaderParams params;
  if (ParseHeaderParams(text, params).ok()) {
    for (const auto& [name, value] : params) {
      for (char c : name) {
        yoloscope::fuzz::Check(!std::isupper(static_cast<unsigned char>(c)),
                               "a parameter name is not lower-case");
      }
      (void)EqualsIgnoreCase(name, value);
    }
  }
  std::string_view trimmed = TrimWhitespace(text);
  yoloscope::fuzz::Check(trimmed.size() <= text.size(), "trim grew");
  return 0;
}
