// TableParser: turns the lines of a table (CSV per RFC 4180, TSV, a
// Markdown / pipe table, or nvidia-smi --format=csv output) into LogRecords,
// one physical line at a time.
//
//   - The first non-blank line (not starting with '#') is the header
//     (TableColumns maps it); for Markdown, the first line with a '|'
//     followed by a |---| rule; text around a Markdown table is skipped and
//     a later table starts over with its own header.
//   - Cells: units in the header or the value are converted to the schema
//     unit; "3980 (OOM!)" gives 3980 and oom=true; N/A-like cells are
//     unknown; timestamps in RFC 3339, "YYYY-MM-DD HH:MM:SS[.fff]",
//     "YYYY/MM/DD HH:MM:SS[.fff]" (nvidia-smi) or epoch s/ms/us/ns (the
//     header unit, when given, says which); "cuda:1" / "GPU 1" give gpu_id 1.
//   - Record kind: nvidia-smi rows are `gpu` samples; an "event"/"type"
//     column gives the kind per row; otherwise a table whose columns are all
//     GPU telemetry (gpu_util, memory, clocks, ...) gives `gpu` samples and
//     any other table gives `request`s. A row without a timestamp still
//     counts (ts unknown).
//   - A quoted CSV field may span lines (kNeedMore until it closes).
//   - Malformed rows (a single cell where the header has several, more
//     non-empty cells than header columns, an unterminated quote at the end)
//     yield no record; a cell that cannot be read leaves its field unknown
//     and is reported as a field error. A table none of whose columns maps
//     to a field yields no records (a warning says so).
//
// Lifetime: the record's string_views point into `line` or the parser's
// buffers; valid until the next FeedLine.
// Thread-safety: not thread-safe; one parser per table.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/readers/reader_format.h"
#include "analyzer/readers/table_columns.h"
#include "common/status.h"
#include "reqlog/log_record.h"

namespace yoloscope {

class TableParser {
 public:
  enum class Outcome {
    kRecord,     // `record` holds a row (maybe with field errors).
    kHeader,     // the line was a header row; no record.
    kSkip,       // blank, comment, |---| rule or text outside a table.
    kMalformed,  // a bad row; `why()` tells.
    kNeedMore,   // inside a quoted multi-line CSV field.
  };

  // `format` is kCsv, kTsv, kMarkdown or kNvidiaSmi; `column_map` is --map.
  static StatusOr<std::unique_ptr<TableParser>> Create(
      InputFormat format, const std::map<std::string, std::string>& column_map);

  // Feeds one physical line without its newline; `line_number` is its
  // 1-based number. Clears and fills `record` for kRecord (record->line is
  // the row's first line; record->source is left to the caller).
  Outcome FeedLine(std::string_view line, int64_t line_number, LogRecord* record);

  // Call at the end of the input: an unterminated quoted field left over is
  // reported as kMalformed (else kSkip).
  Outcome Finish();

  // After kMalformed: why. After kRecord: the first field error, if any.
  std::string_view why() const { return why_; }
  bool had_field_error() const { return field_error_; }
  // Line number that `why()` refers to.
  int64_t why_line() const { return row_line_; }
  // Warnings about headers seen since the last call (ignored columns,
  // --map columns not found). Moves them out.
  std::vector<std::string> TakeWarnings();
  bool has_header() const { return !bindings_.empty(); }

 private:
  TableParser(InputFormat format, std::unique_ptr<TableColumns> columns);

  // Splits `row` into cells_; false when a CSV quote is still open.
  bool SplitRow(std::string_view row);
  void SplitCsv(std::string_view row, char delimiter, bool* open_quote);
  void SplitMarkdown(std::string_view row);
  Outcome TakeHeader(int64_t line_number);
  Outcome BuildRecord(LogRecord* record);
  void SetField(const ColumnBinding& binding, std::string_view cell, LogRecord* record);
  void FieldError(std::string_view column, std::string_view what);

  InputFormat format_;
  std::unique_ptr<TableColumns> columns_;
  std::vector<ColumnBinding> bindings_;  // per header column; empty = no header yet.
  std::vector<std::string> header_names_;
  bool gpu_table_ = false;  // every bound column is GPU telemetry.
  bool has_event_column_ = false;
  bool any_bound_ = false;      // some column maps to a field
  bool expect_rule_ = false;    // Markdown: the header waits for its |---| rule.
  std::string pending_header_;  // Markdown: the candidate header line.
  int64_t pending_header_line_ = 0;

  std::vector<std::string_view> cells_;
  std::string pending_;  // a CSV row continued over several lines.
  bool in_pending_ = false;
  int64_t row_line_ = 0;
  std::string scratch_;   // unescaped cells; reserved per row, never reallocated within a row.
  std::string throttle_;  // reason names decoded from an .active mask (this row)
  std::string throttle_flags_;  // reason names from per-reason columns (this row)
  std::string why_;
  bool field_error_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace yoloscope
