// PythonLiteral: a parsed Python literal, as Ultralytics writes metadata values
// with str() into ONNX metadata_props ("{0: 'person', 1: 'bicycle'}",
// "[640, 640]", "True"), or a JSON value (JSON is read by the same grammar,
// with true/false/null).
//
// Grammar: None/null, True/False/true/false, ints, floats, strings quoted with
// ' or " (backslash escapes incl. \xHH, \uHHHH, \UHHHHHHHH, written as UTF-8),
// lists [..], tuples (..) (read as lists) and dicts {k: v}, with optional
// trailing commas. Nesting is limited to 64 levels.
//
// Value type; Parse is pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct PythonLiteral {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kList, kDict };

  Kind kind = Kind::kNone;
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0;
  std::string string_value;
  std::vector<PythonLiteral> items;  // kList: elements; kDict: values, in text order.
  std::vector<PythonLiteral> keys;   // kDict: keys, parallel to items.

  // Parses the whole of `text` (surrounding whitespace allowed). Returns
  // InvalidArgument with the offset of the first bad character.
  static StatusOr<PythonLiteral> Parse(std::string_view text);

  // kDict only: the value under a string key, or nullptr.
  const PythonLiteral* Find(std::string_view key) const;

  // True for kBool true and for a nonzero kInt; false otherwise.
  bool IsTruthy() const;
};

}  // namespace yoloscope
