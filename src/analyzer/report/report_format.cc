#include "analyzer/report/report_format.h"

#include <fmt/format.h>

#include <cmath>

#include "common/time_format.h"

namespace yoloscope {

double StableValue(double v) {
  if (!std::isfinite(v) || v == 0) return v;
  const int digits = static_cast<int>(std::ceil(std::log10(std::fabs(v))));
  if (digits > 300 || digits < -290) return v;  // 10^k would overflow or underflow
  // v * mag holds 12 digits, far below 2^53: exact as an integer.
  const double mag = std::pow(10.0, 12 - digits);
  return std::round(v * mag) / mag;
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "n/a";
  v = StableValue(v);
  const double a = std::fabs(v);
  if (a >= 100 || a == std::floor(a)) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string FormatMs(double ms) {
  if (std::fabs(ms) >= 1000) return FormatNumber(ms / 1000.0) + " s";
  return FormatNumber(ms) + " ms";
}

std::string FormatPercent(double f) {
  const double p = StableValue(f * 100.0);
  if (p > 0 && p < 1) return fmt::format("{:.2g}%", p);
  return fmt::format("{:.0f}%", p);
}

std::string FormatTime(int64_t ts_us) {
  std::string s = FormatRfc3339Micros(ts_us);
  // "2026-01-01T00:00:05.123456Z" -> drop the microseconds when they are 0,
  // else keep milliseconds.
  const size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  if (s.compare(dot + 1, 6, "000000") == 0) return s.substr(0, dot) + "Z";
  return s.substr(0, dot + 4) + "Z";
}

std::string FormatOffset(int64_t ts_us, int64_t origin_us) {
  return "t+" + FormatNumber(static_cast<double>(ts_us - origin_us) / 1e6) + "s";
}

}  // namespace yoloscope
