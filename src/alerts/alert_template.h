// AlertTemplate: the text of an annotation (summary, description, ...) with
// Prometheus-style placeholders, parsed once when the rule file is loaded and
// rendered at every alert transition.
//
// Placeholders (a subset of Prometheus' Go templates, so the same text works
// in deploy/prometheus/ rules):
//   {{ $value }}            the rule's current value, at most 3 decimals ("123.457")
//   {{ $threshold }}        the rule's threshold
//   {{ $labels.NAME }}      a label of the alert ("" when absent)
//   {{ $value | humanize }} 4 significant digits with an SI prefix ("1.235k")
//   {{ $value | printf "%.1f" }}   one printf conversion of f, e or g ("%.1f ms" ok)
// Whitespace inside the braces is free. Anything else between {{ and }} is a
// parse error, so typos surface in `yoloscope alerts --check`.
//
// Value type; Render is const and thread-compatible.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct AlertTemplateData {
  double value = 0.0;  // NaN renders as "NaN"
  double threshold = 0.0;
  const std::map<std::string, std::string>* labels = nullptr;  // may be null
};

class AlertTemplate {
 public:
  AlertTemplate() = default;
  // InvalidArgument "column N: why" (1-based column in `text`).
  static StatusOr<AlertTemplate> Parse(std::string_view text);

  std::string Render(const AlertTemplateData& data) const;
  const std::string& text() const { return text_; }

 private:
  enum class Kind { kLiteral, kValue, kThreshold, kLabel };
  enum class Format { kPlain, kHumanize, kPrintf };
  struct Piece {
    Kind kind = Kind::kLiteral;
    std::string text;  // literal text, or the label name
    Format format = Format::kPlain;
    std::string printf_format;  // validated: exactly one %f/%e/%g conversion
  };
  static Piece Literal(std::string_view text);

  std::string text_;
  std::vector<Piece> pieces_;
};

// The number formats of templates, also used by the notifiers.
// 123.4567 -> "123.457", 100 -> "100", NaN -> "NaN".
std::string FormatAlertValue(double value);
// 1234567 -> "1.235M", 0.00123 -> "1.23m", 12 -> "12".
std::string HumanizeValue(double value);

}  // namespace yoloscope
