// Timestamp formatting and parsing shared by the request log writer and the
// log readers. All times are UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

// 1767225600123456 -> "2026-01-01T00:00:00.123456Z" (RFC 3339, microseconds).
std::string FormatRfc3339Micros(int64_t unix_us);
// Appends the same text to `out` without allocating when capacity allows.
void AppendRfc3339Micros(int64_t unix_us, std::string* out);

// Parses RFC 3339 ("2026-01-01T00:00:00.5Z", "+08:00" offsets, space instead
// of 'T'), "YYYY-MM-DD HH:MM:SS[.fff]" (taken as UTC), and bare epoch numbers
// in s, ms, us or ns (told apart by magnitude). Returns Unix microseconds.
StatusOr<int64_t> ParseTimestampUs(std::string_view text);

// The date and time to the minute of the last timestamp read through it:
// the records of a log share them, so the next one reads only its seconds.
struct TimestampCache {
  char minute[16] = {};  // "YYYY-MM-DDTHH:MM"
  int64_t minute_us = 0;
  bool valid = false;
};

// The form the request log writes, "YYYY-MM-DDTHH:MM:SS[.f*]Z", only: true
// with the value ParseTimestampUs gives; false for any other text (it may
// still be a timestamp: ask ParseTimestampUs). `cache` may be null.
bool ParseCanonicalTimestampUs(std::string_view text, int64_t* us, TimestampCache* cache = nullptr);

}  // namespace yoloscope
