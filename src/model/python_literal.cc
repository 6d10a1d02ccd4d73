#include "model/python_literal.h"

#include <charconv>
#include <string>
#include <utility>

namespace yoloscope {
namespace {

constexpr int kMaxDepth = 64;

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Recursive-descent parser over one string_view. Recursion depth is bounded
// by kMaxDepth so hostile metadata cannot overflow the stack.
class LiteralParser {
 public:
  explicit LiteralParser(std::string_view text) : text_(text) {}

  StatusOr<PythonLiteral> ParseAll() {
    PythonLiteral value;
    YS_RETURN_IF_ERROR(ParseValue(0, &value));
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters");
    return value;
  }

 private:
  Status Error(std::string_view what) const {
    std::string msg = "bad literal at offset " + std::to_string(pos_) + ": " + std::string(what);
    if (pos_ < text_.size()) msg += " near '" + std::string(text_.substr(pos_, 16)) + "'";
    return InvalidArgumentError(std::move(msg));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  Status ParseValue(int depth, PythonLiteral* out) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    SkipSpace();
    if (pos_ >= text_.size()) return Error("unexpected end of text");
    const char c = text_[pos_];
    if (c == '{') return ParseDict(depth, out);
    if (c == '[') return ParseSequence(depth, ']', out);
    if (c == '(') return ParseSequence(depth, ')', out);
    if (c == '\'' || c == '"') {
      out->kind = PythonLiteral::Kind::kString;
      return ParseString(&out->string_value);
    }
    if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9')) return ParseNumber(out);
    return ParseWord(out);
  }

  Status ParseWord(PythonLiteral* out) {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsIdentChar(text_[pos_])) ++pos_;
    const std::string_view word = text_.substr(start, pos_ - start);
    if (word == "None" || word == "null") {
      out->kind = PythonLiteral::Kind::kNone;
    } else if (word == "True" || word == "true") {
      out->kind = PythonLiteral::Kind::kBool;
      out->bool_value = true;
    } else if (word == "False" || word == "false") {
      out->kind = PythonLiteral::Kind::kBool;
      out->bool_value = false;
    } else {
      pos_ = start;
      return Error("expected a value");
    }
    return Status::Ok();
  }

  Status ParseNumber(PythonLiteral* out) {
    const size_t start = pos_;
    if (text_[pos_] == '+' || text_[pos_] == '-') ++pos_;
    bool is_float = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c >= '0' && c <= '9') {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E') {
        is_float = true;
        ++pos_;
        if ((c == 'e' || c == 'E') && pos_ < text_.size() &&
            (text_[pos_] == '+' || text_[pos_] == '-')) {
          ++pos_;
        }
      } else {
        break;
      }
    }
    // from_chars rejects a leading '+', which Python accepts.
    size_t begin = start;
    if (text_[begin] == '+') ++begin;
    const char* first = text_.data() + begin;
    const char* last = text_.data() + pos_;
    if (!is_float) {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec != std::errc() || ptr != last) {
        pos_ = start;
        return Error("bad integer");
      }
      out->kind = PythonLiteral::Kind::kInt;
      out->int_value = v;
      return Status::Ok();
    }
    double v = 0;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec != std::errc() || ptr != last) {
      pos_ = start;
      return Error("bad number");
    }
    out->kind = PythonLiteral::Kind::kFloat;
    out->float_value = v;
    return Status::Ok();
  }

  Status ParseHex(int digits, uint32_t* cp) {
    if (pos_ + digits > text_.size()) return Error("short escape");
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      const int h = HexValue(text_[pos_ + i]);
      if (h < 0) return Error("bad hex escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    pos_ += digits;
    *cp = v;
    return Status::Ok();
  }

  Status ParseString(std::string* out) {
    const char quote = text_[pos_++];
    out->clear();
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_++];
      if (c == quote) return Status::Ok();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char e = text_[pos_++];
      uint32_t cp = 0;
      switch (e) {
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case '0':
          out->push_back('\0');
          break;
        case '/':
          out->push_back('/');
          break;
        case '\\':
        case '\'':
        case '"':
          out->push_back(e);
          break;
        case 'x':
          YS_RETURN_IF_ERROR(ParseHex(2, &cp));
          AppendUtf8(cp, out);
          break;
        case 'u':
          YS_RETURN_IF_ERROR(ParseHex(4, &cp));
          // JSON writes astral characters as a surrogate pair.
          if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 6 <= text_.size() && text_[pos_] == '\\' &&
              text_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t low = 0;
            YS_RETURN_IF_ERROR(ParseHex(4, &low));
            if (low < 0xDC00 || low >= 0xE000) return Error("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        case 'U':
          YS_RETURN_IF_ERROR(ParseHex(8, &cp));
          if (cp > 0x10FFFF) return Error("bad code point");
          AppendUtf8(cp, out);
          break;
        default:
          // Python keeps unknown escapes verbatim ("\d" stays backslash-d).
          out->push_back('\\');
          out->push_back(e);
      }
    }
  }

  Status ParseSequence(int depth, char close, PythonLiteral* out) {
    out->kind = PythonLiteral::Kind::kList;
    ++pos_;
    while (true) {
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return Status::Ok();
      }
      PythonLiteral item;
      YS_RETURN_IF_ERROR(ParseValue(depth + 1, &item));
      out->items.push_back(std::move(item));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
      } else if (pos_ >= text_.size() || text_[pos_] != close) {
        return Error(std::string("expected ',' or '") + close + "'");
      }
    }
  }

  Status ParseDict(int depth, PythonLiteral* out) {
    out->kind = PythonLiteral::Kind::kDict;
    ++pos_;
    while (true) {
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return Status::Ok();
      }
      PythonLiteral key;
      YS_RETURN_IF_ERROR(ParseValue(depth + 1, &key));
      if (key.kind == PythonLiteral::Kind::kList || key.kind == PythonLiteral::Kind::kDict) {
        return Error("a dict key must be a scalar");
      }
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      PythonLiteral value;
      YS_RETURN_IF_ERROR(ParseValue(depth + 1, &value));
      out->keys.push_back(std::move(key));
      out->items.push_back(std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
      } else if (pos_ >= text_.size() || text_[pos_] != '}') {
        return Error("expected ',' or '}'");
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<PythonLiteral> PythonLiteral::Parse(std::string_view text) {
  return LiteralParser(text).ParseAll();
}

const PythonLiteral* PythonLiteral::Find(std::string_view key) const {
  if (kind != Kind::kDict) return nullptr;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].kind == Kind::kString && keys[i].string_value == key) return &items[i];
  }
  return nullptr;
}

bool PythonLiteral::IsTruthy() const {
  return (kind == Kind::kBool && bool_value) || (kind == Kind::kInt && int_value != 0);
}

}  // namespace yoloscope
