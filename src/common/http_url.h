// HttpUrl: a plain http:// URL split for a client (webhook notifiers, stream
// result webhooks): host, port, request target and Host header. One parser,
// so configs are validated with the same rules their senders use.
//
// Accepted: http://host[:port][/path[?query]], IPv6 as http://[::1]:9093/x.
// Refused (InvalidArgument "url 'TEXT': why"): https (point it at a local
// http relay), other schemes, user info, a missing host, a port outside
// 1..65535. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace yoloscope {

struct HttpUrl {
  std::string host;         // "127.0.0.1", "::1" (no brackets), "hooks.local"
  std::string port = "80";  // decimal, 1..65535
  std::string target = "/";
  std::string host_header;  // the authority as written ("[::1]:9093")

  static StatusOr<HttpUrl> Parse(std::string_view text);
};

}  // namespace yoloscope
