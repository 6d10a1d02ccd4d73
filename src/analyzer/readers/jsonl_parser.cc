#include "analyzer/readers/jsonl_parser.h"

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <deque>

#include "common/time_format.h"
#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace od = simdjson::ondemand;
namespace ls = logschema;

static_assert(JsonlParser::kPadding >= simdjson::SIMDJSON_PADDING);

constexpr size_t kSlots = 256;  // power of two, > 4x the number of fields.

inline size_t KeyHash(const char* k, size_t n) {
  const auto c0 = static_cast<unsigned char>(k[0]);
  const auto cm = static_cast<unsigned char>(k[n >> 1]);
  const auto cl = static_cast<unsigned char>(k[n - 1]);
  return (n * 31u + c0 * 7u + cm * 131u + cl * 17u) & (kSlots - 1);
}

// memcmp for short keys without a library call.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  while (n >= 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
    a += 8;
    b += 8;
    n -= 8;
  }
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

inline bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

}  // namespace

struct JsonlParser::Impl {
  struct Slot {
    std::string_view key;
    const ReaderField* field = nullptr;
  };
  od::parser parser;
  std::array<Slot, kSlots> slots{};
  std::deque<std::string> extra_keys;  // --map keys (stable storage)
  size_t used = 0;

  bool Insert(std::string_view key, const ReaderField* f) {
    if (key.empty() || used + 1 >= kSlots / 2) return false;
    size_t h = KeyHash(key.data(), key.size());
    while (slots[h].field != nullptr) {
      if (slots[h].key == key) {
        slots[h].field = f;  // --map overrides a schema key.
        return true;
      }
      h = (h + 1) & (kSlots - 1);
    }
    slots[h] = Slot{key, f};
    ++used;
    return true;
  }

  const ReaderField* Lookup(const char* k, size_t n) const {
    if (n == 0) return nullptr;
    size_t h = KeyHash(k, n);
    while (slots[h].field != nullptr) {
      const Slot& s = slots[h];
      if (s.key.size() == n && SameBytes(s.key.data(), k, n)) return s.field;
      h = (h + 1) & (kSlots - 1);
    }
    return nullptr;
  }
};

JsonlParser::JsonlParser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonlParser::~JsonlParser() = default;

StatusOr<std::unique_ptr<JsonlParser>> JsonlParser::Create(
    const std::map<std::string, std::string>& key_map) {
  auto impl = std::make_unique<Impl>();
  // Lines longer than this are malformed (a corrupt file without newlines).
  if (impl->parser.allocate(1 << 20) != simdjson::SUCCESS) {
    return ResourceExhaustedError("cannot allocate the JSON parser");
  }
  for (const ReaderField& f : AllReaderFields()) impl->Insert(f.name, &f);
  for (const auto& [field, key] : key_map) {
    const ReaderField* f = FindReaderField(field);
    if (f == nullptr) {
      if (field == "note") continue;  // a table-only pseudo field.
      return InvalidArgumentError("--map " + field + "=" + key + ": unknown schema field '" +
                                  field + "'");
    }
    impl->extra_keys.push_back(key);
    if (!impl->Insert(impl->extra_keys.back(), f)) {
      return InvalidArgumentError("--map " + field + "=" + key + ": too many or empty keys");
    }
  }
  auto parser = std::unique_ptr<JsonlParser>(new JsonlParser(std::move(impl)));
  parser->why_.reserve(256);
  return parser;
}

JsonlParser::Outcome JsonlParser::Parse(std::string_view line, size_t capacity, LogRecord* record) {
  field_error_ = false;
  foreign_schema_ = false;
  why_.clear();
  *record = blank_;
  // Fast path: a log line starts with '{'; anything else is checked for blank.
  if (line.empty() || (line.front() != '{' && IsBlank(line))) return Outcome::kBlank;

  auto malformed = [&](std::string_view what, simdjson::error_code e) {
    why_.assign(what);
    if (e != simdjson::SUCCESS) {
      why_.append(": ");
      why_.append(simdjson::error_message(e));
    }
    return Outcome::kMalformed;
  };
  auto field_error = [&](std::string_view name, std::string_view what) {
    if (!field_error_) {
      field_error_ = true;
      why_.assign("field '");
      why_.append(name);
      why_.append("': ");
      why_.append(what);
    }
  };

  if (line.size() > impl_->parser.capacity()) {
    return malformed("line longer than 1 MiB", simdjson::SUCCESS);
  }
  od::document doc;
  auto error =
      impl_->parser.iterate(simdjson::padded_string_view(line.data(), line.size(), capacity))
          .get(doc);
  if (error) return malformed("invalid JSON", error);
  od::object object;
  error = doc.get_object().get(object);
  if (error) return malformed("not a JSON object", error);

  bool saw_event = false;
  for (auto field_result : object) {
    od::field field;
    error = std::move(field_result).get(field);
    if (error) return malformed("invalid JSON", error);
    // Raw key bytes, found back from the value's start ("key" : value):
    // schema keys never need escaping, so an escaped key never matches.
    const char* key = field.key().raw();
    od::value value = field.value();
    const char* end = value.raw_json_token().data();
    while (end > key && IsJsonSpace(end[-1])) --end;
    if (end > key && end[-1] == ':') --end;
    while (end > key && IsJsonSpace(end[-1])) --end;
    if (end > key && end[-1] == '"') --end;
    const ReaderField* spec = impl_->Lookup(key, static_cast<size_t>(end - key));
    if (spec == nullptr) continue;  // unknown field: skipped by the iterator.

    od::json_type type;
    error = value.type().get(type);
    if (error) return malformed("invalid JSON", error);
    if (type == od::json_type::null) continue;

    switch (spec->type) {
      case FieldType::kString: {
        std::string_view s;
        if (type != od::json_type::string || value.get_string().get(s)) {
          field_error(spec->name, "expected a string");
          break;
        }
        record->*(spec->string_member) = s;
        break;
      }
      case FieldType::kDouble: {
        double d;
        if (type != od::json_type::number || value.get_double().get(d)) {
          field_error(spec->name, "expected a number");
          break;
        }
        record->*(spec->double_member) = d;
        break;
      }
      case FieldType::kInt: {
        int64_t i;
        if (type != od::json_type::number) {
          field_error(spec->name, "expected an integer");
          break;
        }
        if (value.get_int64().get(i) == simdjson::SUCCESS) {
          record->*(spec->int_member) = i;
          break;
        }
        double d;
        if (value.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d) &&
            d == std::floor(d) && std::fabs(d) < 9e18) {
          record->*(spec->int_member) = static_cast<int64_t>(d);
          break;
        }
        field_error(spec->name, "expected an integer");
        break;
      }
      case FieldType::kBool: {
        bool b;
        if (type == od::json_type::boolean && value.get_bool().get(b) == simdjson::SUCCESS) {
          record->*(spec->bool_member) = b;
        } else {
          int64_t i;
          if (type == od::json_type::number && value.get_int64().get(i) == simdjson::SUCCESS &&
              (i == 0 || i == 1)) {
            record->*(spec->bool_member) = i == 1;
          } else {
            field_error(spec->name, "expected true or false");
          }
        }
        break;
      }
      case FieldType::kTimestamp: {
        std::string_view text;
        if (type == od::json_type::string) {
          if (value.get_string().get(text)) {
            field_error(spec->name, "bad string");
            break;
          }
        } else if (type == od::json_type::number) {
          text = value.raw_json_token();
          while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
            text.remove_suffix(1);
        } else {
          field_error(spec->name, "expected an RFC 3339 string or an epoch number");
          break;
        }
        StatusOr<int64_t> ts = ParseTimestampUs(text);
        if (ts.ok()) {
          record->ts_us = *ts;
        } else {
          field_error(spec->name, ts.status().message());
        }
        break;
      }
      case FieldType::kEvent: {
        std::string_view s;
        if (type != od::json_type::string || value.get_string().get(s)) {
          field_error(spec->name, "expected a string");
          break;
        }
        saw_event = true;
        if (s == ls::kEventRequest) {
          record->kind = RecordKind::kRequest;
        } else if (s == ls::kEventBatch) {
          record->kind = RecordKind::kBatch;
        } else if (s == ls::kEventGpu) {
          record->kind = RecordKind::kGpu;
        } else if (s == ls::kEventAlert) {
          record->kind = RecordKind::kAlert;
        } else if (s == ls::kEventStream) {
          record->kind = RecordKind::kStream;
        } else {
          record->kind = RecordKind::kOther;
        }
        break;
      }
      case FieldType::kSchema: {
        std::string_view s;
        if (type != od::json_type::string || value.get_string().get(s)) {
          field_error(spec->name, "expected a string");
          break;
        }
        // "yoloscope.v1" and any "yoloscope.v1.<minor>" are ours.
        if (!(s.substr(0, ls::kSchemaVersion.size()) == ls::kSchemaVersion &&
              (s.size() == ls::kSchemaVersion.size() || s[ls::kSchemaVersion.size()] == '.'))) {
          foreign_schema_ = true;
        }
        break;
      }
    }
  }
  // Anything left after the object ("{...} {...}", "{...} x") is an error.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return malformed("trailing content after the JSON object", simdjson::SUCCESS);
  }
  if (!saw_event) record->kind = RecordKind::kRequest;
  return Outcome::kRecord;
}

}  // namespace yoloscope
