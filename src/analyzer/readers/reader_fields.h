// ReaderField: the schema fields a reader can fill, with their type, unit and
// LogRecord member. One table shared by the JSONL parser (key dispatch), the
// table reader (column aliases, unit conversion) and `--map` validation.
//
// Header plus a constexpr table in reader_fields.cc; thread-safe (read-only).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "reqlog/log_record.h"

namespace yoloscope {

// What a field holds, and so how a value is parsed.
enum class FieldType {
  kString,     // text (request_id, model, status, ...)
  kInt,        // integer (gpu_id, batch_size, ...)
  kDouble,     // number in the field's unit
  kBool,       // oom
  kTimestamp,  // ts
  kEvent,      // the record type ("event")
  kSchema,     // the schema version ("schema")
};

// The schema unit of a numeric field: table values carrying another unit are
// converted to it.
enum class FieldUnit {
  kNone,
  kMs,       // milliseconds
  kMb,       // MB = 2^20 bytes
  kPercent,  // 0..100
  kMhz,
  kCelsius,
  kWatts,
  kMbPerSec,  // MB/s
  kBytes,     // bytes (input_bytes)
};

struct ReaderField {
  std::string_view name;  // the schema name (docs/log-schema.md)
  FieldType type;
  FieldUnit unit = FieldUnit::kNone;
  // Exactly one of these is set for value fields (none for ts/event/schema).
  std::optional<double> LogRecord::*double_member = nullptr;
  std::optional<int64_t> LogRecord::*int_member = nullptr;
  std::string_view LogRecord::*string_member = nullptr;
  std::optional<bool> LogRecord::*bool_member = nullptr;
};

// All fields of schema yoloscope.v1 a LogRecord can hold.
std::span<const ReaderField> AllReaderFields();

// The field named exactly `name`, or nullptr.
const ReaderField* FindReaderField(std::string_view name);

}  // namespace yoloscope
