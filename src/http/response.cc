#include "http/response.h"

#include <cstdio>

#include "common/utf8.h"

namespace yoloscope::http {

Response Response::Json(std::string body, int status) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response Response::Error(int status, std::string_view message) {
  Response response;
  response.status = status;
  response.body.reserve(message.size() + 14);
  response.body.append("{\"error\": \"");
  AppendJsonEscaped(message, response.body);
  response.body.append("\"}");
  return response;
}

Response Response::Text(std::string body, int status, std::string content_type) {
  Response response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

void AppendJsonEscaped(std::string_view text, std::string& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Valid UTF-8 passes through; an invalid byte (a raw path byte, a
      // Latin-1 file name) becomes U+FFFD, so the body stays valid JSON.
      const size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out.append("\\ufffd");
      } else {
        out.append(text.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(c));
          out.append(escaped);
        } else {
          out.push_back(c);
        }
    }
  }
}

}  // namespace yoloscope::http
