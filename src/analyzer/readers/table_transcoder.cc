#include "analyzer/readers/table_transcoder.h"

#include <iconv.h>

#include <cerrno>

namespace yoloscope {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  auto cont = [&](size_t k) {
    return i + k < n && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = cont(1) ? 2 : 0;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      if (cont(1) && cont(2)) {
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        len = (b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 >= 0xA0) ? 0 : 3;
      }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      if (cont(1) && cont(2) && cont(3)) {
        const auto b1 = static_cast<unsigned char>(s[i + 1]);
        len = (b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 >= 0x90) ? 0 : 4;
      }
    }
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::unique_ptr<TableTranscoder> TableTranscoder::CreateGb18030() {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == reinterpret_cast<iconv_t>(-1)) return nullptr;
  return std::unique_ptr<TableTranscoder>(new TableTranscoder(cd));
}

TableTranscoder::~TableTranscoder() { iconv_close(static_cast<iconv_t>(cd_)); }

bool TableTranscoder::Convert(std::string_view in, std::string* out) {
  iconv_t cd = static_cast<iconv_t>(cd_);
  iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset the shift state
  out->resize(in.size() * 2 + 16);                // GB18030 -> UTF-8 grows at most 2x (+ slack)
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out->data();
  size_t dst_left = out->size();
  while (src_left > 0) {
    if (iconv(cd, &src, &src_left, &dst, &dst_left) == static_cast<size_t>(-1)) {
      if (errno != E2BIG) return false;
      const size_t used = out->size() - dst_left;
      out->resize(out->size() * 2);
      dst = out->data() + used;
      dst_left = out->size() - used;
    }
  }
  out->resize(out->size() - dst_left);
  return true;
}

}  // namespace yoloscope
