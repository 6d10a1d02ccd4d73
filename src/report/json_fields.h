// JsonFields: non-throwing reads of an analysis document (nlohmann::json)
// whose keys may be missing, null or of an unexpected type -- the report
// must render whatever an analyzer version (or a hand-made fixture) gives.
//
// Every accessor accepts any json value as `object` (a non-object simply has
// no keys) and never throws.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace yoloscope {

class JsonFields {
 public:
  // The member `key` of `object`, or nullptr when absent / not an object.
  static const nlohmann::json* Find(const nlohmann::json& object, std::string_view key);
  // A number member (bools are not numbers); NaN when absent, null or not a number.
  static double Number(const nlohmann::json& object, std::string_view key);
  // An integer-valued number member; empty when absent or not a number.
  static std::optional<int64_t> Integer(const nlohmann::json& object, std::string_view key);
  // A string member; numbers and bools are printed; "" when absent or null.
  static std::string Text(const nlohmann::json& object, std::string_view key);
  // A bool member; `fallback` when absent or not a bool.
  static bool Bool(const nlohmann::json& object, std::string_view key, bool fallback);
  // An array member, or an empty array when absent / not an array.
  static const nlohmann::json& Array(const nlohmann::json& object, std::string_view key);
  // An object member, or an empty object when absent / not an object.
  static const nlohmann::json& Object(const nlohmann::json& object, std::string_view key);
  // A timestamp member in Unix (or, for monotonic logs, relative)
  // microseconds: a number is microseconds; a string is RFC 3339 or an epoch
  // number in s/ms/us/ns (common/time_format.h). Empty when unreadable.
  static std::optional<int64_t> TimeUs(const nlohmann::json& object, std::string_view key);
};

}  // namespace yoloscope
