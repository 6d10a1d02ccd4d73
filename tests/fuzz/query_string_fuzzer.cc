// Fuzzes the query-string parser and percent-decoding (src/http/query_string).
// Properties: decoding never grows the text; the parsed keys and values
// together are never longer than the query.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "http/query_string.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope::http;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  yoloscope::fuzz::Check(PercentDecode(text, false).size() <= text.size(), "decode grew");
  yoloscope::fuzz::Check(PercentDecode(text, true).size() <= text.size(), "decode grew");
  QueryParams params = ParseQueryString(text);
  size_t total = 0;
  for (const auto& [key, value] : params) total += key.size() + value.size();
  yoloscope::fuzz::Check(total <= text.size(), "parsed pairs longer than the query");
  return 0;
}
