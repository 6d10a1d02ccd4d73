// Fuzzes the table readers of `analyze` (TableParser): CSV, TSV and
// Markdown tables with English or Chinese headers (the first byte picks the
// format), fed line by line as LogReader does (a trailing '\r' removed), then
// Finish. Seeds carry both header languages, units and quoted multi-line
// cells.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "analyzer/readers/reader_format.h"
#include "analyzer/readers/table_parser.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using yoloscope::InputFormat;
  using yoloscope::TableParser;
  yoloscope::fuzz::FuzzInput input(data, size);
  static constexpr InputFormat kFormats[] = {InputFormat::kCsv, InputFormat::kTsv,
                                             InputFormat::kMarkdown};
  const uint8_t mode = input.TakeByte();
  std::map<std::string, std::string> column_map;
  if (mode & 4) column_map = {{"total_ms", "latency"}, {"inference_ms", "耗时"}};
  auto parser = TableParser::Create(kFormats[mode % 3], column_map);
  yoloscope::fuzz::Check(parser.ok(), "TableParser::Create failed");
  yoloscope::LogRecord record;
  int64_t line_number = 0;
  while (!input.empty()) {
    std::string_view line = input.TakeLine();
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto outcome = (*parser)->FeedLine(line, ++line_number, &record);
    if (outcome == TableParser::Outcome::kMalformed) {
      yoloscope::fuzz::Check(!(*parser)->why().empty(), "malformed without a reason");
    }
  }
  (void)(*parser)->Finish();
  (void)(*parser)->TakeWarnings();
  return 0;
}
