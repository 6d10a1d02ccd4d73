// Request: one HTTP request as read by HttpServer, handed to a handler by
// value (a cheap move: one pointer).
//
// Ownership: the Request owns the whole message; every string_view it returns
// points into it and stays valid until the Request is destroyed or moved
// from (TakeBody invalidates only body()). The body is copied once, from the
// socket buffer into the request.
//
// Thread-safety: none; one thread at a time (hand it over by moving it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/query_string.h"

namespace yoloscope::http {

class Router;

class Request {
 public:
  // Built by the server (and by Request::ForTest); see request_impl.h.
  struct Impl;
  explicit Request(std::unique_ptr<Impl> impl);

  Request(Request&&) noexcept;
  Request& operator=(Request&&) noexcept;
  ~Request();

  // A request built without a server, for handler tests. `headers` as
  // (name, value); `receive_ns` stamps it like the server would.
  static Request ForTest(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::string body = {}, int64_t receive_ns = 0,
                         std::string peer = "127.0.0.1:1");

  // "GET", "POST", ... as sent.
  std::string_view method() const;
  // The raw request-target, e.g. "/v1/detect?conf=0.3".
  std::string_view target() const;
  // The target's path, not percent-decoded, e.g. "/v1/detect".
  std::string_view path() const;
  // The target's query without '?', not decoded; empty if none.
  std::string_view query() const;
  // Decoded query parameters, in order (see ParseQueryString).
  const QueryParams& query_params() const;
  // The first value of query parameter `key`, decoded.
  std::optional<std::string_view> query_param(std::string_view key) const;
  // A `{name}` segment of the matched route, percent-decoded (set by Router).
  std::optional<std::string_view> path_param(std::string_view name) const;
  // The pattern of the matched route, e.g. "/v2/models/{model}/infer" (set
  // by Router; a metrics label); empty before routing.
  std::string_view route() const;

  // The first header field named `name`, case-insensitive.
  std::optional<std::string_view> header(std::string_view name) const;
  // Calls `fn(name, value)` for every header field in order.
  void ForEachHeader(const std::function<void(std::string_view, std::string_view)>& fn) const;
  // 11 for HTTP/1.1, 10 for HTTP/1.0.
  int version() const;

  std::string_view body() const;
  // Moves the body out (e.g. into the decode queue); body() is empty after.
  std::string TakeBody();

  // The client's "address:port" ("[v6]:port" for IPv6).
  const std::string& peer() const;
  // Clock::NowNs() when the request headers were completely read: the
  // server's stage times start here.
  int64_t receive_ns() const;

 private:
  friend class Router;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope::http
