#include "http/response.h"

#include <cstdio>

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
  for (char c : text) {
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
