#include "analyzer/readers/table_value.h"

#include <cctype>
#include <charconv>
#include <cstring>

namespace yoloscope {
namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Strips one enclosing pair of (), [], （） or 【】.
std::string_view StripBrackets(std::string_view s) {
  struct Pair {
    std::string_view open, close;
  };
  for (const Pair& p : {Pair{"(", ")"}, Pair{"[", "]"}, Pair{"\xEF\xBC\x88", "\xEF\xBC\x89"},
                        Pair{"\xE3\x80\x90", "\xE3\x80\x91"}}) {
    if (s.size() >= p.open.size() + p.close.size() && s.substr(0, p.open.size()) == p.open &&
        s.substr(s.size() - p.close.size()) == p.close) {
      return TrimCell(s.substr(p.open.size(), s.size() - p.open.size() - p.close.size()));
    }
  }
  return s;
}

struct UnitName {
  std::string_view name;
  ValueUnit unit;
};

constexpr UnitName kUnits[] = {
    {"ns", ValueUnit::kNs},
    {"nsec", ValueUnit::kNs},
    {"us", ValueUnit::kUs},
    {"usec", ValueUnit::kUs},
    {"\xC2\xB5s", ValueUnit::kUs},  // µs
    {"\xCE\xBCs", ValueUnit::kUs},  // μs
    {"ms", ValueUnit::kMs},
    {"msec", ValueUnit::kMs},
    {"millis", ValueUnit::kMs},
    {"milliseconds", ValueUnit::kMs},
    {"s", ValueUnit::kS},
    {"sec", ValueUnit::kS},
    {"secs", ValueUnit::kS},
    {"second", ValueUnit::kS},
    {"seconds", ValueUnit::kS},
    {"min", ValueUnit::kMin},
    {"mins", ValueUnit::kMin},
    {"minutes", ValueUnit::kMin},
    {"\xE7\xBA\xB3\xE7\xA7\x92", ValueUnit::kNs},   // 纳秒
    {"\xE5\xBE\xAE\xE7\xA7\x92", ValueUnit::kUs},   // 微秒
    {"\xE6\xAF\xAB\xE7\xA7\x92", ValueUnit::kMs},   // 毫秒
    {"\xE7\xA7\x92", ValueUnit::kS},                // 秒
    {"\xE5\x88\x86\xE9\x92\x9F", ValueUnit::kMin},  // 分钟
    {"b", ValueUnit::kBytes},
    {"byte", ValueUnit::kBytes},
    {"bytes", ValueUnit::kBytes},
    {"\xE5\xAD\x97\xE8\x8A\x82", ValueUnit::kBytes},  // 字节
    {"k", ValueUnit::kKb},
    {"kb", ValueUnit::kKb},
    {"kib", ValueUnit::kKb},
    {"m", ValueUnit::kMb},
    {"mb", ValueUnit::kMb},
    {"mib", ValueUnit::kMb},
    {"\xE5\x85\x86", ValueUnit::kMb},  // 兆
    {"g", ValueUnit::kGb},
    {"gb", ValueUnit::kGb},
    {"gib", ValueUnit::kGb},
    {"t", ValueUnit::kTb},
    {"tb", ValueUnit::kTb},
    {"tib", ValueUnit::kTb},
    {"%", ValueUnit::kPercent},
    {"pct", ValueUnit::kPercent},
    {"percent", ValueUnit::kPercent},
    {"\xEF\xBC\x85", ValueUnit::kPercent},  // ％
    {"mhz", ValueUnit::kMhz},
    {"ghz", ValueUnit::kGhz},
    {"w", ValueUnit::kWatts},
    {"watt", ValueUnit::kWatts},
    {"watts", ValueUnit::kWatts},
    {"mw", ValueUnit::kMilliwatts},
    {"c", ValueUnit::kCelsius},
    {"\xC2\xB0"
     "c",
     ValueUnit::kCelsius},                  // °C
    {"\xE2\x84\x83", ValueUnit::kCelsius},  // ℃
    {"kb/s", ValueUnit::kKbPerSec},
    {"kib/s", ValueUnit::kKbPerSec},
    {"mb/s", ValueUnit::kMbPerSec},
    {"mib/s", ValueUnit::kMbPerSec},
    {"mbps", ValueUnit::kMbPerSec},
    {"gb/s", ValueUnit::kGbPerSec},
    {"gib/s", ValueUnit::kGbPerSec},
};

}  // namespace

std::string_view TrimCell(std::string_view s) {
  for (;;) {
    if (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
      s.remove_prefix(1);
    } else if (s.substr(0, 2) == "\xC2\xA0") {  // no-break space
      s.remove_prefix(2);
    } else if (s.substr(0, 3) == "\xE3\x80\x80") {  // ideographic space
      s.remove_prefix(3);
    } else {
      break;
    }
  }
  for (;;) {
    if (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
      s.remove_suffix(1);
    } else if (s.size() >= 2 && s.substr(s.size() - 2) == "\xC2\xA0") {
      s.remove_suffix(2);
    } else if (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") {
      s.remove_suffix(3);
    } else {
      break;
    }
  }
  return s;
}

ValueUnit ParseValueUnit(std::string_view text) {
  text = TrimCell(text);
  for (const UnitName& u : kUnits) {
    if (EqualsIgnoreCase(text, u.name)) return u.unit;
  }
  return ValueUnit::kNone;
}

TableValue ParseTableValue(std::string_view cell) {
  TableValue v;
  cell = TrimCell(cell);
  size_t i = 0;
  if (i < cell.size() && (cell[i] == '+' || cell[i] == '-')) ++i;
  const size_t digits_start = i;
  while (i < cell.size() && IsDigit(cell[i])) ++i;
  size_t digits = i - digits_start;
  if (i < cell.size() && cell[i] == '.') {
    ++i;
    const size_t frac_start = i;
    while (i < cell.size() && IsDigit(cell[i])) ++i;
    digits += i - frac_start;
  }
  if (digits == 0) {
    v.note = StripBrackets(cell);
    return v;
  }
  // Exponent only when digits follow ("1e5", not "5e" nor "12 ms").
  if (i + 1 < cell.size() && (cell[i] == 'e' || cell[i] == 'E')) {
    size_t j = i + 1;
    if (j < cell.size() && (cell[j] == '+' || cell[j] == '-')) ++j;
    if (j < cell.size() && IsDigit(cell[j])) {
      while (j < cell.size() && IsDigit(cell[j])) ++j;
      i = j;
    }
  }
  double number = 0;
  const char* begin = cell.data() + (cell[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(begin, cell.data() + i, number);
  if (ec != std::errc() || end != cell.data() + i) {
    v.note = StripBrackets(cell);
    return v;
  }
  v.number = number;
  std::string_view rest = TrimCell(cell.substr(i));
  // The unit: the run up to a space or an opening bracket.
  size_t u = 0;
  while (u < rest.size() && rest[u] != ' ' && rest[u] != '\t' && rest[u] != '(' && rest[u] != '[' &&
         rest.substr(u, 3) != "\xEF\xBC\x88" && rest.substr(u, 3) != "\xE3\x80\x90") {
    ++u;
  }
  if (u > 0) {
    const ValueUnit unit = ParseValueUnit(rest.substr(0, u));
    if (unit != ValueUnit::kNone) {
      v.unit = unit;
      v.unit_text = rest.substr(0, u);
      rest = TrimCell(rest.substr(u));
    }
  }
  v.note = StripBrackets(rest);
  return v;
}

std::optional<double> ConvertToFieldUnit(double value, ValueUnit from, FieldUnit to) {
  if (from == ValueUnit::kNone) return value;
  switch (to) {
    case FieldUnit::kMs:
      switch (from) {
        case ValueUnit::kNs:
          return value / 1e6;
        case ValueUnit::kUs:
          return value / 1e3;
        case ValueUnit::kMs:
          return value;
        case ValueUnit::kS:
          return value * 1e3;
        case ValueUnit::kMin:
          return value * 6e4;
        default:
          return std::nullopt;
      }
    case FieldUnit::kMb:
    case FieldUnit::kBytes: {
      double mb;
      switch (from) {
        case ValueUnit::kBytes:
          mb = value / 1048576.0;
          break;
        case ValueUnit::kKb:
          mb = value / 1024.0;
          break;
        case ValueUnit::kMb:
          mb = value;
          break;
        case ValueUnit::kGb:
          mb = value * 1024.0;
          break;
        case ValueUnit::kTb:
          mb = value * 1048576.0;
          break;
        default:
          return std::nullopt;
      }
      return to == FieldUnit::kMb ? mb : mb * 1048576.0;
    }
    case FieldUnit::kPercent:
      if (from == ValueUnit::kPercent) return value;
      return std::nullopt;
    case FieldUnit::kMhz:
      if (from == ValueUnit::kMhz) return value;
      if (from == ValueUnit::kGhz) return value * 1000.0;
      return std::nullopt;
    case FieldUnit::kWatts:
      if (from == ValueUnit::kWatts) return value;
      if (from == ValueUnit::kMilliwatts) return value / 1000.0;
      return std::nullopt;
    case FieldUnit::kCelsius:
      if (from == ValueUnit::kCelsius) return value;
      return std::nullopt;
    case FieldUnit::kMbPerSec:
      if (from == ValueUnit::kMbPerSec) return value;
      if (from == ValueUnit::kKbPerSec) return value / 1024.0;
      if (from == ValueUnit::kGbPerSec) return value * 1024.0;
      return std::nullopt;
    case FieldUnit::kNone:
      return std::nullopt;
  }
  return std::nullopt;
}

bool IsMissingValue(std::string_view cell) {
  cell = TrimCell(cell);
  if (cell.empty()) return true;
  for (std::string_view m :
       {"-", "--", "n/a", "na", "[n/a]", "[not supported]", "not supported", "null", "none", "nan",
        "unknown", "?", "\xE6\x9C\xAA\xE7\x9F\xA5" /* 未知 */, "\xE2\x80\x94" /* — */}) {
    if (EqualsIgnoreCase(cell, m)) return true;
  }
  return false;
}

bool MentionsOom(std::string_view text) {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    if (LowerAscii(text[i]) == 'o' && LowerAscii(text[i + 1]) == 'o' &&
        LowerAscii(text[i + 2]) == 'm') {
      const bool word_start = i == 0 || !std::isalpha(static_cast<unsigned char>(text[i - 1]));
      if (word_start) return true;
    }
  }
  for (std::string_view phrase : {"out of memory", "out_of_memory", "outofmemory"}) {
    if (text.size() < phrase.size()) continue;
    for (size_t i = 0; i + phrase.size() <= text.size(); ++i) {
      if (EqualsIgnoreCase(text.substr(i, phrase.size()), phrase)) return true;
    }
  }
  for (std::string_view zh : {"\xE6\x98\xBE\xE5\xAD\x98\xE4\xB8\x8D\xE8\xB6\xB3",  // 显存不足
                              "\xE6\x98\xBE\xE5\xAD\x98\xE6\xBA\xA2\xE5\x87\xBA",  // 显存溢出
                              "\xE5\x86\x85\xE5\xAD\x98\xE4\xB8\x8D\xE8\xB6\xB3",  // 内存不足
                              "\xE5\x86\x85\xE5\xAD\x98\xE6\xBA\xA2\xE5\x87\xBA",  // 内存溢出
                              "\xE7\x88\x86\xE6\x98\xBE\xE5\xAD\x98"}) {           // 爆显存
    if (text.find(zh) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace yoloscope
