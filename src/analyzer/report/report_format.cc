#include "analyzer/report/report_format.h"

#include <fmt/format.h>

#include <cmath>

#include "common/time_format.h"

namespace yoloscope {

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "n/a";
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
  const double p = f * 100.0;
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
