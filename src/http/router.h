// Router: maps method + path to handlers. Patterns are absolute paths whose
// segments are literals or `{name}` parameters, e.g.
// "/v2/models/{model}/infer". A parameter matches one non-empty segment and
// is percent-decoded into Request::path_param. When several patterns match,
// the one with a literal at the first differing segment wins
// ("/v2/models/stats" beats "/v2/models/{model}").
//
// Unknown paths get 404 and known paths with another method 405 (with an
// Allow header), both as `{"error": "..."}`. HEAD is served by the GET
// handler when no HEAD route exists (the server drops the body).
//
// Thread-safety: Add is not thread-safe and must finish before the server
// starts; Dispatch is const and safe from any number of threads.
// Lifetime: the Router must outlive the server that calls it (requests keep
// views into its patterns, see Request::route).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/request.h"
#include "http/responder.h"

namespace yoloscope::http {

class Router {
 public:
  Router() = default;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers `handler` for `method` (upper-case token) and `pattern`.
  // InvalidArgument on a malformed pattern (not starting with '/', an empty
  // or duplicate parameter name, a '{' not spanning a whole segment);
  // AlreadyExists when the same method has an equivalent pattern.
  Status Add(std::string_view method, std::string_view pattern, HttpHandler handler);

  // Routes `request` (sets its path params and route) and calls the handler,
  // or answers 404/405 itself.
  void Dispatch(Request request, Responder responder) const;

  // A handler for HttpServer::Create that dispatches through this Router.
  HttpHandler AsHandler() const;

 private:
  struct Segment {
    std::string text;  // Literal text, or the parameter name.
    bool is_param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    HttpHandler handler;
  };

  // Whether `path_segments` (the path split at '/') match `route`.
  static bool Match(const Route& route, const std::vector<std::string_view>& path_segments);
  // True when `a` is more specific than `b` (both match the same path).
  static bool MoreSpecific(const Route& a, const Route& b);

  // unique_ptr keeps each Route (and the pattern strings requests point at)
  // at a fixed address.
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace yoloscope::http
