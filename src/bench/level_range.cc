#include "bench/level_range.h"

#include <charconv>
#include <cmath>
#include <string>

namespace yoloscope {
namespace {

StatusOr<double> Number(std::string_view text, std::string_view spec) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return InvalidArgumentError("bad number '" + std::string(text) + "' in '" + std::string(spec) +
                                "'");
  }
  return v;
}

constexpr size_t kMaxValues = 10000;

}  // namespace

StatusOr<std::vector<double>> ParseLevelRange(std::string_view spec) {
  std::vector<double> out;
  if (spec.find(':') == std::string_view::npos) {
    size_t pos = 0;
    while (pos <= spec.size()) {
      size_t comma = spec.find(',', pos);
      if (comma == std::string_view::npos) comma = spec.size();
      YS_ASSIGN_OR_RETURN(double v, Number(spec.substr(pos, comma - pos), spec));
      if (!(v > 0))
        return InvalidArgumentError("levels must be > 0 in '" + std::string(spec) + "'");
      out.push_back(v);
      pos = comma + 1;
    }
    return out;
  }
  size_t c1 = spec.find(':');
  size_t c2 = spec.find(':', c1 + 1);
  YS_ASSIGN_OR_RETURN(double start, Number(spec.substr(0, c1), spec));
  std::string_view end_text =
      c2 == std::string_view::npos ? spec.substr(c1 + 1) : spec.substr(c1 + 1, c2 - c1 - 1);
  YS_ASSIGN_OR_RETURN(double end, Number(end_text, spec));
  bool multiply = false;
  double step = 1;
  if (c2 != std::string_view::npos) {
    std::string_view s = spec.substr(c2 + 1);
    if (!s.empty() && (s.front() == 'x' || s.front() == '*')) {
      multiply = true;
      s.remove_prefix(1);
    } else if (!s.empty() && s.front() == '+') {
      s.remove_prefix(1);
    }
    YS_ASSIGN_OR_RETURN(step, Number(s, spec));
  }
  if (!(start > 0) || end < start) {
    return InvalidArgumentError("range '" + std::string(spec) + "' needs 0 < start <= end");
  }
  if (multiply ? !(step > 1) : !(step > 0)) {
    return InvalidArgumentError("range '" + std::string(spec) +
                                "' needs a step > 0 (or a factor xF > 1)");
  }
  for (int i = 0;; ++i) {
    double v = multiply ? start * std::pow(step, i) : start + step * i;
    if (v > end * (1 + 1e-9)) break;
    out.push_back(v);
    if (out.size() > kMaxValues) {
      return InvalidArgumentError("range '" + std::string(spec) + "' has too many values");
    }
  }
  return out;
}

StatusOr<std::vector<int>> ParseIntLevelRange(std::string_view spec) {
  YS_ASSIGN_OR_RETURN(std::vector<double> values, ParseLevelRange(spec));
  std::vector<int> out;
  for (double v : values) {
    if (v != std::floor(v) || v > 1e6) {
      return InvalidArgumentError(std::string(spec) + ": levels must be whole numbers");
    }
    out.push_back(static_cast<int>(v));
  }
  return out;
}

}  // namespace yoloscope
