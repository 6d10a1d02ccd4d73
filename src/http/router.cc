#include "http/router.h"

#include <algorithm>
#include <utility>

#include "http/header_params.h"
#include "http/query_string.h"
#include "http/request_impl.h"

namespace yoloscope::http {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; "/" gives {} and "/a/" gives {"a",""}.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path == "/") return segments;
  if (path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

Status Router::Add(std::string_view method, std::string_view pattern, HttpHandler handler) {
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    return InvalidArgumentError("invalid HTTP method '" + std::string(method) + "'");
  }
  if (pattern.empty() || pattern.front() != '/') {
    return InvalidArgumentError("route pattern must start with '/': '" + std::string(pattern) +
                                "'");
  }
  if (!handler) return InvalidArgumentError("route " + std::string(pattern) + " has no handler");
  auto route = std::make_unique<Route>();
  route->method.assign(method);
  route->pattern.assign(pattern);
  route->handler = std::move(handler);
  for (std::string_view segment : SplitPath(pattern)) {
    Segment parsed;
    if (!segment.empty() && segment.front() == '{') {
      if (segment.size() < 3 || segment.back() != '}' ||
          segment.find_first_of("{}/", 1) != segment.size() - 1) {
        return InvalidArgumentError("malformed parameter '" + std::string(segment) + "' in route " +
                                    std::string(pattern));
      }
      parsed.is_param = true;
      parsed.text.assign(segment.substr(1, segment.size() - 2));
      for (const Segment& earlier : route->segments) {
        if (earlier.is_param && earlier.text == parsed.text) {
          return InvalidArgumentError("duplicate parameter {" + parsed.text + "} in route " +
                                      std::string(pattern));
        }
      }
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        return InvalidArgumentError("'{' or '}' inside a literal segment of route " +
                                    std::string(pattern));
      }
      parsed.text.assign(segment);
    }
    route->segments.push_back(std::move(parsed));
  }
  for (const auto& existing : routes_) {
    if (existing->method != route->method || existing->segments.size() != route->segments.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < route->segments.size() && same; ++i) {
      const Segment& a = existing->segments[i];
      const Segment& b = route->segments[i];
      same = a.is_param == b.is_param && (a.is_param || a.text == b.text);
    }
    if (same) {
      return AlreadyExistsError("route " + route->method + " " + route->pattern + " duplicates " +
                                existing->pattern);
    }
  }
  routes_.push_back(std::move(route));
  return Status::Ok();
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& path_segments) {
  if (route.segments.size() != path_segments.size()) return false;
  for (size_t i = 0; i < path_segments.size(); ++i) {
    const Segment& segment = route.segments[i];
    if (segment.is_param ? path_segments[i].empty() : segment.text != path_segments[i]) {
      return false;
    }
  }
  return true;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size(); ++i) {
    if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
  }
  return false;
}

void Router::Dispatch(Request request, Responder responder) const {
  std::vector<std::string_view> segments = SplitPath(request.path());
  std::string_view method = request.method();
  const Route* best = nullptr;
  const Route* best_get = nullptr;  // For HEAD without a HEAD route.
  bool path_known = false;
  for (const auto& route : routes_) {
    if (!Match(*route, segments)) continue;
    path_known = true;
    if (route->method == method) {
      if (best == nullptr || MoreSpecific(*route, *best)) best = route.get();
    } else if (method == "HEAD" && route->method == "GET") {
      if (best_get == nullptr || MoreSpecific(*route, *best_get)) best_get = route.get();
    }
  }
  if (best == nullptr) best = best_get;
  if (best == nullptr) {
    if (!path_known) {
      responder.Send(Response::Error(404, "no route for " + std::string(request.path())));
      return;
    }
    // Rare: list the methods of the matching routes for the Allow header.
    std::string allow;
    for (const auto& route : routes_) {
      if (!Match(*route, segments)) continue;
      bool listed = false;
      for (size_t start = 0; start < allow.size() && !listed;) {
        size_t end = allow.find(", ", start);
        if (end == std::string::npos) end = allow.size();
        listed = std::string_view(allow).substr(start, end - start) == route->method;
        start = end + 2;
      }
      if (listed) continue;
      if (!allow.empty()) allow.append(", ");
      allow.append(route->method);
    }
    Response response =
        Response::Error(405, "method " + std::string(method) + " not allowed for " +
                                 std::string(request.path()) + " (allowed: " + allow + ")");
    response.headers.emplace_back("Allow", std::move(allow));
    responder.Send(std::move(response));
    return;
  }
  Request::Impl& impl = *request.impl_;
  impl.route = best->pattern;
  impl.path_params.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (best->segments[i].is_param) {
      impl.path_params.emplace_back(best->segments[i].text, PercentDecode(segments[i], false));
    }
  }
  best->handler(std::move(request), std::move(responder));
}

HttpHandler Router::AsHandler() const {
  return [this](Request request, Responder responder) {
    Dispatch(std::move(request), std::move(responder));
  };
}

}  // namespace yoloscope::http
