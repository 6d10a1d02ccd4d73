// TableValue: one cell of a table (CSV/TSV/Markdown/nvidia-smi) split into
// a number, its unit and a trailing note: "12.5ms", "0.8 s", "4096 MiB",
// "85 %", "3980 (OOM!)", and the unit conversions to the schema units.
//
// Units (case-insensitive; also in headers such as "推理耗时(ms)"):
//   time:    ns, us/µs/μs, ms, s/sec/seconds, min; 纳秒 微秒 毫秒 秒 分钟
//   memory:  B/bytes, KB/KiB, MB/MiB, GB/GiB, TB/TiB; all binary (1 GB =
//            1024 MB, 1 MB = 2^20 bytes): GPU tools report MiB as "MB".
//   others:  %, MHz/GHz, W/mW, C/°C/℃, MB/s (MiB/s), GB/s, KB/s.
//
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "analyzer/readers/reader_fields.h"

namespace yoloscope {

enum class ValueUnit {
  kNone,
  kNs,
  kUs,
  kMs,
  kS,
  kMin,
  kBytes,
  kKb,
  kMb,
  kGb,
  kTb,
  kPercent,
  kMhz,
  kGhz,
  kWatts,
  kMilliwatts,
  kCelsius,
  kKbPerSec,
  kMbPerSec,
  kGbPerSec,
};

struct TableValue {
  std::optional<double> number;  // empty when the cell has no leading number.
  ValueUnit unit = ValueUnit::kNone;
  std::string_view unit_text;  // the unit as written ("ms"), empty if none.
  std::string_view note;       // text after the number and unit, trimmed of
                               // spaces and one pair of (), [] or （）.
};

// Splits `cell` (already trimmed) into number, unit and note. A cell
// without a leading number gives an empty `number` and the whole text in
// `note`. Thousands separators are not supported ("1,234" is 1 + note).
TableValue ParseTableValue(std::string_view cell);

// The unit named by `text` ("ms", "MiB", "%", "毫秒"); kNone when unknown.
ValueUnit ParseValueUnit(std::string_view text);

// Converts `value` in `from` to the schema unit `to`; kNone means "already
// in the schema unit". Empty when the units are of different kinds
// (a "%" value for a millisecond field).
std::optional<double> ConvertToFieldUnit(double value, ValueUnit from, FieldUnit to);

// "", "-", "N/A", "[N/A]", "[Not Supported]", "null", "none", "nan",
// "unknown", "未知" ... : a cell that means "not known".
bool IsMissingValue(std::string_view cell);

// Whether a note, status or error text says out-of-memory ("OOM!",
// "CUDA out of memory", "显存不足", "显存溢出", ...).
bool MentionsOom(std::string_view text);

// Trims ASCII spaces/tabs/CR (and the UTF-8 no-break space) at both ends.
std::string_view TrimCell(std::string_view text);

}  // namespace yoloscope
