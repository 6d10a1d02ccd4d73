#include "analyzer/readers/table_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "analyzer/readers/nvidia_smi_throttle.h"
#include "analyzer/readers/table_value.h"
#include "common/time_format.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace ls = logschema;

constexpr size_t kMaxPendingRowBytes = 1 << 20;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

bool IsMarkdownRule(std::string_view line) {
  if (line.find('-') == std::string_view::npos) return false;
  return std::all_of(line.begin(), line.end(), [](char c) {
    return c == '|' || c == '-' || c == ':' || c == ' ' || c == '\t';
  });
}

bool IsGpuTelemetryField(std::string_view name) {
  for (std::string_view f : {ls::kTs, ls::kGpuId, ls::kDevice, ls::kGpuUtil, ls::kMemUsedMb,
                             ls::kMemTotalMb, ls::kMemOtherProcessesMb, ls::kSmClockMhz, ls::kTempC,
                             ls::kPowerW, ls::kPcieTxMbs, ls::kPcieRxMbs, ls::kThrottleReasons}) {
    if (name == f) return true;
  }
  return false;
}

bool IsSuccessStatus(std::string_view s) {
  for (std::string_view ok :
       {"ok", "success", "succeeded", "successful", "200", "\xE6\x88\x90\xE5\x8A\x9F" /* 成功 */,
        "\xE6\xAD\xA3\xE5\xB8\xB8" /* 正常 */}) {
    if (EqualsIgnoreCase(s, ok)) return true;
  }
  return false;
}

// Epoch microseconds for a plain number in a time unit, else empty.
std::optional<int64_t> EpochWithUnit(std::string_view cell, ValueUnit unit) {
  double factor;
  switch (unit) {
    case ValueUnit::kS:
      factor = 1e6;
      break;
    case ValueUnit::kMs:
      factor = 1e3;
      break;
    case ValueUnit::kUs:
      factor = 1;
      break;
    case ValueUnit::kNs:
      factor = 1e-3;
      break;
    default:
      return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
  if (ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  return static_cast<int64_t>(std::llround(v * factor));
}

}  // namespace

TableParser::TableParser(InputFormat format, std::unique_ptr<TableColumns> columns)
    : format_(format), columns_(std::move(columns)) {}

StatusOr<std::unique_ptr<TableParser>> TableParser::Create(
    InputFormat format, const std::map<std::string, std::string>& column_map) {
  if (format != InputFormat::kCsv && format != InputFormat::kTsv &&
      format != InputFormat::kMarkdown && format != InputFormat::kNvidiaSmi) {
    return InvalidArgumentError("TableParser: not a table format: " +
                                std::string(InputFormatName(format)));
  }
  YS_ASSIGN_OR_RETURN(auto columns, TableColumns::Create(column_map));
  return std::unique_ptr<TableParser>(new TableParser(format, std::move(columns)));
}

std::vector<std::string> TableParser::TakeWarnings() {
  std::vector<std::string> out;
  out.swap(warnings_);
  return out;
}

void TableParser::FieldError(std::string_view column, std::string_view what) {
  if (field_error_) return;
  field_error_ = true;
  why_.assign("column '");
  why_.append(column);
  why_.append("': ");
  why_.append(what);
}

void TableParser::SplitCsv(std::string_view row, char delimiter, bool* open_quote) {
  *open_quote = false;
  const size_t n = row.size();
  size_t i = 0;
  while (true) {
    size_t j = i;
    while (j < n && (row[j] == ' ' || (row[j] == '\t' && delimiter != '\t'))) ++j;
    std::string_view cell;
    if (j < n && row[j] == '"') {
      const size_t start = scratch_.size();
      ++j;
      bool closed = false;
      while (j < n) {
        if (row[j] == '"') {
          if (j + 1 < n && row[j + 1] == '"') {
            scratch_.push_back('"');
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        scratch_.push_back(row[j]);
        ++j;
      }
      if (!closed) {
        *open_quote = true;
        return;
      }
      cell = std::string_view(scratch_).substr(start);
      while (j < n && row[j] != delimiter) ++j;  // text after the closing quote is dropped.
    } else {
      const size_t end = row.find(delimiter, i);
      j = end == std::string_view::npos ? n : end;
      cell = row.substr(i, j - i);
    }
    cells_.push_back(cell);
    if (j >= n) break;
    i = j + 1;
    if (i == n) {  // a trailing delimiter: one more (empty) cell.
      cells_.push_back(std::string_view());
      break;
    }
  }
}

void TableParser::SplitMarkdown(std::string_view row) {
  row = TrimCell(row);
  if (!row.empty() && row.front() == '|') row.remove_prefix(1);
  if (!row.empty() && row.back() == '|' && (row.size() < 2 || row[row.size() - 2] != '\\')) {
    row.remove_suffix(1);
  }
  size_t start = 0;
  bool escaped = false;
  for (size_t i = 0; i <= row.size(); ++i) {
    if (i < row.size() && row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      escaped = true;
      ++i;
      continue;
    }
    if (i < row.size() && row[i] != '|') continue;
    std::string_view cell = row.substr(start, i - start);
    if (escaped) {  // "\|" -> "|"
      const size_t begin = scratch_.size();
      for (size_t k = 0; k < cell.size(); ++k) {
        if (cell[k] == '\\' && k + 1 < cell.size() && cell[k + 1] == '|') continue;
        scratch_.push_back(cell[k]);
      }
      cell = std::string_view(scratch_).substr(begin);
      escaped = false;
    }
    cells_.push_back(cell);
    start = i + 1;
  }
}

bool TableParser::SplitRow(std::string_view row) {
  cells_.clear();
  scratch_.clear();
  scratch_.reserve(row.size() + 1);  // cells never outgrow the row: views stay valid.
  if (format_ == InputFormat::kMarkdown) {
    SplitMarkdown(row);
    return true;
  }
  bool open_quote = false;
  SplitCsv(row, format_ == InputFormat::kTsv ? '\t' : ',', &open_quote);
  return !open_quote;
}

TableParser::Outcome TableParser::TakeHeader(int64_t line_number) {
  header_names_.assign(cells_.begin(), cells_.end());
  std::vector<std::string> warnings;
  bindings_ = columns_->MapHeader(cells_, &warnings);
  for (std::string& w : warnings) {
    warnings_.push_back("header at line " + std::to_string(line_number) + ": " + w);
  }
  has_event_column_ = false;
  bool any_bound = false;
  bool all_gpu = true;
  bool any_gpu_only = false;
  for (const ColumnBinding& b : bindings_) {
    if (b.role == ColumnRole::kIgnored) continue;
    any_bound = true;
    if (b.role == ColumnRole::kEvent) has_event_column_ = true;
    if (b.role == ColumnRole::kThrottleFlag) {
      any_gpu_only = true;
    } else if (b.role == ColumnRole::kField) {
      if (!IsGpuTelemetryField(b.field->name)) {
        all_gpu = false;
      } else if (b.field->name != ls::kTs && b.field->name != ls::kGpuId &&
                 b.field->name != ls::kDevice) {
        any_gpu_only = true;
      }
    } else {
      all_gpu = false;
    }
  }
  gpu_table_ = format_ == InputFormat::kNvidiaSmi || (all_gpu && any_gpu_only);
  any_bound_ = any_bound;
  if (!any_bound) {
    warnings_.push_back("header at line " + std::to_string(line_number) +
                        ": no column matches a schema field (use --map field=column)");
  }
  return Outcome::kHeader;
}

TableParser::Outcome TableParser::FeedLine(std::string_view line, int64_t line_number,
                                           LogRecord* record) {
  why_.clear();
  field_error_ = false;
  std::string_view row = line;
  if (in_pending_) {
    pending_.push_back('\n');
    pending_.append(line);
    row = pending_;
  } else {
    row_line_ = line_number;
    if (line_number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    row = line;
    const std::string_view trimmed = TrimCell(line);
    if (trimmed.empty()) {
      if (format_ == InputFormat::kMarkdown) {  // a blank line ends a Markdown table.
        bindings_.clear();
        expect_rule_ = false;
      }
      return Outcome::kSkip;
    }
    if (bindings_.empty() && trimmed.front() == '#') return Outcome::kSkip;
    if (format_ == InputFormat::kMarkdown) {
      if (bindings_.empty()) {
        if (expect_rule_ && IsMarkdownRule(trimmed)) {
          expect_rule_ = false;
          cells_.clear();
          scratch_.clear();
          scratch_.reserve(pending_header_.size() + 1);
          SplitMarkdown(pending_header_);
          return TakeHeader(pending_header_line_);
        }
        expect_rule_ = trimmed.find('|') != std::string_view::npos;
        if (expect_rule_) {
          pending_header_.assign(trimmed);
          pending_header_line_ = line_number;
        }
        return Outcome::kSkip;
      }
      if (IsMarkdownRule(trimmed)) return Outcome::kSkip;
      if (trimmed.find('|') == std::string_view::npos) {  // text after the table.
        bindings_.clear();
        return Outcome::kSkip;
      }
    }
  }

  if (!SplitRow(row)) {
    if (!in_pending_) {
      pending_.assign(line);
      in_pending_ = true;
    }
    if (pending_.size() > kMaxPendingRowBytes) {
      in_pending_ = false;
      pending_.clear();
      why_.assign("unterminated quoted field (row longer than 1 MiB)");
      return Outcome::kMalformed;
    }
    return Outcome::kNeedMore;
  }
  in_pending_ = false;
  if (bindings_.empty()) return TakeHeader(row_line_);
  return BuildRecord(record);
}

TableParser::Outcome TableParser::Finish() {
  if (!in_pending_) return Outcome::kSkip;
  in_pending_ = false;
  pending_.clear();
  why_.assign("unterminated quoted field at the end of the input");
  return Outcome::kMalformed;
}

TableParser::Outcome TableParser::BuildRecord(LogRecord* record) {
  record->Clear();
  bool all_empty = true;
  for (std::string_view c : cells_) {
    if (!TrimCell(c).empty()) {
      all_empty = false;
      break;
    }
  }
  if (all_empty || !any_bound_) return Outcome::kSkip;  // nothing to read in this table
  const size_t columns = bindings_.size();
  if (cells_.size() == 1 && columns >= 3) {
    why_.assign("expected " + std::to_string(columns) + " columns, got 1");
    return Outcome::kMalformed;
  }
  if (cells_.size() > columns) {
    for (size_t i = columns; i < cells_.size(); ++i) {
      if (!TrimCell(cells_[i]).empty()) {
        why_.assign("expected " + std::to_string(columns) + " columns, got " +
                    std::to_string(cells_.size()));
        return Outcome::kMalformed;
      }
    }
  }
  record->kind = gpu_table_ ? RecordKind::kGpu : RecordKind::kRequest;
  record->line = row_line_;
  throttle_.clear();
  throttle_flags_.clear();
  bool throttle_flags = false;
  const size_t n = std::min(columns, cells_.size());
  for (size_t i = 0; i < n; ++i) {
    const ColumnBinding& b = bindings_[i];
    if (b.role == ColumnRole::kThrottleFlag) {
      const std::string_view cell = TrimCell(cells_[i]);
      if (IsMissingValue(cell)) continue;
      throttle_flags = true;
      if (EqualsIgnoreCase(cell, "active")) {
        if (!throttle_flags_.empty()) throttle_flags_.push_back(',');
        throttle_flags_.append(b.throttle_reason);
      }
      continue;
    }
    SetField(b, cells_[i], record);
  }
  if (throttle_flags && record->throttle_reasons.data() == nullptr) {
    // Per-reason columns (the .active mask wins when both are given); an
    // all-"Not Active" row gives "" (known: none active).
    record->throttle_reasons = std::string_view(throttle_flags_.data(), throttle_flags_.size());
  }
  return Outcome::kRecord;
}

void TableParser::SetField(const ColumnBinding& b, std::string_view cell, LogRecord* record) {
  cell = TrimCell(cell);
  switch (b.role) {
    case ColumnRole::kIgnored:
    case ColumnRole::kThrottleFlag:
      return;
    case ColumnRole::kNote:
      if (MentionsOom(cell)) record->oom = true;
      return;
    case ColumnRole::kEvent:
      if (EqualsIgnoreCase(cell, ls::kEventRequest)) {
        record->kind = RecordKind::kRequest;
      } else if (EqualsIgnoreCase(cell, ls::kEventBatch)) {
        record->kind = RecordKind::kBatch;
      } else if (EqualsIgnoreCase(cell, ls::kEventGpu)) {
        record->kind = RecordKind::kGpu;
      } else if (EqualsIgnoreCase(cell, ls::kEventAlert)) {
        record->kind = RecordKind::kAlert;
      } else if (!cell.empty()) {
        record->kind = RecordKind::kOther;
      }
      return;
    case ColumnRole::kField:
      break;
  }
  if (IsMissingValue(cell)) return;
  const ReaderField& f = *b.field;
  const size_t column = static_cast<size_t>(&b - bindings_.data());
  const std::string_view column_name =
      column < header_names_.size() ? std::string_view(header_names_[column]) : f.name;

  switch (f.type) {
    case FieldType::kEvent:
    case FieldType::kSchema:
      return;
    case FieldType::kString: {
      if (f.name == ls::kStatus) {
        if (MentionsOom(cell)) record->oom = true;
        record->status = IsSuccessStatus(cell) ? ls::kStatusOk : cell;
        return;
      }
      if (f.name == ls::kError && MentionsOom(cell)) record->oom = true;
      if (f.name == ls::kThrottleReasons) {
        if (std::optional<uint64_t> mask = ParseThrottleMask(cell)) {
          throttle_.clear();
          AppendThrottleReasonNames(*mask, &throttle_);
          record->throttle_reasons = std::string_view(throttle_.data(), throttle_.size());
          return;
        }
      }
      record->*(f.string_member) = cell;
      return;
    }
    case FieldType::kTimestamp: {
      if (std::optional<int64_t> us = EpochWithUnit(cell, b.header_unit)) {
        record->ts_us = *us;
        return;
      }
      char buf[64];
      std::string_view text = cell;
      if (cell.size() >= 10 && cell.size() < sizeof(buf) && cell[4] == '/' && cell[7] == '/') {
        std::memcpy(buf, cell.data(), cell.size());  // nvidia-smi "2026/01/01 12:00:00.123"
        buf[4] = '-';
        buf[7] = '-';
        text = std::string_view(buf, cell.size());
      }
      StatusOr<int64_t> ts = ParseTimestampUs(text);
      if (ts.ok()) {
        record->ts_us = *ts;
      } else {
        FieldError(column_name, ts.status().message());
      }
      return;
    }
    case FieldType::kBool: {
      for (std::string_view t : {"true", "yes", "y", "1", "\xE6\x98\xAF" /* 是 */}) {
        if (EqualsIgnoreCase(cell, t)) {
          record->*(f.bool_member) = true;
          return;
        }
      }
      for (std::string_view t : {"false", "no", "n", "0", "\xE5\x90\xA6" /* 否 */}) {
        if (EqualsIgnoreCase(cell, t)) {
          record->*(f.bool_member) = false;
          return;
        }
      }
      if (MentionsOom(cell)) {
        record->*(f.bool_member) = true;
        return;
      }
      FieldError(column_name, "expected true or false, got '" + std::string(cell) + "'");
      return;
    }
    case FieldType::kInt:
    case FieldType::kDouble: {
      TableValue v = ParseTableValue(cell);
      if (!v.number && f.type == FieldType::kInt) {
        // "cuda:1", "GPU 1", "#3": the first run of digits.
        const size_t d = cell.find_first_of("0123456789");
        if (d != std::string_view::npos) {
          size_t e = d;
          while (e < cell.size() && cell[e] >= '0' && cell[e] <= '9') ++e;
          if (e == cell.size()) v = ParseTableValue(cell.substr(d));
        }
      }
      if (!v.number) {
        FieldError(column_name, "not a number: '" + std::string(cell) + "'");
        return;
      }
      if (MentionsOom(v.note)) record->oom = true;
      const ValueUnit unit = v.unit != ValueUnit::kNone ? v.unit : b.header_unit;
      std::optional<double> value = ConvertToFieldUnit(*v.number, unit, f.unit);
      if (!value) {
        FieldError(column_name, "unit '" +
                                    std::string(v.unit_text.empty() ? "(header)" : v.unit_text) +
                                    "' does not fit " + std::string(f.name));
        return;
      }
      if (f.type == FieldType::kDouble) {
        record->*(f.double_member) = *value;
      } else {
        record->*(f.int_member) = static_cast<int64_t>(std::llround(*value));
      }
      return;
    }
  }
}

}  // namespace yoloscope
