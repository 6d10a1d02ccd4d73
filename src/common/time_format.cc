#include "common/time_format.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace yoloscope {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
// civil-from-days algorithm, in its inverse form).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

bool ReadInt(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

void AppendRfc3339Micros(int64_t unix_us, std::string* out) {
  int64_t secs = unix_us >= 0 ? unix_us / 1000000 : -((-unix_us + 999999) / 1000000);
  int64_t micros = unix_us - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t sod = secs - days * 86400;
  int y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d,
                        static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                        static_cast<int>(sod % 60), static_cast<int>(micros));
  out->append(buf, static_cast<size_t>(n));
}

std::string FormatRfc3339Micros(int64_t unix_us) {
  std::string s;
  s.reserve(27);
  AppendRfc3339Micros(unix_us, &s);
  return s;
}

bool ParseCanonicalTimestampUs(std::string_view text, int64_t* us, TimestampCache* cache) {
  const size_t n = text.size();
  if (n < 20) return false;
  const char* s = text.data();
  int64_t minute_us = 0;
  if (cache != nullptr && cache->valid && std::memcmp(s, cache->minute, 16) == 0) {
    minute_us = cache->minute_us;
  } else {
    // "YYYY-MM-DDTHH:MM", checked as the general path checks it.
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':') return false;
    static constexpr int kDigitAt[12] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15};
    unsigned v[12];
    unsigned bad = 0;
    for (int i = 0; i < 12; ++i) {
      v[i] = static_cast<unsigned>(static_cast<unsigned char>(s[kDigitAt[i]])) - '0';
      bad |= v[i] > 9 ? 1u : 0u;
    }
    if (bad) return false;
    const int y = static_cast<int>(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3]);
    const unsigned mo = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
    const int h = static_cast<int>(v[8] * 10 + v[9]), mi = static_cast<int>(v[10] * 10 + v[11]);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59) return false;
    minute_us = (DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000000;
    if (cache != nullptr) {
      std::memcpy(cache->minute, s, 16);
      cache->minute_us = minute_us;
      cache->valid = true;
    }
  }
  // ":SS[.f*]Z"
  const unsigned s1 = static_cast<unsigned>(static_cast<unsigned char>(s[17])) - '0';
  const unsigned s2 = static_cast<unsigned>(static_cast<unsigned char>(s[18])) - '0';
  if (s[16] != ':' || s1 > 9 || s2 > 9) return false;
  const int64_t sec = s1 * 10 + s2;
  if (sec > 60) return false;
  size_t pos = 19;
  int64_t frac_us = 0;
  if (s[pos] == '.' || s[pos] == ',') {
    ++pos;
    int64_t scale = 100000;
    while (pos < n && s[pos] >= '0' && s[pos] <= '9') {
      frac_us += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  if (pos + 1 != n || (s[pos] != 'Z' && s[pos] != 'z')) return false;
  *us = minute_us + sec * 1000000 + frac_us;
  return true;
}

StatusOr<int64_t> ParseTimestampUs(std::string_view text) {
  if (int64_t us = 0; ParseCanonicalTimestampUs(text, &us)) return us;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.empty()) return InvalidArgumentError("empty timestamp");

  // Bare epoch number: magnitude tells the unit.
  bool numeric = true;
  for (char c : text) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-')) {
      numeric = false;
      break;
    }
  }
  if (numeric && text.find('-', 1) == std::string_view::npos) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) {
      return InvalidArgumentError("bad epoch timestamp '" + std::string(text) + "'");
    }
    double a = std::fabs(v);
    if (a < 1e11) return static_cast<int64_t>(std::llround(v * 1e6));  // seconds
    if (a < 1e14) return static_cast<int64_t>(std::llround(v * 1e3));  // milliseconds
    if (a < 1e17) return static_cast<int64_t>(std::llround(v));        // microseconds
    return static_cast<int64_t>(std::llround(v / 1e3));                // nanoseconds
  }

  int y, mo, d, h = 0, mi = 0, s = 0;
  if (!ReadInt(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' || !ReadInt(text, 5, 2, &mo) ||
      text[7] != '-' || !ReadInt(text, 8, 2, &d)) {
    return InvalidArgumentError("bad timestamp '" + std::string(text) + "'");
  }
  size_t pos = 10;
  int64_t frac_us = 0;
  int64_t offset_s = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
      return InvalidArgumentError("bad timestamp '" + std::string(text) + "'");
    }
    ++pos;
    if (!ReadInt(text, pos, 2, &h) || pos + 2 >= text.size() || text[pos + 2] != ':' ||
        !ReadInt(text, pos + 3, 2, &mi)) {
      return InvalidArgumentError("bad time of day in '" + std::string(text) + "'");
    }
    pos += 5;
    if (pos < text.size() && text[pos] == ':') {
      if (!ReadInt(text, pos + 1, 2, &s)) {
        return InvalidArgumentError("bad seconds in '" + std::string(text) + "'");
      }
      pos += 3;
    }
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      int64_t scale = 100000;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
        frac_us += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
    if (pos < text.size()) {
      char z = text[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        int oh = 0, om = 0;
        if (!ReadInt(text, pos + 1, 2, &oh)) {
          return InvalidArgumentError("bad UTC offset in '" + std::string(text) + "'");
        }
        size_t q = pos + 3;
        if (q < text.size() && text[q] == ':') ++q;
        if (q < text.size() && !ReadInt(text, q, 2, &om)) {
          return InvalidArgumentError("bad UTC offset in '" + std::string(text) + "'");
        }
        offset_s = (oh * 3600 + om * 60) * (z == '+' ? 1 : -1);
        pos = text.size();
      }
    }
    if (pos != text.size()) {
      return InvalidArgumentError("trailing text in timestamp '" + std::string(text) + "'");
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return InvalidArgumentError("timestamp out of range '" + std::string(text) + "'");
  }
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_s;
  return secs * 1000000 + frac_us;
}

}  // namespace yoloscope
