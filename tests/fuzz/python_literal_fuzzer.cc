// Fuzzes the Python-literal parser (PythonLiteral::Parse: the `names` dict
// and other values Ultralytics writes into model metadata as Python reprs:
// dicts, lists, tuples, strings with escapes, ints, floats, True/None).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "model/python_literal.h"

namespace {

size_t Walk(const yoloscope::PythonLiteral& value, int depth) {
  yoloscope::fuzz::Check(depth < 10000, "nesting deeper than the input");
  yoloscope::fuzz::Check(value.kind != yoloscope::PythonLiteral::Kind::kDict ||
                             value.keys.size() == value.items.size(),
                         "dict keys and values differ in number");
  size_t n = 1;
  (void)value.IsTruthy();
  for (const auto& item : value.items) n += Walk(item, depth + 1);
  for (const auto& key : value.keys) n += Walk(key, depth + 1);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto value = yoloscope::PythonLiteral::Parse(text);
  if (!value.ok()) return 0;
  Walk(*value, 0);
  (void)value->Find("names");
  (void)value->Find("0");
  return 0;
}
