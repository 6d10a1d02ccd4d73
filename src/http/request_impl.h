// Internal: the representation behind Request, shared by request.cc, the
// server's connection and Router. Includes Boost.Beast; never include it from
// a public header.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/request.h"

namespace yoloscope::http {

struct Request::Impl {
  using Message = boost::beast::http::request<boost::beast::http::string_body>;

  Message message;
  // Views into message.target(), which lives in the fields' heap storage and
  // is never modified after Finish().
  std::string_view target;
  std::string_view path;
  std::string_view query;
  QueryParams query_params;
  std::vector<std::pair<std::string, std::string>> path_params;
  std::string_view route;  // Points into the Router, which outlives requests.
  std::string peer;
  int64_t receive_ns = 0;

  // Splits the target into path and query and parses the query. Call once,
  // after `message` is complete.
  void Finish();
};

inline std::string_view ToStringView(boost::beast::string_view text) {
  return std::string_view(text.data(), text.size());
}

}  // namespace yoloscope::http
