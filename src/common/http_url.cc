#include "common/http_url.h"

namespace yoloscope {

StatusOr<HttpUrl> HttpUrl::Parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("url '" + std::string(text) + "': " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, 8) == "https://") {
    return bad("https is not supported; point it at a local http relay");
  }
  if (text.substr(0, kScheme.size()) != kScheme) return bad("must start with http://");
  const std::string rest(text.substr(kScheme.size()));
  HttpUrl url;
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) return bad("user info is not supported");
  if (authority.empty()) return bad("no host");
  url.host_header = authority;
  if (authority[0] == '[') {  // [::1]:9093
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '['");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after ']'");
      url.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) url.port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (url.port.empty() || url.port.size() > 5 ||
      url.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(url.port) < 1 ||
      std::stoi(url.port) > 65535) {
    return bad("bad port '" + url.port + "'");
  }
  return url;
}

}  // namespace yoloscope
