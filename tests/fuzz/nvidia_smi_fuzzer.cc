// Fuzzes the nvidia-smi reader: `nvidia-smi --query-gpu=... --format=csv`
// output through TableParser (kNvidiaSmi: units in headers and cells,
// "[N/A]", "YYYY/MM/DD HH:MM:SS.fff" times, throttle-reason columns), and the
// clocks_throttle_reasons.active mask parser on the first line.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "analyzer/readers/nvidia_smi_throttle.h"
#include "analyzer/readers/reader_format.h"
#include "analyzer/readers/table_parser.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::TableParser;
  yoloscope::fuzz::FuzzInput input(data, size);
  std::string_view first(input.rest().substr(0, input.rest().find('\n')));
  if (auto mask = yoloscope::ParseThrottleMask(first)) {
    std::string names;
    yoloscope::AppendThrottleReasonNames(*mask, &names);
  }
  (void)yoloscope::ThrottleReasonForColumnSuffix(first);
  (void)yoloscope::DetectInputFormat(input.rest().substr(0, 4096), "gpu.csv");
  auto parser = TableParser::Create(yoloscope::InputFormat::kNvidiaSmi, {});
  if (!parser.ok()) return 0;
  yoloscope::LogRecord record;
  int64_t line_number = 0;
  while (!input.empty()) {
    std::string_view line = input.TakeLine();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    (void)(*parser)->FeedLine(line, ++line_number, &record);
  }
  (void)(*parser)->Finish();
  return 0;
}
