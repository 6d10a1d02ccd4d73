#include "analyzer/readers/jsonl_parser.h"

#include <simdjson.h>

#include <bit>
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

constexpr size_t kSlots = 256;  // power of two, > 3x the number of fields.

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

// ---- The fast path: a flat object of plain strings, numbers and literals ----
//
// A log line as yoloscope (and most writers) write it -- one flat object, no
// escapes, ASCII only, numbers of at most 19 significant digits -- is read in
// one scalar pass without simdjson's structural index. Anything else (nested
// values, escapes, non-ASCII, a number that would need more than the exact
// fast conversion, a value of the wrong type, a syntax error, whitespace
// other than spaces and tabs between tokens) is left to the simdjson path,
// which then reads the whole line again from scratch: the fast path accepts
// only valid JSON and gives exactly what the simdjson path gives for it.

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

inline uint64_t Load8(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}

// High bit of each byte that ends or complicates a string: '"', '\\',
// control characters (< 0x20) and non-ASCII (>= 0x80). Only the lowest
// flagged byte is exact (borrows move up), which is the one used.
inline uint64_t StringStops(uint64_t x) {
  const uint64_t q = x ^ (kOnes * '"');
  const uint64_t b = x ^ (kOnes * '\\');
  return (((q - kOnes) & ~q) | ((b - kOnes) & ~b) | (x - kOnes * 0x20) | x) & kHighs;
}

// `p` is just past an opening quote; returns the closing quote, or nullptr
// when the string has an escape, a control or non-ASCII byte, or no end
// before `end`. Reads up to 7 bytes past `end` (inside the padding).
inline const char* ScanPlainString(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    for (;;) {
      if (const uint64_t m = StringStops(Load8(p)); m != 0) {
        const char* s = p + (std::countr_zero(m) >> 3);
        return s < end && *s == '"' ? s : nullptr;
      }
      p += 8;
      if (p >= end) return nullptr;
    }
  } else {
    for (; p < end; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '"') return p;
      if (c == '\\' || c < 0x20 || c >= 0x80) return nullptr;
    }
    return nullptr;
  }
}

// A JSON number: (neg ? -1 : 1) * mantissa * 10^exp10, exact unless
// overflow (more than 19 digits).
struct PlainNumber {
  uint64_t mantissa = 0;
  size_t digits = 0;  // all digits, leading zeros included
  int exp10 = 0;
  bool neg = false;
  bool integral = true;  // no fraction, no exponent
  bool overflow = false;
};

// Reads a number with JSON's grammar from `p` (at '-' or a digit); returns
// the byte after it, or nullptr when it is not a JSON number. Needs a byte
// that is no part of a number after it (the line's closing '}'). Digit by
// digit: log numbers are short, and this beat an eight-digits-at-once (SWAR)
// conversion in both instructions and time.
inline const char* ScanNumber(const char* p, PlainNumber* n) {
  if (*p == '-') {
    n->neg = true;
    ++p;
  }
  const char* first = p;
  uint64_t m = 0;
  if (*p == '0') {
    ++p;
    if (IsDigit(*p)) return nullptr;  // a leading zero
  } else {
    if (!IsDigit(*p)) return nullptr;
    do {
      m = m * 10 + static_cast<uint64_t>(*p - '0');
      ++p;
    } while (IsDigit(*p));
  }
  size_t digits = static_cast<size_t>(p - first);
  if (*p == '.') {
    n->integral = false;
    const char* frac = ++p;
    while (IsDigit(*p)) {
      m = m * 10 + static_cast<uint64_t>(*p - '0');
      ++p;
    }
    if (p == frac) return nullptr;
    digits += static_cast<size_t>(p - frac);
    n->exp10 = -static_cast<int>(p - frac);
  }
  if (*p == 'e' || *p == 'E') {
    n->integral = false;
    ++p;
    bool eneg = false;
    if (*p == '+' || *p == '-') eneg = *p++ == '-';
    if (!IsDigit(*p)) return nullptr;
    int e = 0;
    do {
      if (e < 100000) e = e * 10 + (*p - '0');
      ++p;
    } while (IsDigit(*p));
    n->exp10 += eneg ? -e : e;
  }
  n->mantissa = m;
  n->digits = digits;
  n->overflow = digits > 19;
  return p;
}

// The exact int64 of an integer literal (no fraction or exponent, at most
// 18 digits, not "-0").
inline bool PlainInt(const PlainNumber& n, int64_t* out) {
  if (!n.integral || n.digits > 18 || (n.neg && n.mantissa == 0)) return false;
  const auto v = static_cast<int64_t>(n.mantissa);
  *out = n.neg ? -v : v;
  return true;
}

// The correctly rounded double when one IEEE operation gives it (Clinger's
// fast path: mantissa <= 2^53, |exp10| <= 22), as simdjson's own.
inline bool PlainDouble(const PlainNumber& n, double* out) {
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (n.overflow || n.mantissa > (uint64_t{1} << 53) || n.exp10 < -22 || n.exp10 > 22 ||
      (n.neg && n.mantissa == 0)) {
    return false;
  }
  double d = static_cast<double>(n.mantissa);
  if (n.exp10 < 0) {
    d /= kPow10[-n.exp10];
  } else {
    d *= kPow10[n.exp10];
  }
  *out = n.neg ? -d : d;
  return true;
}

}  // namespace

struct JsonlParser::Impl {
  struct Slot {
    std::string_view key;
    const ReaderField* field = nullptr;
    // `key":` as it appears in a line, in words (the last one masked), for
    // the fast path's guess of the next key; 0 words: too long to guess.
    std::array<uint64_t, 4> pattern{};
    uint64_t last_mask = 0;
    size_t words = 0;
  };
  static constexpr uint16_t kNoSlot = 0xffff;
  static constexpr size_t kFirstKey = kSlots;          // `next` before the first key
  static constexpr size_t kAfterUnknown = kSlots + 1;  // ... after an unknown key
  od::parser parser;
  std::array<Slot, kSlots> slots{};
  std::deque<std::string> extra_keys;  // --map keys (stable storage)
  size_t used = 0;
  // The slot of the key that followed each slot's key in the last line that
  // had it (lines of one writer repeat their key order): one comparison
  // instead of a scan and a lookup per field. Only a guess, always checked.
  std::array<uint16_t, kSlots + 2> next;
  TimestampCache ts_cache;  // "ts" of the lines before

  Impl() { next.fill(kNoSlot); }

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
    Slot& s = slots[h];
    s = Slot{key, f};
    const std::string text = std::string(key) + "\":";
    if (text.size() <= 8 * s.pattern.size()) {
      s.words = (text.size() + 7) / 8;
      char bytes[8 * 4] = {};
      char mask[8 * 4] = {};
      std::memcpy(bytes, text.data(), text.size());
      std::memset(mask, 0xff, text.size());
      for (size_t i = 0; i < s.words; ++i) std::memcpy(&s.pattern[i], bytes + 8 * i, 8);
      std::memcpy(&s.last_mask, mask + 8 * (s.words - 1), 8);
    }
    ++used;
    return true;
  }

  // Whether the `key":` of slot `i` is at `k` (the byte after a quote);
  // reads up to 32 bytes from `k` (the line's padding covers them).
  bool KeyAt(size_t i, const char* k) const {
    const Slot& s = slots[i];
    if (s.words == 0) return false;
    for (size_t w = 0; w + 1 < s.words; ++w) {
      if (Load8(k + 8 * w) != s.pattern[w]) return false;
    }
    return (Load8(k + 8 * (s.words - 1)) & s.last_mask) == s.pattern[s.words - 1];
  }

  // Fills `record` from a plain line (see above); false: use simdjson.
  bool FastParse(std::string_view line, LogRecord* record, bool* foreign_schema);

  // The slot of key k[0, n), or kNoSlot.
  uint16_t LookupSlot(const char* k, size_t n) const {
    if (n == 0) return kNoSlot;
    size_t h = KeyHash(k, n);
    while (slots[h].field != nullptr) {
      const Slot& s = slots[h];
      if (s.key.size() == n && SameBytes(s.key.data(), k, n)) return static_cast<uint16_t>(h);
      h = (h + 1) & (kSlots - 1);
    }
    return kNoSlot;
  }

  const ReaderField* Lookup(const char* k, size_t n) const {
    const uint16_t i = LookupSlot(k, n);
    return i == kNoSlot ? nullptr : slots[i].field;
  }
};

namespace {

// The event name -> RecordKind, as the simdjson path maps it.
inline RecordKind EventKind(std::string_view s) {
  if (s == ls::kEventRequest) return RecordKind::kRequest;
  if (s == ls::kEventBatch) return RecordKind::kBatch;
  if (s == ls::kEventGpu) return RecordKind::kGpu;
  if (s == ls::kEventAlert) return RecordKind::kAlert;
  if (s == ls::kEventStream) return RecordKind::kStream;
  if (s == ls::kEventConfig) return RecordKind::kConfig;
  return RecordKind::kOther;
}

inline bool IsOurSchema(std::string_view s) {
  // "yoloscope.v1" and any "yoloscope.v1.<minor>" are ours.
  return s.substr(0, ls::kSchemaVersion.size()) == ls::kSchemaVersion &&
         (s.size() == ls::kSchemaVersion.size() || s[ls::kSchemaVersion.size()] == '.');
}

}  // namespace

bool JsonlParser::Impl::FastParse(std::string_view line, LogRecord* record, bool* foreign_schema) {
  const char* p = line.data();
  const char* const end = p + line.size();
  // The object's closing brace: the last byte but trailing whitespace. Every
  // scan of a number, literal or blanks stops at it, so only the string scan
  // needs `end`; tokens found before `end` lie before `last`.
  const char* last = end;
  while (last > p && IsJsonSpace(last[-1])) --last;
  if (last - p < 2 || *p != '{' || last[-1] != '}') return false;
  --last;
  auto skip_blanks = [&p] {
    if (static_cast<unsigned char>(*p) > ' ') return;  // the common case: none
    while (*p == ' ' || *p == '\t') ++p;
  };
  ++p;
  skip_blanks();
  bool saw_event = false;
  size_t prev = kFirstKey;
  while (p != last) {
    if (*p != '"') return false;
    const char* key = p + 1;
    uint16_t slot = next[prev];
    if (slot != kNoSlot && slots[slot].key.size() + 2 <= static_cast<size_t>(last - key) &&
        KeyAt(slot, key)) {
      p = key + slots[slot].key.size() + 2;  // past `key":`
    } else {
      const char* key_end = ScanPlainString(key, end);
      if (key_end == nullptr) return false;
      slot = LookupSlot(key, static_cast<size_t>(key_end - key));
      next[prev] = slot;
      p = key_end + 1;
      skip_blanks();
      if (*p != ':') return false;
      ++p;
    }
    prev = slot == kNoSlot ? kAfterUnknown : slot;
    skip_blanks();
    const ReaderField* spec = slot == kNoSlot ? nullptr : slots[slot].field;
    const char c = *p;
    if (c == '"') {
      const char* text = p + 1;
      const char* text_end = ScanPlainString(text, end);
      if (text_end == nullptr) return false;
      p = text_end + 1;
      if (spec != nullptr) {
        const std::string_view v(text, static_cast<size_t>(text_end - text));
        switch (spec->type) {
          case FieldType::kString:
            record->*(spec->string_member) = v;
            break;
          case FieldType::kTimestamp: {
            int64_t us;
            if (!ParseCanonicalTimestampUs(v, &us, &ts_cache)) {
              StatusOr<int64_t> ts = ParseTimestampUs(v);
              if (!ts.ok()) return false;
              us = *ts;
            }
            record->ts_us = us;
            break;
          }
          case FieldType::kEvent:
            saw_event = true;
            record->kind = EventKind(v);
            break;
          case FieldType::kSchema:
            if (!IsOurSchema(v)) *foreign_schema = true;
            break;
          default:
            return false;  // a field error: the simdjson path reports it.
        }
      }
    } else if (c == '-' || IsDigit(c)) {
      PlainNumber n;
      const char* number_end = ScanNumber(p, &n);
      if (number_end == nullptr) return false;
      if (spec != nullptr) {
        switch (spec->type) {
          case FieldType::kDouble: {
            double d;
            if (!PlainDouble(n, &d)) return false;
            record->*(spec->double_member) = d;
            break;
          }
          case FieldType::kInt: {
            int64_t i;
            if (!PlainInt(n, &i)) return false;
            record->*(spec->int_member) = i;
            break;
          }
          case FieldType::kTimestamp: {
            StatusOr<int64_t> ts =
                ParseTimestampUs(std::string_view(p, static_cast<size_t>(number_end - p)));
            if (!ts.ok()) return false;
            record->ts_us = *ts;
            break;
          }
          default:
            return false;
        }
      }
      p = number_end;
    } else if (c == 't' && std::memcmp(p, "true", 4) == 0) {
      p += 4;
      if (spec != nullptr) {
        if (spec->type != FieldType::kBool) return false;
        record->*(spec->bool_member) = true;
      }
    } else if (c == 'f' && std::memcmp(p, "false", 5) == 0) {
      p += 5;
      if (spec != nullptr) {
        if (spec->type != FieldType::kBool) return false;
        record->*(spec->bool_member) = false;
      }
    } else if (c == 'n' && std::memcmp(p, "null", 4) == 0) {
      p += 4;  // null: the field stays unknown.
    } else {
      return false;
    }
    if (*p != ',') {
      skip_blanks();
      if (*p != ',') {
        if (p != last) return false;  // no comma, or content after the object
        break;
      }
    }
    ++p;
    skip_blanks();
    if (p == last) return false;  // {"a":1,}
  }
  if (!saw_event) record->kind = RecordKind::kRequest;
  return true;
}

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
  if (fast_path_) {
    if (impl_->FastParse(line, record, &foreign_schema_)) return Outcome::kRecord;
    *record = blank_;  // half read: start again.
    foreign_schema_ = false;
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
        record->kind = EventKind(s);
        break;
      }
      case FieldType::kSchema: {
        std::string_view s;
        if (type != od::json_type::string || value.get_string().get(s)) {
          field_error(spec->name, "expected a string");
          break;
        }
        if (!IsOurSchema(s)) foreign_schema_ = true;
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
