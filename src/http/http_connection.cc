#include "http/http_connection.h"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <cstdio>
#include <utility>

#include "http/header_params.h"
#include "http/request_impl.h"

namespace yoloscope::http::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Read size of the first read of a request; Beast sizes later reads itself.
constexpr size_t kFirstReadBytes = 16 * 1024;
// A lingering close discards at most this much input before closing anyway.
constexpr size_t kMaxLingerBytes = 8 * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

void AppendNumber(std::string& out, uint64_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

bool IsServerOwnedField(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "date") ||
         EqualsIgnoreCase(name, "server");
}

bool IsValidFieldValue(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

std::string FormatPeer(const asio::ip::tcp::socket& socket) {
  beast::error_code ec;
  asio::ip::tcp::endpoint endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string text = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                : endpoint.address().to_string();
  text.push_back(':');
  AppendNumber(text, endpoint.port());
  return text;
}

}  // namespace

// ServerState ---------------------------------------------------------------

ServerState::ServerState(const HttpServerConfig& config_in, HttpHandler handler_in, Clock* clock_in,
                         HttpRejectionHandler on_rejected_in)
    : config(config_in),
      handler(std::move(handler_in)),
      on_rejected(std::move(on_rejected_in)),
      clock(clock_in),
      gate(std::make_shared<ResponderGate>()) {}

bool ServerState::Authorized(std::optional<std::string_view> authorization) const {
  if (!authorization) return false;
  std::string_view value = TrimWhitespace(*authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size() ||
      !EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  std::string_view token = TrimWhitespace(value.substr(kScheme.size()));
  const std::string& expected = config.auth_token;
  if (token.size() != expected.size()) return false;
  // Constant time in the token's content, so timing does not reveal a prefix.
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(token[i] ^ expected[i]);
  }
  return diff == 0;
}

bool ServerState::AuthExempt(std::string_view path) const {
  for (const std::string& exempt : config.auth_exempt_paths) {
    if (exempt == path) return true;
  }
  return false;
}

void ServerState::OnConnectionClosed() {
  counters.connections_open.fetch_sub(1);
  if (shutting_down.load()) {
    // Taking the mutex orders this with Shutdown's predicate check, so the
    // wake-up cannot be lost.
    { std::lock_guard<std::mutex> lock(drain_mu); }
    drain_cv.notify_all();
  }
}

bool ServerState::TryAcquireAddress(const std::string& address) {
  std::lock_guard<std::mutex> lock(address_mu);
  size_t& count = connections_by_address[address];
  if (count >= config.max_connections_per_ip) {
    if (count == 0) connections_by_address.erase(address);
    return false;
  }
  ++count;
  return true;
}

void ServerState::ReleaseAddress(const std::string& address) {
  std::lock_guard<std::mutex> lock(address_mu);
  auto it = connections_by_address.find(address);
  if (it == connections_by_address.end()) return;
  if (--it->second == 0) connections_by_address.erase(it);
}

// DateCache -----------------------------------------------------------------

std::string_view DateCache::Get() {
  std::time_t now = std::time(nullptr);
  if (now != formatted_second_) {
    static constexpr char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    // Formatted by hand: strftime's names follow the locale.
    int n = std::snprintf(text_, sizeof(text_), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                          kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                          tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    size_ = n > 0 ? static_cast<size_t>(n) : 0;
    formatted_second_ = now;
  }
  return std::string_view(text_, size_);
}

// HttpConnection ------------------------------------------------------------

HttpConnection::HttpConnection(ServerState& state, IoWorker& worker, asio::ip::tcp::socket socket,
                               bool counted)
    : state_(state), worker_(worker), stream_(std::move(socket)), counted_(counted) {
  head_.reserve(256);
}

void HttpConnection::Start(std::string address) {
  address_ = std::move(address);
  registry_it_ = worker_.connections.insert(worker_.connections.end(), shared_from_this());
  registered_ = true;
  if (state_.shutting_down.load()) {
    Close();
    return;
  }
  peer_ = FormatPeer(stream_.socket());
  ReadNextRequest();
}

void HttpConnection::StartRejected(Response response) {
  registry_it_ = worker_.connections.insert(worker_.connections.end(), shared_from_this());
  registered_ = true;
  keep_alive_ = false;
  phase_ = Phase::kHandling;
  WriteResponse(std::move(response), /*close=*/true, /*linger=*/true);
}

void HttpConnection::BeginShutdown() {
  // Other phases see shutting_down when their response is written.
  if (phase_ == Phase::kIdle) Close();
}

void HttpConnection::ForceClose() { Close(); }

void HttpConnection::PostResponse(uint64_t sequence, Response&& response) {
  // Completing on the I/O thread itself (a handler answering inline) skips
  // a round trip through the queue; OnResponse only starts a write.
  if (worker_.ioc.get_executor().running_in_this_thread()) {
    OnResponse(sequence, std::move(response));
    return;
  }
  asio::post(worker_.ioc,
             [self = shared_from_this(), sequence, response = std::move(response)]() mutable {
               self->OnResponse(sequence, std::move(response));
             });
}

void HttpConnection::ReadNextRequest() {
  if (state_.shutting_down.load()) {
    Close();
    return;
  }
  parser_.emplace();
  parser_->header_limit(state_.config.max_header_bytes);
  parser_->body_limit(state_.config.max_body_bytes);
  if (buffer_.size() > 0) {  // Pipelined bytes: no idle wait.
    arrival_ns_ = state_.clock->NowNs();
    ReadHeader();
    return;
  }
  // A kept-alive connection waits for its next request under the idle
  // timeout; a new one that has sent nothing yet is a stalled client, under
  // the read timeout. Otherwise the read timeout starts with the first byte.
  phase_ = Phase::kIdle;
  stream_.expires_after(first_request_ ? state_.config.read_timeout : state_.config.idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(kFirstReadBytes),
      [self = shared_from_this()](ErrorCode ec, size_t bytes) { self->OnFirstBytes(ec, bytes); });
}

void HttpConnection::OnFirstBytes(ErrorCode ec, size_t bytes) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    if (ec == beast::error::timeout) {
      (first_request_ ? state_.counters.read_timeouts : state_.counters.idle_timeouts)
          .fetch_add(1, std::memory_order_relaxed);
    }
    Close();
    return;
  }
  // The request's arrival: a record of a request that then trickles in
  // and times out starts here, not when the server gave up on it.
  arrival_ns_ = state_.clock->NowNs();
  buffer_.commit(bytes);
  ReadHeader();
}

void HttpConnection::ReadHeader() {
  phase_ = Phase::kReading;
  first_request_ = false;
  read_deadline_ = std::chrono::steady_clock::now() + state_.config.read_timeout;
  stream_.expires_at(read_deadline_);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](ErrorCode ec, size_t) { self->OnHeader(ec); });
}

void HttpConnection::OnHeader(ErrorCode ec) {
  if (phase_ == Phase::kClosed) return;
  receive_ns_ = state_.clock->NowNs();
  if (ec) {
    OnReadError(ec);
    return;
  }
  const Request::Impl::Message& message = parser_->get();
  if (!state_.config.auth_token.empty()) {
    std::string_view target = ToStringView(message.target());
    std::string_view path = target.substr(0, target.find('?'));
    if (!state_.AuthExempt(path)) {
      auto it = message.find(bhttp::field::authorization);
      std::optional<std::string_view> authorization;
      if (it != message.end()) authorization = ToStringView(it->value());
      if (!state_.Authorized(authorization)) {
        const std::string_view why =
            authorization ? "invalid bearer token" : "missing bearer token";
        Response response = Response::Error(401, why);
        response.headers.emplace_back("WWW-Authenticate", "Bearer");
        state_.counters.rejected_unauthorized.fetch_add(1, std::memory_order_relaxed);
        ReportRejection(401, "unauthorized", why);
        version_ = message.version();
        keep_alive_ = message.keep_alive();
        is_head_ = message.method() == bhttp::verb::head;
        phase_ = Phase::kHandling;
        // An unread body cannot be skipped on a kept-alive connection.
        bool body_pending = !parser_->is_done();
        WriteResponse(std::move(response), /*close=*/body_pending || !keep_alive_,
                      /*linger=*/body_pending);
        return;
      }
    }
  }
  if (parser_->is_done()) {
    Dispatch();
    return;
  }
  auto expect = message.find(bhttp::field::expect);
  if (expect != message.end() && beast::iequals(expect->value(), "100-continue")) {
    // Clients such as curl wait (1 s) for this before sending a large body.
    stream_.expires_after(state_.config.write_timeout);
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](ErrorCode write_ec, size_t) {
                        if (self->phase_ == Phase::kClosed) return;
                        if (write_ec) {
                          if (write_ec == beast::error::timeout) {
                            self->state_.counters.write_timeouts.fetch_add(1);
                          }
                          self->Close();
                          return;
                        }
                        self->ReadBody();
                      });
    return;
  }
  ReadBody();
}

void HttpConnection::ReadBody() {
  stream_.expires_at(read_deadline_);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](ErrorCode ec, size_t) { self->OnBody(ec); });
}

void HttpConnection::OnBody(ErrorCode ec) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    OnReadError(ec);
    return;
  }
  Dispatch();
}

void HttpConnection::OnReadError(ErrorCode ec) {
  ServerCounters& counters = state_.counters;
  if (ec == beast::error::timeout) {
    // The stream has already closed the socket: no 408 is possible. Some of
    // a request had arrived (we are past its first bytes), so it counts as
    // a refused request.
    counters.read_timeouts.fetch_add(1, std::memory_order_relaxed);
    ReportRejection(0, "read_timeout",
                    "request not complete within read_timeout (" +
                        std::to_string(state_.config.read_timeout.count()) + " ms)");
    Close();
  } else if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
             ec == asio::error::eof || ec == asio::error::connection_reset ||
             ec == asio::error::operation_aborted || ec == asio::error::broken_pipe) {
    Close();  // The client left (or Shutdown closed us); nobody to answer.
  } else if (ec == bhttp::error::body_limit) {
    RejectAndClose(413, "body_too_large",
                   "request body exceeds the limit of " +
                       std::to_string(state_.config.max_body_bytes) + " bytes",
                   counters.rejected_body_too_large);
  } else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    RejectAndClose(431, "header_too_large",
                   "request header exceeds the limit of " +
                       std::to_string(state_.config.max_header_bytes) + " bytes",
                   counters.rejected_header_too_large);
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
    RejectAndClose(400, "bad_request", "malformed HTTP request: " + ec.message(),
                   counters.rejected_bad_request);
  } else {
    Close();  // Some other socket error.
  }
}

void HttpConnection::Dispatch() {
  auto impl = std::make_unique<Request::Impl>();
  impl->message = parser_->release();
  impl->peer = peer_;
  impl->receive_ns = receive_ns_;
  impl->Finish();
  version_ = impl->message.version();
  keep_alive_ = impl->message.keep_alive();
  is_head_ = impl->message.method() == bhttp::verb::head;
  phase_ = Phase::kHandling;
  ++sequence_;
  // The handler may take as long as it likes; no timer runs meanwhile.
  stream_.expires_never();
  state_.counters.requests_total.fetch_add(1, std::memory_order_relaxed);
  Responder responder(weak_from_this(), state_.gate, sequence_);
  try {
    state_.handler(Request(std::move(impl)), std::move(responder));
  } catch (...) {
    // The handler's Responder was destroyed unsent during unwinding and has
    // answered 500; nothing else to do, and nothing may escape onto the
    // I/O thread.
  }
  // The handler may have completed inline: do not touch the state here.
}

void HttpConnection::OnResponse(uint64_t sequence, Response&& response) {
  if (phase_ != Phase::kHandling || sequence != sequence_) return;  // Closed meanwhile.
  bool close = !keep_alive_ || response.close_connection || state_.shutting_down.load();
  WriteResponse(std::move(response), close, /*linger=*/false);
}

void HttpConnection::ReportRejection(int status, std::string_view reason,
                                     std::string_view message) {
  if (!state_.on_rejected) return;
  HttpRejection rejection;
  rejection.status = status;
  rejection.reason = reason;
  rejection.message = message;
  rejection.receive_ns = receive_ns_;
  rejection.arrival_ns = arrival_ns_ != 0 && arrival_ns_ <= receive_ns_ ? arrival_ns_ : receive_ns_;
  rejection.peer = peer_;
  if (parser_) {
    // What the parser got to: the request line and the fields before the
    // error (all of them for 401 and a Content-Length over the limit).
    const Request::Impl::Message& m = parser_->get();
    rejection.method = ToStringView(m.method_string());
    rejection.target = ToStringView(m.target());
    // From the field, not parser_->content_length(), which needs a finished
    // header (a body over the limit stops the parser just before).
    auto length = m.find(bhttp::field::content_length);
    if (length != m.end()) {
      std::string_view text = TrimWhitespace(ToStringView(length->value()));
      uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
        rejection.content_length = value;
      }
    }
    rejection.header = [&m](std::string_view name) -> std::optional<std::string_view> {
      auto it = m.find(beast::string_view(name.data(), name.size()));
      if (it == m.end()) return std::nullopt;
      return ToStringView(it->value());
    };
  }
  try {
    state_.on_rejected(rejection);
  } catch (...) {
    // Nothing may escape onto the I/O thread.
  }
}

void HttpConnection::RejectAndClose(int status, std::string_view reason, std::string_view message,
                                    std::atomic<uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
  ReportRejection(status, reason, message);
  keep_alive_ = false;
  is_head_ = false;
  phase_ = Phase::kHandling;
  WriteResponse(Response::Error(status, message), /*close=*/true, /*linger=*/true);
}

void HttpConnection::SerializeHead(const Response& response, size_t content_length, bool close) {
  head_.clear();
  head_.append("HTTP/1.1 ");
  AppendNumber(head_, static_cast<uint64_t>(response.status));
  head_.push_back(' ');
  bhttp::status status = bhttp::int_to_status(static_cast<unsigned>(response.status));
  if (status == bhttp::status::unknown) {
    head_.append("Status");
  } else {
    head_.append(ToStringView(bhttp::obsolete_reason(status)));
  }
  head_.append("\r\n");
  if (!state_.config.server_name.empty()) {
    head_.append("Server: ");
    head_.append(state_.config.server_name);
    head_.append("\r\n");
  }
  head_.append("Date: ");
  head_.append(worker_.date.Get());
  head_.append("\r\n");
  if (!response.content_type.empty() && IsValidFieldValue(response.content_type)) {
    head_.append("Content-Type: ");
    head_.append(response.content_type);
    head_.append("\r\n");
  }
  bool bodiless_status = response.status == 204 || response.status == 304;
  if (!bodiless_status) {
    head_.append("Content-Length: ");
    AppendNumber(head_, content_length);
    head_.append("\r\n");
  }
  if (close) {
    head_.append("Connection: close\r\n");
  } else if (version_ == 10) {
    head_.append("Connection: keep-alive\r\n");
  }
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar) ||
        !IsValidFieldValue(value) || IsServerOwnedField(name)) {
      continue;
    }
    head_.append(name);
    head_.append(": ");
    head_.append(value);
    head_.append("\r\n");
  }
  head_.append("\r\n");
}

void HttpConnection::WriteResponse(Response&& response, bool close, bool linger) {
  if (response.status < 200 || response.status > 599) {
    // 1xx are interim; a handler cannot end a request with one.
    response = Response::Error(
        500, "internal error: invalid response status " + std::to_string(response.status));
  }
  phase_ = Phase::kWriting;
  close_after_write_ = close;
  linger_after_write_ = linger;
  response_ = std::move(response);
  if (response_.status == 204 || response_.status == 304) response_.body.clear();
  size_t content_length = response_.body.size();
  SerializeHead(response_, content_length, close);
  state_.counters.responses_by_class[response_.status / 100].fetch_add(1,
                                                                       std::memory_order_relaxed);
  std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head_), is_head_ ? asio::const_buffer() : asio::buffer(response_.body)};
  stream_.expires_after(state_.config.write_timeout);
  asio::async_write(stream_, buffers,
                    [self = shared_from_this()](ErrorCode ec, size_t) { self->OnWrite(ec); });
}

void HttpConnection::OnWrite(ErrorCode ec) {
  if (phase_ == Phase::kClosed) return;
  // Drop the body now rather than at the next response.
  response_ = Response();
  if (ec) {
    if (ec == beast::error::timeout) {
      state_.counters.write_timeouts.fetch_add(1, std::memory_order_relaxed);
    }
    Close();
    return;
  }
  if (close_after_write_) {
    if (linger_after_write_) {
      Linger();
    } else {
      Close();
    }
    return;
  }
  ReadNextRequest();
}

void HttpConnection::Linger() {
  // Closing a socket with unread input makes the kernel send a reset, which
  // can destroy the error response before the client reads it; so announce
  // the end of our output and drain input for a while first.
  phase_ = Phase::kWriting;
  ErrorCode ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  lingered_bytes_ = 0;
  buffer_.clear();
  stream_.expires_after(state_.config.linger_timeout);
  stream_.async_read_some(
      buffer_.prepare(kFirstReadBytes),
      [self = shared_from_this()](ErrorCode ec, size_t bytes) { self->OnLingerRead(ec, bytes); });
}

void HttpConnection::OnLingerRead(ErrorCode ec, size_t bytes) {
  if (phase_ == Phase::kClosed) return;
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ > kMaxLingerBytes) {
    Close();
    return;
  }
  stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                          [self = shared_from_this()](ErrorCode read_ec, size_t read_bytes) {
                            self->OnLingerRead(read_ec, read_bytes);
                          });
}

void HttpConnection::Close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  // Keeps this alive while it leaves the registry.
  std::shared_ptr<HttpConnection> self = shared_from_this();
  ErrorCode ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();  // Cancels pending operations and the timer.
  parser_.reset();
  response_ = Response();
  if (registered_) {
    worker_.connections.erase(registry_it_);
    registered_ = false;
  }
  if (!address_.empty()) {
    state_.ReleaseAddress(address_);
    address_.clear();
  }
  if (counted_) {
    state_.OnConnectionClosed();
  } else {
    state_.counters.rejects_in_progress.fetch_sub(1);
  }
}

}  // namespace yoloscope::http::internal
