#include "alerts/alert_template.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace yoloscope {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

// Accepts literal text around exactly one conversion %[flags][width][.prec]{f,e,g,F,E,G};
// "%%" is a literal percent sign.
bool IsSafeNumberFormat(std::string_view f) {
  int conversions = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 < f.size() && f[i + 1] == '%') {
      ++i;
      continue;
    }
    ++i;
    while (i < f.size() && std::string_view("-+ 0#").find(f[i]) != std::string_view::npos) ++i;
    size_t digits = 0;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) ++i, ++digits;
    if (digits > 2) return false;
    if (i < f.size() && f[i] == '.') {
      ++i;
      digits = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) ++i, ++digits;
      if (digits > 2) return false;
    }
    if (i >= f.size() || std::string_view("feEgGF").find(f[i]) == std::string_view::npos) {
      return false;
    }
    ++conversions;
  }
  return conversions == 1;
}

std::string FormatThreshold(double v) { return FormatAlertValue(v); }

}  // namespace

std::string FormatAlertValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", value);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string HumanizeValue(double value) {
  if (!std::isfinite(value)) return FormatAlertValue(value);
  if (value == 0) return "0";
  static constexpr const char* kBig[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr const char* kSmall[] = {"", "m", "u", "n", "p", "f", "a", "z", "y"};
  double v = value;
  const char* prefix = "";
  if (std::fabs(v) >= 1) {
    int i = 0;
    while (std::fabs(v) >= 1000 && i < 8) v /= 1000, ++i;
    prefix = kBig[i];
  } else {
    int i = 0;
    while (std::fabs(v) < 1 && i < 8) v *= 1000, ++i;
    prefix = kSmall[i];
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.4g%s", v, prefix);
  return buf;
}

AlertTemplate::Piece AlertTemplate::Literal(std::string_view text) {
  Piece p;
  p.kind = Kind::kLiteral;
  p.text = std::string(text);
  return p;
}

StatusOr<AlertTemplate> AlertTemplate::Parse(std::string_view text) {
  AlertTemplate t;
  t.text_ = std::string(text);
  size_t pos = 0;
  auto error = [](size_t at, const std::string& why) {
    return InvalidArgumentError("column " + std::to_string(at + 1) + ": " + why);
  };
  while (pos < text.size()) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.pieces_.push_back(Literal(text.substr(pos)));
      break;
    }
    if (open > pos) t.pieces_.push_back(Literal(text.substr(pos, open - pos)));
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) return error(open, "'{{' without a closing '}}'");
    std::string_view body = Trim(text.substr(open + 2, close - open - 2));
    Piece piece;
    std::string_view pipe;
    if (size_t bar = body.find('|'); bar != std::string_view::npos) {
      pipe = Trim(body.substr(bar + 1));
      body = Trim(body.substr(0, bar));
    }
    if (body == "$value") {
      piece.kind = Kind::kValue;
    } else if (body == "$threshold") {
      piece.kind = Kind::kThreshold;
    } else if (body.substr(0, 8) == "$labels.") {
      piece.kind = Kind::kLabel;
      piece.text = std::string(body.substr(8));
      if (!IsLabelName(piece.text)) return error(open, "bad label name '" + piece.text + "'");
    } else {
      return error(open, "unknown placeholder '{{ " + std::string(body) +
                             " }}' (use $value, $threshold or $labels.NAME)");
    }
    if (!pipe.empty()) {
      if (piece.kind == Kind::kLabel) return error(open, "a label cannot be piped to a format");
      if (pipe == "humanize") {
        piece.format = Format::kHumanize;
      } else if (pipe.substr(0, 6) == "printf") {
        std::string_view arg = Trim(pipe.substr(6));
        if (arg.size() < 2 || arg.front() != '"' || arg.back() != '"') {
          return error(open, "printf needs a quoted format, e.g. printf \"%.1f\"");
        }
        arg = arg.substr(1, arg.size() - 2);
        if (!IsSafeNumberFormat(arg)) {
          return error(open, "printf format '" + std::string(arg) +
                                 "' must hold exactly one %f, %e or %g conversion");
        }
        piece.format = Format::kPrintf;
        piece.printf_format = std::string(arg);
      } else {
        return error(
            open, "unknown function '" + std::string(pipe) + "' (use humanize or printf \"%.1f\")");
      }
    }
    t.pieces_.push_back(std::move(piece));
    pos = close + 2;
  }
  return t;
}

std::string AlertTemplate::Render(const AlertTemplateData& data) const {
  std::string out;
  out.reserve(text_.size() + 16);
  for (const Piece& p : pieces_) {
    switch (p.kind) {
      case Kind::kLiteral:
        out += p.text;
        break;
      case Kind::kLabel:
        if (data.labels != nullptr) {
          auto it = data.labels->find(p.text);
          if (it != data.labels->end()) out += it->second;
        }
        break;
      case Kind::kValue:
      case Kind::kThreshold: {
        const double v = p.kind == Kind::kValue ? data.value : data.threshold;
        if (p.format == Format::kHumanize) {
          out += HumanizeValue(v);
        } else if (p.format == Format::kPrintf) {
          char buf[128];
          std::snprintf(buf, sizeof(buf), p.printf_format.c_str(), v);
          out += buf;
        } else {
          out += p.kind == Kind::kValue ? FormatAlertValue(v) : FormatThreshold(v);
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace yoloscope
