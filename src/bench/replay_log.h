// ReplayLog: the arrivals of a yoloscope.v1 request log (JSON lines, see
// docs/log-schema.md), for `yoloscope bench --replay LOG`.
//
// Reads the `request` records (`"event":"request"`, or no `event` at all, as
// the schema says) and keeps each one's arrival time `ts` and, when present,
// the decoded image size `input_w` x `input_h`. Other record types, blank
// lines and lines that are not JSON objects are skipped (counted). Records
// are sorted by `ts` (the writer logs at completion, so the file is not in
// arrival order) and offsets are relative to the earliest arrival.
//
// Deliberately independent of src/analyzer: it needs three fields only.
// Thread-safety: value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/arrival_schedule.h"
#include "common/status.h"

namespace yoloscope {

class ReplayLog {
 public:
  // NotFound when the file is missing; InvalidArgument when it holds no
  // request record with a readable `ts`.
  static StatusOr<ReplayLog> Load(const std::string& path);
  // Same from the text of a log (one JSON object a line).
  static StatusOr<ReplayLog> Parse(std::string_view text);

  // Sorted by offset; offsets in nanoseconds since the first arrival.
  const std::vector<Arrival>& arrivals() const { return arrivals_; }
  // Lines that were not request records with a readable `ts`.
  int64_t skipped_lines() const { return skipped_lines_; }
  // Time from the first to the last arrival, nanoseconds.
  int64_t span_ns() const { return arrivals_.empty() ? 0 : arrivals_.back().offset_ns; }

 private:
  std::vector<Arrival> arrivals_;
  int64_t skipped_lines_ = 0;
};

}  // namespace yoloscope
