// HttpServer: an HTTP/1.1 server on Boost.Beast/Asio that knows nothing of
// inference. It reads requests on a pool of I/O threads and hands each one,
// with a Responder, to one HttpHandler (usually Router::AsHandler()).
//
// Connections: keep-alive by default, `Connection: close` honoured, HTTP/1.0
// keep-alive supported. One request in flight per connection: the next
// request (pipelined bytes stay buffered) is read only after the previous
// response is written, so responses are always in request order.
//
// Limits, each answered with `{"error": "..."}` and counted in
// HttpServerStats: body over max_body_bytes -> 413 (decided from
// Content-Length before any of the body is read), header over
// max_header_bytes -> 431, malformed HTTP -> 400, over max_connections or
// max_connections_per_ip -> 503 + close, auth_token set and no matching `Authorization: Bearer` ->
// 401 (except auth_exempt_paths). A request not complete read_timeout after its first byte (or a
// new connection silent that long), an idle keep-alive connection after idle_timeout and a response
// not written within write_timeout close the connection (without a 408).
//
// Every refusal of a request (not of a connection) is also reported to the
// optional HttpRejectionHandler given to Create, so the application can log
// requests its handler never saw.
//
// Timeouts are real time (steady clock); the injected Clock only stamps
// Request::receive_ns.
//
// Thread-safety: Start, Shutdown, stats and the accessors may be called from
// any thread; Shutdown must not be called from a handler (an I/O thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "http/request.h"
#include "http/responder.h"
#include "http/response.h"

namespace yoloscope::http {

struct HttpServerConfig {
  // An IP address literal (IPv4 or IPv6) or "localhost".
  std::string host = "127.0.0.1";
  // 0 picks a free port; HttpServer::port() tells which.
  int port = 8000;  // Triton's HTTP default
  // I/O threads; 0 means std::thread::hardware_concurrency().
  int io_threads = 0;
  int listen_backlog = 1024;
  // Open connections; one more is answered 503 and closed.
  size_t max_connections = 1024;
  // Open connections from one client IP address; one more is answered 503
  // and closed. 0 = no per-address limit (the default: load generators and
  // proxies connect from one address).
  size_t max_connections_per_ip = 0;
  // Request body limit in bytes (413 above it).
  uint64_t max_body_bytes = 32ull * 1024 * 1024;
  // Request line + header fields limit in bytes (431 above it).
  uint32_t max_header_bytes = 16 * 1024;
  // From the first byte of a request until its body is complete; also from
  // accepting a connection until its first byte.
  std::chrono::milliseconds read_timeout{30'000};
  // For writing one response.
  std::chrono::milliseconds write_timeout{30'000};
  // A keep-alive connection waiting for the first byte of its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // After an error response with unread input (413, 401 with a body), input
  // is read and discarded for at most this long before closing, so the
  // client reads the error instead of a connection reset.
  std::chrono::milliseconds linger_timeout{1'000};
  // If not empty, requests need `Authorization: Bearer <auth_token>`.
  std::string auth_token;
  // Paths (exact, without query) served without the token.
  std::vector<std::string> auth_exempt_paths = {"/v2/health/live", "/v2/health/ready", "/metrics"};
  // The Server header field; empty sends none.
  std::string server_name = "yoloscope";
};

// Counters since Create; a snapshot, each field read atomically (fields are
// not mutually consistent to the request).
struct HttpServerStats {
  uint64_t connections_open = 0;
  uint64_t connections_total = 0;  // Accepted and served (rejected ones excluded).
  uint64_t requests_total = 0;     // Complete requests handed to the handler.
  uint64_t responses_2xx = 0;      // Responses written, by status class.
  uint64_t responses_3xx = 0;
  uint64_t responses_4xx = 0;
  uint64_t responses_5xx = 0;
  // Rejected by the server itself, by reason.
  uint64_t rejected_connection_limit = 0;     // 503 at accept.
  uint64_t rejected_ip_connection_limit = 0;  // 503 at accept (max_connections_per_ip).
  uint64_t rejected_body_too_large = 0;       // 413.
  uint64_t rejected_header_too_large = 0;     // 431.
  uint64_t rejected_bad_request = 0;          // 400 malformed HTTP.
  uint64_t rejected_unauthorized = 0;         // 401.
  uint64_t read_timeouts = 0;                 // Request not complete within read_timeout.
  uint64_t write_timeouts = 0;
  uint64_t idle_timeouts = 0;  // Keep-alive connections closed for idleness.
  uint64_t accept_errors = 0;

  // (reason, count) pairs for a labelled counter, e.g.
  // yoloscope_http_rejected_total{reason="body_too_large"}.
  std::vector<std::pair<std::string_view, uint64_t>> RejectedByReason() const;
};

// A request the server refused by itself, before (or instead of) the handler:
// 413 body over max_body_bytes, 431 header over max_header_bytes, 400
// malformed HTTP, 401 missing/wrong bearer token, and a request whose bytes
// stopped arriving before it was complete (read timeout; no response, the
// connection is closed). Not reported: a connection refused at the
// connection limit, or silent/idle until a timeout (no request was read),
// and a client closing mid-request.
//
// What the server had parsed is filled in; the rest is empty. The views and
// `header` are valid only during the handler call.
struct HttpRejection {
  int status = 0;            // 400, 401, 413, 431; 0 = no response (read timeout).
  std::string_view reason;   // "body_too_large", "header_too_large", "bad_request",
                             // "unauthorized", "read_timeout" (HttpServerStats' reasons)
  std::string_view message;  // the error sent to the client (or why it was closed)
  // Clock::NowNs when the request header was read or found unreadable (like
  // Request::receive_ns).
  int64_t receive_ns = 0;
  // Clock::NowNs when the request's first byte arrived (<= receive_ns): the
  // arrival of a request that trickled in and timed out.
  int64_t arrival_ns = 0;
  // Empty when the request line was not parsed.
  std::string_view method, target;
  // The declared body size (Content-Length), when the header had one.
  std::optional<uint64_t> content_length;
  std::string_view peer;
  // The first header field `name` (case-insensitive) among those parsed;
  // nullopt when absent or when no field was parsed.
  std::function<std::optional<std::string_view>(std::string_view name)> header;
};

// Called on an I/O thread for every HttpRejection; must not block (hand
// slow work elsewhere). Exceptions are caught and ignored.
using HttpRejectionHandler = std::function<void(const HttpRejection& rejection)>;

class HttpServer {
 public:
  // Validates `config`, binds and listens (so the port is known and bind
  // errors surface here) but serves nothing until Start. `handler` is called
  // on I/O threads and must not block. `clock` stamps requests; null uses an
  // internal RealClock; not owned, must outlive the server. `on_rejected`
  // (optional) hears of every request the server refuses itself.
  static StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerConfig& config,
                                                      HttpHandler handler, Clock* clock = nullptr,
                                                      HttpRejectionHandler on_rejected = nullptr);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  // Shuts down with no grace period if still serving.
  ~HttpServer();

  // Starts the I/O threads and accepting. FailedPrecondition if already
  // started or shut down.
  Status Start();

  // Stops accepting, closes idle keep-alive connections, lets requests in
  // flight finish (their Responders still work; their responses carry
  // `Connection: close`) and returns once every connection is closed or at
  // `grace` from now, when the rest are closed forcibly. Joins the I/O
  // threads. Returns true when everything drained in time. Idempotent; a
  // second caller waits for the first. Never call from an I/O thread.
  bool Shutdown(std::chrono::milliseconds grace);

  // The bound port (the real one when config.port was 0).
  int port() const;
  const HttpServerConfig& config() const;
  HttpServerStats stats() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope::http
