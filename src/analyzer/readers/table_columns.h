// TableColumns: maps the header cells of a table (CSV, TSV, Markdown,
// nvidia-smi) to schema fields, in English and Chinese, with the unit the
// header names ("推理耗时(ms)", "latency [s]", "memory.used [MiB]").
//
// Matching: a header is normalised (ASCII lower-case; spaces, '_', '-', '.'
// and '/' removed; a trailing (unit) / [unit] / （单位） taken off) and looked
// up in the alias table (docs/log-schema.md lists it); failing that, a unit
// suffix is tried ("queue_time_ms" -> queue_ms in ms, "mem_gb" ->
// mem_used_mb in GB). `--map schema_field=column` wins over aliases; the
// column is named by its exact header text or its normalised form.
//
// Besides schema fields a column may be a note ("备注", "note": only used to
// spot OOM), the record type ("event", "type") or one nvidia-smi throttle
// reason flag ("clocks_throttle_reasons.hw_slowdown": "Active"/"Not Active").
//
// Thread-safety: immutable after Create; MapHeader is const. The alias
// table behind every instance is built once, thread-safely, on first Create.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analyzer/readers/reader_fields.h"
#include "analyzer/readers/table_value.h"
#include "common/status.h"

namespace yoloscope {

enum class ColumnRole {
  kIgnored,       // not a field we know
  kField,         // a schema field (`field`)
  kNote,          // free text, scanned for OOM
  kEvent,         // the record type
  kThrottleFlag,  // one nvidia-smi throttle reason (`throttle_reason`)
};

struct ColumnBinding {
  ColumnRole role = ColumnRole::kIgnored;
  const ReaderField* field = nullptr;
  ValueUnit header_unit = ValueUnit::kNone;  // from "(ms)", "[MiB]", "_ms", ...
  std::string_view throttle_reason;          // snake_case reason name
};

class TableColumns {
 public:
  // `column_map` is --map: schema field name -> column header. The pseudo
  // fields "note" and "event" are accepted too. InvalidArgument for an
  // unknown schema field.
  static StatusOr<std::unique_ptr<TableColumns>> Create(
      const std::map<std::string, std::string>& column_map);

  // The binding for one header cell by aliases only (no --map).
  ColumnBinding MapCell(std::string_view header_cell) const;

  // Binds every cell of a header row: --map first, then aliases; a field
  // claimed by an earlier column is not bound again. Appends human-readable
  // warnings (ignored columns, --map columns not found) to `warnings`.
  std::vector<ColumnBinding> MapHeader(const std::vector<std::string_view>& cells,
                                       std::vector<std::string>* warnings) const;

  // Normalised form of a header name (exposed for tests): "Queue Time (ms)"
  // -> "queuetime", with the bracketed unit text in `*unit_text`.
  static std::string Normalize(std::string_view header, std::string_view* unit_text);

 private:
  using AliasTable = std::unordered_map<std::string, ColumnBinding>;
  explicit TableColumns(const AliasTable& aliases) : aliases_(aliases) {}
  // Normalised alias -> binding; built on first use, immutable, shared by all
  // instances (never freed: read by parsers on any thread until exit).
  static const AliasTable& SharedAliases();
  ColumnBinding Lookup(const std::string& key) const;

  const AliasTable& aliases_;
  std::vector<std::pair<ColumnBinding, std::string>> map_;  // --map: binding, column
};

}  // namespace yoloscope
