#include "bench/served_model.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "bench/request_builder.h"

namespace yoloscope {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct Answer {
  int status = 0;
  std::string body;
};

StatusOr<Answer> Ask(const ParsedUrl& url, http::verb verb, const std::string& target,
                     std::chrono::milliseconds timeout) {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(url.host, std::to_string(url.port)));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    if (verb == http::verb::post) req.body() = "{}";
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return Answer{static_cast<int>(res.result_int()), res.body()};
  } catch (const std::exception& e) {
    return UnavailableError("cannot ask " + url.host + ":" + std::to_string(url.port) + target +
                            ": " + e.what());
  }
}

}  // namespace

StatusOr<std::string> ServedModelName(const std::string& url_text,
                                      std::chrono::milliseconds timeout) {
  YS_ASSIGN_OR_RETURN(ParsedUrl url, ParseHttpUrl(url_text));
  std::string tried;
  auto index = Ask(url, http::verb::post, "/v2/repository/index", timeout);
  if (!index.ok()) return index.status();
  if (index->status == 200) {
    auto j = nlohmann::json::parse(index->body, nullptr, false);
    std::string first;
    if (j.is_array()) {
      for (const auto& m : j) {
        if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) continue;
        if (first.empty()) first = m["name"];
        if (m.value("state", "") == "READY") return m["name"].get<std::string>();
      }
    }
    if (!first.empty()) return first;
  }
  tried = "POST /v2/repository/index answered " + std::to_string(index->status);
  auto stats = Ask(url, http::verb::get, "/v1/stats", timeout);
  if (!stats.ok()) return stats.status();
  if (stats->status == 200) {
    auto j = nlohmann::json::parse(stats->body, nullptr, false);
    if (j.is_object() && j.contains("model") && j["model"].is_string()) {
      return j["model"].get<std::string>();
    }
  }
  tried += ", GET /v1/stats answered " + std::to_string(stats->status);
  return NotFoundError("cannot tell which model " + url_text + " serves (" + tried +
                       "); give --model-name");
}

}  // namespace yoloscope
