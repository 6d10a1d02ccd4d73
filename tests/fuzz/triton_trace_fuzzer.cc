// Fuzzes the Triton trace reader (TritonTraceParser: a JSON array of trace
// objects, both the one-object and the per-timestamp layouts, merged by id),
// with exactly the kPadding readable bytes after the content that its
// contract asks for.
// Properties: the counts are not negative; every record delivered is counted.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "analyzer/readers/triton_trace_parser.h"
#include "fuzz/fuzz_input.h"
#include "reqlog/record_sink.h"

namespace {

class CountingSink : public yoloscope::RecordSink {
 public:
  void OnRecord(const yoloscope::LogRecord& record) override {
    ++count;
    bytes += record.request_id.size();
  }
  int64_t count = 0;
  size_t bytes = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::TritonTraceParser;
  static TritonTraceParser* parser = TritonTraceParser::Create().value().release();
  const size_t capacity = size + TritonTraceParser::kPadding;
  auto buffer = std::make_unique<char[]>(capacity);
  if (size > 0) std::memcpy(buffer.get(), data, size);
  std::memset(buffer.get() + size, ' ', TritonTraceParser::kPadding);
  CountingSink sink;
  auto result = parser->Parse(std::string_view(buffer.get(), size), capacity, "trace.json", &sink);
  yoloscope::fuzz::Check(result.records >= 0 && result.malformed >= 0 && result.field_errors >= 0,
                         "negative count");
  yoloscope::fuzz::Check(result.records == sink.count, "records delivered != records counted");
  return 0;
}
