// Number and time formatting shared by the rules' sentences and the report
// writers, so that every format rounds the same way. Pure functions.
#pragma once

#include <cstdint>
#include <string>

namespace yoloscope {

// `v` rounded to 12 significant digits: without the noise of its last bits.
// Means and rates come from floating sums, and a sum added up in another
// order (another --threads, another split of the log) differs in those bits;
// a value halfway between two printed roundings (70.125 shown with two
// decimals) would then print one way or the other. Every formatter below,
// and the JSON writer's rounding, starts from this.
double StableValue(double v);

// 3 significant digits-ish: "1234", "12.3", "1.23", "0.123".
std::string FormatNumber(double v);
std::string FormatMs(double ms);        // "12.3 ms", "1.25 s".
std::string FormatPercent(double f);    // 0.123 -> "12%".
std::string FormatTime(int64_t ts_us);  // "2026-01-01T00:00:05Z" (no micros).
// "t+12.5s" offsets for clocks without an epoch.
std::string FormatOffset(int64_t ts_us, int64_t origin_us);

}  // namespace yoloscope
