// Internal to HttpServer: the state shared by the server and its
// connections (ServerState), one I/O thread's context (IoWorker) and one
// client connection (HttpConnection). Includes Boost.Beast; only the
// server's .cc files include this header.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "http/http_server.h"
#include "http/responder.h"
#include "http/response.h"

namespace yoloscope::http::internal {

// Counters behind HttpServerStats; updated from any thread (relaxed, except
// connections_open which Shutdown waits on).
struct ServerCounters {
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> requests_total{0};
  std::atomic<uint64_t> responses_by_class[6] = {};  // Index status / 100.
  std::atomic<uint64_t> rejected_connection_limit{0};
  std::atomic<uint64_t> rejected_ip_connection_limit{0};
  std::atomic<uint64_t> rejected_body_too_large{0};
  std::atomic<uint64_t> rejected_header_too_large{0};
  std::atomic<uint64_t> rejected_bad_request{0};
  std::atomic<uint64_t> rejected_unauthorized{0};
  std::atomic<uint64_t> read_timeouts{0};
  std::atomic<uint64_t> write_timeouts{0};
  std::atomic<uint64_t> idle_timeouts{0};
  std::atomic<uint64_t> accept_errors{0};
  // Rejected (503) connections still writing or lingering.
  std::atomic<uint64_t> rejects_in_progress{0};
};

// Everything connections need from the server. Created before and destroyed
// after every connection; immutable after construction except the atomics
// and what `drain_mu` guards.
struct ServerState {
  ServerState(const HttpServerConfig& config, HttpHandler handler, Clock* clock,
              HttpRejectionHandler on_rejected);

  // Whether `authorization` (the header value, if any) carries the token.
  bool Authorized(std::optional<std::string_view> authorization) const;
  bool AuthExempt(std::string_view path) const;
  // Called once per counted connection when its socket closes.
  void OnConnectionClosed();
  // Per-address connection count (config.max_connections_per_ip > 0): takes
  // a slot for `address`, false when it has none left; ReleaseAddress gives
  // it back.
  bool TryAcquireAddress(const std::string& address);
  void ReleaseAddress(const std::string& address);

  const HttpServerConfig config;
  const HttpHandler handler;
  const HttpRejectionHandler on_rejected;  // may be empty
  Clock* const clock;
  const std::shared_ptr<ResponderGate> gate;
  ServerCounters counters;
  std::atomic<bool> shutting_down{false};
  // Shutdown waits on drain_cv for connections_open to reach 0.
  std::mutex drain_mu;
  std::condition_variable drain_cv;
  std::mutex address_mu;
  std::unordered_map<std::string, size_t> connections_by_address;  // Guarded by address_mu.
};

// The IMF-fixdate for the Date header, reformatted at most once a second.
// Not thread-safe: one per I/O thread.
class DateCache {
 public:
  std::string_view Get();

 private:
  std::time_t formatted_second_ = -1;
  char text_[32] = {};
  size_t size_ = 0;
};

class HttpConnection;

// One I/O thread and what only it touches.
struct IoWorker {
  boost::asio::io_context ioc{1};
  // Live connections of this thread, so Shutdown can find idle ones. I/O
  // thread only.
  std::list<std::shared_ptr<HttpConnection>> connections;
  DateCache date;  // I/O thread only.
  std::thread thread;
};

// One client connection. Every member function except PostResponse runs on
// its worker's I/O thread, which makes the connection's state single-threaded
// (no strand needed). Lifetime: shared_ptr, held by the worker's registry
// while open and by its pending operations; Responders hold only a weak_ptr.
class HttpConnection final : public ResponseTarget,
                             public std::enable_shared_from_this<HttpConnection> {
 public:
  // `counted`: whether the connection is counted in connections_open (a
  // rejected one is not).
  HttpConnection(ServerState& state, IoWorker& worker, boost::asio::ip::tcp::socket socket,
                 bool counted);

  // Registers and starts reading requests. `address` (may be empty): the
  // client address slot this connection holds (ServerState::TryAcquireAddress),
  // released when it closes.
  void Start(std::string address = "");
  // Registers, writes `response` and closes (the 503 of the connection limit).
  void StartRejected(Response response);
  // Shutdown began: close now if idle; otherwise close after the response.
  void BeginShutdown();
  // Close now, whatever the state.
  void ForceClose();

  // Any thread (see ResponseTarget).
  void PostResponse(uint64_t sequence, Response&& response) override;

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
  using ErrorCode = boost::beast::error_code;

  enum class Phase {
    kIdle,      // Waiting for the first byte of a request; no bytes buffered.
    kReading,   // Reading a request's header or body.
    kHandling,  // The handler owns the request; waiting for its Responder.
    kWriting,   // Writing a response.
    kClosed,
  };

  void ReadNextRequest();
  void OnFirstBytes(ErrorCode ec, size_t bytes);
  void ReadHeader();
  void OnHeader(ErrorCode ec);
  void ReadBody();
  void OnBody(ErrorCode ec);
  void OnReadError(ErrorCode ec);
  void Dispatch();
  void OnResponse(uint64_t sequence, Response&& response);
  // Writes `response`; then closes (lingering first if `linger`) or reads on.
  void WriteResponse(Response&& response, bool close, bool linger);
  void OnWrite(ErrorCode ec);
  // Answers an error and closes, lingering to drain unread input; reports
  // the rejection (`reason`) first.
  void RejectAndClose(int status, std::string_view reason, std::string_view message,
                      std::atomic<uint64_t>& counter);
  // Tells state_.on_rejected (if any) about the current request, with what
  // the parser has read of it.
  void ReportRejection(int status, std::string_view reason, std::string_view message);
  void Linger();
  void OnLingerRead(ErrorCode ec, size_t bytes);
  void Close();
  void SerializeHead(const Response& response, size_t content_length, bool close);

  ServerState& state_;
  IoWorker& worker_;
  boost::beast::tcp_stream stream_;
  // Reused across requests: holds pipelined bytes between requests.
  boost::beast::flat_buffer buffer_;
  // Re-emplaced per request (a Beast parser reads one message).
  std::optional<Parser> parser_;
  std::string peer_;
  const bool counted_;
  bool registered_ = false;
  std::list<std::shared_ptr<HttpConnection>>::iterator registry_it_;

  Phase phase_ = Phase::kIdle;
  bool first_request_ = true;  // No byte of any request read yet.
  uint64_t sequence_ = 0;      // Number of the current request.
  int64_t receive_ns_ = 0;
  int64_t arrival_ns_ = 0;  // Clock::NowNs at the current request's first byte.
  std::string address_;     // The held per-address slot; empty if none.
  std::chrono::steady_clock::time_point read_deadline_;
  // Of the current request.
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool is_head_ = false;
  // Of the current write.
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  size_t lingered_bytes_ = 0;
  // The status line and header fields of the current response; reused.
  std::string head_;
  // The response being written (its body is the second write buffer).
  Response response_;
};

}  // namespace yoloscope::http::internal
