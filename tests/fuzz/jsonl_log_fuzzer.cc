// Fuzzes the JSONL request-log parser of `analyze` (JsonlParser, simdjson
// On Demand): every line of the input is parsed as one log line, with the
// kPadding readable bytes after it that the parser's contract asks for (and
// no more, so an overread past them is caught). One input in two uses a
// --map key map.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "analyzer/readers/jsonl_parser.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::JsonlParser;
  static JsonlParser* plain = JsonlParser::Create().value().release();
  static JsonlParser* mapped =
      JsonlParser::Create({{"total_ms", "latency"}, {"request_id", "id"}}).value().release();
  yoloscope::fuzz::FuzzInput input(data, size);
  JsonlParser* parser = (input.TakeByte() & 1) ? mapped : plain;
  yoloscope::LogRecord record;
  while (!input.empty()) {
    std::string_view line = input.TakeLine();
    const size_t capacity = line.size() + JsonlParser::kPadding;
    auto buffer = std::make_unique<char[]>(capacity);
    std::memcpy(buffer.get(), line.data(), line.size());
    std::memset(buffer.get() + line.size(), ' ', JsonlParser::kPadding);
    auto outcome = parser->Parse(std::string_view(buffer.get(), line.size()), capacity, &record);
    if (outcome == JsonlParser::Outcome::kMalformed) {
      yoloscope::fuzz::Check(!parser->why().empty(), "malformed without a reason");
    }
  }
  return 0;
}
