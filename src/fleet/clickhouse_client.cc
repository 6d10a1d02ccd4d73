#include "fleet/clickhouse_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>

namespace yoloscope {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

http::request<http::string_body> MakeRequest(const ClickHouseUri& uri, std::string_view sql,
                                             std::string_view data, std::string_view settings) {
  // No `database=` parameter: statements name their tables in full, and
  // CREATE DATABASE must work before the database exists.
  std::string target = "/?";
  std::string body;
  if (data.empty()) {
    // The statement in the body: no URL length limit for long SELECTs.
    body.assign(sql);
  } else {
    target += "query=" + PercentEncode(sql);
    body.assign(data);
  }
  if (!settings.empty()) {
    if (target.back() != '?') target += '&';
    target.append(settings);
  }
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, uri.host);
  req.set("X-ClickHouse-User", uri.user);
  if (!uri.password.empty()) req.set("X-ClickHouse-Key", uri.password);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

class BeastResultStream final : public ClickHouseResultStream {
 public:
  BeastResultStream(std::unique_ptr<boost::asio::io_context> io,
                    std::unique_ptr<beast::tcp_stream> stream, beast::flat_buffer buffer,
                    std::unique_ptr<http::response_parser<http::buffer_body>> parser,
                    std::chrono::milliseconds timeout, std::string where)
      : io_(std::move(io)),
        stream_(std::move(stream)),
        buffer_(std::move(buffer)),
        parser_(std::move(parser)),
        timeout_(timeout),
        where_(std::move(where)) {}

  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (n == 0 || parser_->is_done()) return size_t{0};
    parser_->get().body().data = buf;
    parser_->get().body().size = n;
    beast::error_code ec;
    while (!parser_->is_done() && parser_->get().body().size == n) {
      stream_->expires_after(timeout_);
      http::read_some(*stream_, buffer_, *parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        return UnavailableError("reading the result from ClickHouse at " + where_ + ": " +
                                ec.message());
      }
    }
    return n - parser_->get().body().size;
  }

 private:
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  std::chrono::milliseconds timeout_;
  std::string where_;
};

}  // namespace

std::string ClickHouseQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

Status ClickHouseErrorToStatus(int http_status, std::string_view body, const ClickHouseUri& uri) {
  std::string_view text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  int code = 0;
  if (text.substr(0, 6) == "Code: ") {
    std::from_chars(text.data() + 6, text.data() + text.size(), code);
  }
  // "e.displayText() = DB::Exception: WHAT, e.what() = DB::Exception"
  std::string_view what = text;
  if (size_t p = text.find("DB::Exception: "); p != std::string_view::npos) {
    what = text.substr(p + 15);
    if (size_t e = what.find(", e.what()"); e != std::string_view::npos) what = what.substr(0, e);
  }
  const std::string where = "ClickHouse at " + uri.Describe();
  const std::string said = std::string(what.substr(0, 500));
  switch (code) {
    case 192:  // UNKNOWN_USER
    case 193:  // WRONG_PASSWORD
    case 194:  // REQUIRED_PASSWORD
    case 195:  // IP_ADDRESS_NOT_ALLOWED
    case 516:  // AUTHENTICATION_FAILED (newer servers)
      return FailedPreconditionError(where + " refused user '" + uri.user + "': " + said);
    case 81:  // UNKNOWN_DATABASE
    case 60:  // UNKNOWN_TABLE
      return NotFoundError(where + ": " + said + " (create the schema with `yoloscope db init`)");
    default:
      break;
  }
  if (code == 0) {
    return UnavailableError(where + " answered HTTP " + std::to_string(http_status) + ": " + said);
  }
  return InvalidArgumentError(where + " rejected the statement (code " + std::to_string(code) +
                              "): " + said);
}

StatusOr<std::unique_ptr<ClickHouseClient>> ClickHouseClient::Create(
    const ClickHouseUri& uri, const ClickHouseClientConfig& config) {
  if (uri.host.empty()) return InvalidArgumentError("ClickHouse URI without a host");
  if (config.timeout.count() <= 0) return InvalidArgumentError("ClickHouse timeout must be > 0");
  return std::unique_ptr<ClickHouseClient>(new ClickHouseClient(uri, config));
}

StatusOr<std::string> ClickHouseClient::Execute(std::string_view sql, std::string_view data,
                                                std::string_view settings) const {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(config_.timeout);
    stream.connect(resolver.resolve(uri_.host, std::to_string(uri_.port)));
    auto req = MakeRequest(uri_, sql, data, settings);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    const auto& res = parser.get();
    if (res.result_int() != 200) {
      return ClickHouseErrorToStatus(static_cast<int>(res.result_int()), res.body(), uri_);
    }
    return res.body();
  } catch (const std::exception& e) {
    return UnavailableError("cannot reach ClickHouse at " + uri_.Describe() + ": " + e.what());
  }
}

StatusOr<std::unique_ptr<ClickHouseResultStream>> ClickHouseClient::Select(
    std::string_view sql) const {
  try {
    auto io = std::make_unique<boost::asio::io_context>();
    tcp::resolver resolver(*io);
    auto stream = std::make_unique<beast::tcp_stream>(*io);
    stream->expires_after(config_.timeout);
    stream->connect(resolver.resolve(uri_.host, std::to_string(uri_.port)));
    auto req = MakeRequest(uri_, sql, {}, {});
    http::write(*stream, req);
    beast::flat_buffer buffer;
    auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
    parser->body_limit(boost::none);
    http::read_header(*stream, buffer, *parser);
    if (parser->get().result_int() != 200) {
      // An error body is short: read it whole for the message.
      const int status = static_cast<int>(parser->get().result_int());
      std::string body;
      char chunk[4096];
      beast::error_code ec;
      while (!parser->is_done() && body.size() < 65536) {
        parser->get().body().data = chunk;
        parser->get().body().size = sizeof(chunk);
        http::read_some(*stream, buffer, *parser, ec);
        if (ec == http::error::need_buffer) ec = {};
        body.append(chunk, sizeof(chunk) - parser->get().body().size);
        if (ec) break;
      }
      return ClickHouseErrorToStatus(status, body, uri_);
    }
    return std::unique_ptr<ClickHouseResultStream>(
        new BeastResultStream(std::move(io), std::move(stream), std::move(buffer),
                              std::move(parser), config_.timeout, uri_.Describe()));
  } catch (const std::exception& e) {
    return UnavailableError("cannot reach ClickHouse at " + uri_.Describe() + ": " + e.what());
  }
}

}  // namespace yoloscope
