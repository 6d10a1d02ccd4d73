#include "report/json_fields.h"

#include <cmath>

#include "common/time_format.h"

namespace yoloscope {

const nlohmann::json* JsonFields::Find(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

double JsonFields::Number(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr || !v->is_number()) return std::nan("");
  return v->get<double>();
}

std::optional<int64_t> JsonFields::Integer(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  const double d = v->get<double>();
  if (!std::isfinite(d) || std::fabs(d) > 9e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(d));
}

std::string JsonFields::Text(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number() || v->is_boolean()) return v->dump();
  return "";
}

bool JsonFields::Bool(const nlohmann::json& object, std::string_view key, bool fallback) {
  const nlohmann::json* v = Find(object, key);
  return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
}

const nlohmann::json& JsonFields::Array(const nlohmann::json& object, std::string_view key) {
  // Leaked on purpose: no static object with a destructor.
  static const nlohmann::json* const kEmpty = new nlohmann::json(nlohmann::json::array());
  const nlohmann::json* v = Find(object, key);
  return v != nullptr && v->is_array() ? *v : *kEmpty;
}

const nlohmann::json& JsonFields::Object(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json* const kEmpty = new nlohmann::json(nlohmann::json::object());
  const nlohmann::json* v = Find(object, key);
  return v != nullptr && v->is_object() ? *v : *kEmpty;
}

std::optional<int64_t> JsonFields::TimeUs(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* v = Find(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return Integer(object, key);
  if (!v->is_string()) return std::nullopt;
  auto parsed = ParseTimestampUs(v->get<std::string>());
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

}  // namespace yoloscope
