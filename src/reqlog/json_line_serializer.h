// JSON Lines serializer for the request-log schema `yoloscope.v1`
// (docs/log-schema.md). Hand-written for the serving hot path.
//
// Each AppendJsonLine appends exactly one line: a JSON object starting with
// {"event":...,"schema":"yoloscope.v1","ts":"<RFC 3339 UTC, microseconds>"}
// and ending with '}' '\n'. Field order is fixed (the order of the schema
// tables in docs/log-schema.md).
//
// Conventions:
//   - an empty optional / empty error string is omitted (absent = unknown);
//     `gpu_id` is the exception: written as null when empty, so a reader sees
//     "not on a GPU / unknown" explicitly; non-finite doubles are omitted;
//   - times (ms) are written with at most 3 decimals (microsecond resolution),
//     memory (MB), utilisation (%), clocks, temperature, power and PCIe rates
//     with at most 1 decimal; trailing zeros are trimmed ("12.5", "7");
//   - strings are escaped per RFC 8259 (quote, backslash, control characters
//     as \n \t ... or \u00XX); invalid UTF-8 bytes become U+FFFD so that every
//     line is valid UTF-8 JSON;
//   - `dropped_records` is written only when > 0.
//
// Speed (the serving hot path, bench/reqlog/request_log_bench.cc): the line
// is written straight into `out`'s characters (grown ahead of each member,
// trimmed at the end), numbers without printf, and the timestamp's
// "YYYY-MM-DDTHH:MM:SS" prefix formatted once per second per thread. The
// bytes are those of the first, printf-based version (checked against a copy
// of it in tests/reqlog).
//
// Allocation: nothing beyond growing `out`, which may grow a few hundred
// bytes past the final line while writing (callers that reuse `out` and keep
// its capacity allocate nothing). Thread-safety: any number of threads (the
// timestamp cache is thread-local).
#pragma once

#include <string>
#include <string_view>

#include "reqlog/log_records.h"

namespace yoloscope {

void AppendJsonLine(const RequestLogRecord& record, std::string* out);
void AppendJsonLine(const BatchLogRecord& record, std::string* out);
void AppendJsonLine(const GpuLogRecord& record, std::string* out);
void AppendJsonLine(const StreamLogRecord& record, std::string* out);
void AppendJsonLine(const ConfigLogRecord& record, std::string* out);

// Appends `text` as a quoted, escaped JSON string (see the rules above).
void AppendJsonString(std::string_view text, std::string* out);

// Appends `value` rounded to at most `decimals` (0..6) decimals with trailing
// zeros trimmed; "null" when `value` is not finite.
void AppendJsonNumber(double value, int decimals, std::string* out);

}  // namespace yoloscope
