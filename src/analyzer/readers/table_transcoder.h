// TableTranscoder: converts lines of a table saved in a legacy Chinese
// encoding (GB18030, a superset of GBK / GB2312: what Excel on a Chinese
// Windows writes for "CSV") to UTF-8, so that Chinese headers such as 时间戳
// match. Uses glibc's iconv.
//
// The table reader switches a file to transcoding when its first non-blank
// line is not valid UTF-8.
//
// Thread-safety: not thread-safe (iconv state); one per file.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace yoloscope {

// Whether `text` is valid UTF-8 (overlongs, surrogates and code points above
// U+10FFFF rejected).
bool IsValidUtf8(std::string_view text);

class TableTranscoder {
 public:
  // A GB18030 -> UTF-8 converter; nullptr when iconv lacks GB18030.
  static std::unique_ptr<TableTranscoder> CreateGb18030();
  ~TableTranscoder();

  TableTranscoder(const TableTranscoder&) = delete;
  TableTranscoder& operator=(const TableTranscoder&) = delete;

  // Converts `in` into `*out` (replacing its content; the capacity is
  // reused). False when `in` is not valid GB18030 (`*out` is then
  // unspecified).
  bool Convert(std::string_view in, std::string* out);

 private:
  explicit TableTranscoder(void* cd) : cd_(cd) {}
  void* cd_;  // iconv_t
};

}  // namespace yoloscope
