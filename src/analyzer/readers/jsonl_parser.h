// JsonlParser: parses one line of a yoloscope.v1 JSON Lines log (or any JSON
// Lines log using the schema's field names) into a LogRecord, with simdjson's
// on-demand API (plain lines -- a flat object without escapes, ASCII -- by a
// scalar fast path with the same result). Fields are dispatched by key through
// a small hash table, so field order does not matter and unknown fields are
// skipped.
//
// Rules (docs/log-schema.md):
//   - "event" picks the RecordKind ("request", "batch", "gpu", "alert"; other
//     values give kOther); a record without "event" is taken as a request;
//   - null or absent values stay unknown (empty optional / empty view);
//   - "ts" may be an RFC 3339 string or an epoch number (s/ms/us/ns);
//   - integers written as integral floats ("4.0") are accepted;
//   - a value of the wrong type leaves that field unknown and is reported as
//     a field error, the record is still delivered;
//   - a line that is not a JSON object (syntax error, truncated line, array,
//     trailing garbage) is malformed and yields no record.
//
// Lifetime: string_views written into the record point into the parser's
// internal buffers or the input line and are valid until the next Parse call.
// Allocation: none per line once warmed up (errors format a message).
// Thread-safety: not thread-safe; use one parser per thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "analyzer/readers/reader_fields.h"
#include "common/status.h"
#include "reqlog/log_record.h"

namespace yoloscope {

class JsonlParser {
 public:
  // Bytes that must be readable (any content) after the end of every line
  // handed to Parse (simdjson's SIMDJSON_PADDING).
  static constexpr size_t kPadding = 64;

  enum class Outcome {
    kRecord,     // `record` holds a record (maybe with field errors).
    kBlank,      // an empty or whitespace-only line; no record.
    kMalformed,  // not a JSON object; no record; `why()` tells.
  };

  // `key_map` (--map) adds JSON keys for schema fields: schema field name ->
  // key ("total_ms" -> "latency"). InvalidArgument for an unknown field.
  static StatusOr<std::unique_ptr<JsonlParser>> Create(
      const std::map<std::string, std::string>& key_map = {});
  ~JsonlParser();

  JsonlParser(const JsonlParser&) = delete;
  JsonlParser& operator=(const JsonlParser&) = delete;

  // Parses `line` (without its newline). `capacity` >= line.size() + kPadding
  // bytes starting at line.data() must be readable. Clears and fills `record`
  // (but leaves record->source / record->line to the caller).
  Outcome Parse(std::string_view line, size_t capacity, LogRecord* record);

  // After kMalformed: why. After kRecord: non-empty when some field had the
  // wrong type (the first such field). Valid until the next Parse.
  std::string_view why() const { return why_; }
  bool had_field_error() const { return field_error_; }
  // After kRecord: the record's "schema" was present and is not a
  // yoloscope.v1 version (a newer major version or another schema).
  bool foreign_schema() const { return foreign_schema_; }

  // On (the default): plain lines (a flat object, no escapes, ASCII) are read
  // by a scalar fast path, the rest by simdjson; the result is the same. Off:
  // simdjson alone (for the tests that compare the two).
  void set_fast_path(bool on) { fast_path_ = on; }

 private:
  struct Impl;
  explicit JsonlParser(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  const LogRecord blank_;  // copied over the record: cheaper than Clear()
  std::string why_;
  bool field_error_ = false;
  bool foreign_schema_ = false;
  bool fast_path_ = true;
};

}  // namespace yoloscope
