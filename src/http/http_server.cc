#include "http/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <system_error>

#include "http/http_connection.h"

namespace yoloscope::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using internal::HttpConnection;
using internal::IoWorker;
using internal::ServerState;

namespace {

// Rejected connections (503) being answered at once; beyond this a new one
// is closed without an answer, so a connection flood cannot pin descriptors.
constexpr uint64_t kMaxRejectsInProgress = 256;
// After accept fails for lack of descriptors or memory, wait this long.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

Status ValidateConfig(const HttpServerConfig& config) {
  if (config.port < 0 || config.port > 65535) {
    return InvalidArgumentError("port must be 0..65535, got " + std::to_string(config.port));
  }
  if (config.io_threads < 0 || config.io_threads > 1024) {
    return InvalidArgumentError("io_threads must be 0..1024");
  }
  if (config.listen_backlog <= 0) return InvalidArgumentError("listen_backlog must be > 0");
  if (config.max_connections == 0) return InvalidArgumentError("max_connections must be > 0");
  if (config.max_body_bytes == 0) return InvalidArgumentError("max_body_bytes must be > 0");
  if (config.max_header_bytes < 64) return InvalidArgumentError("max_header_bytes must be >= 64");
  for (auto timeout :
       {config.read_timeout, config.write_timeout, config.idle_timeout, config.linger_timeout}) {
    if (timeout.count() <= 0) return InvalidArgumentError("timeouts must be > 0 ms");
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::pair<std::string_view, uint64_t>> HttpServerStats::RejectedByReason() const {
  return {{"connection_limit", rejected_connection_limit},
          {"ip_connection_limit", rejected_ip_connection_limit},
          {"body_too_large", rejected_body_too_large},
          {"header_too_large", rejected_header_too_large},
          {"bad_request", rejected_bad_request},
          {"unauthorized", rejected_unauthorized},
          {"read_timeout", read_timeouts},
          {"write_timeout", write_timeouts}};
}

struct HttpServer::Impl {
  Impl(const HttpServerConfig& config, HttpHandler handler, Clock* clock,
       HttpRejectionHandler on_rejected)
      : own_clock(clock == nullptr ? std::make_unique<RealClock>() : nullptr),
        state(config, std::move(handler), clock == nullptr ? own_clock.get() : clock,
              std::move(on_rejected)) {}

  ~Impl() {
    // Handlers still queued hold connections whose sockets belong to these
    // contexts: the acceptor's context goes first (its pending accept holds
    // a socket of another context), then the others.
    acceptor.reset();
    accept_retry_timer.reset();
    for (auto& worker : workers) worker.reset();
  }

  void RunWorker(IoWorker& worker) {
    while (true) {
      try {
        worker.ioc.run();
        return;
      } catch (...) {
        // Handlers catch everything they can; should one throw anyway, keep
        // serving the other connections.
      }
    }
  }

  // On the acceptor's I/O thread.
  void DoAccept() {
    if (state.shutting_down.load()) return;
    IoWorker& target = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    // The socket is born on its connection's context, so it never moves.
    acceptor->async_accept(
        asio::any_io_executor(target.ioc.get_executor()),
        [this, &target](const boost::system::error_code& ec, tcp::socket socket) {
          OnAccept(ec, std::move(socket), target);
        });
  }

  void OnAccept(const boost::system::error_code& ec, tcp::socket socket, IoWorker& target) {
    if (ec == asio::error::operation_aborted || state.shutting_down.load()) return;
    internal::ServerCounters& counters = state.counters;
    if (ec) {
      counters.accept_errors.fetch_add(1, std::memory_order_relaxed);
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
          ec == asio::error::no_memory) {
        // Retrying at once would spin; let connections close first.
        accept_retry_timer->expires_after(kAcceptRetryDelay);
        accept_retry_timer->async_wait([this](const boost::system::error_code& timer_ec) {
          if (!timer_ec) DoAccept();
        });
        return;
      }
      DoAccept();
      return;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // Responses are small and latency-bound.
    // The per-address slot, when that limit is on.
    std::string address;
    bool address_full = false;
    if (state.config.max_connections_per_ip > 0) {
      tcp::endpoint remote = socket.remote_endpoint(ignored);
      address = ignored ? std::string("unknown") : remote.address().to_string();
      address_full = !state.TryAcquireAddress(address);
    }
    if (address_full || counters.connections_open.load() >= state.config.max_connections) {
      (address_full ? counters.rejected_ip_connection_limit : counters.rejected_connection_limit)
          .fetch_add(1, std::memory_order_relaxed);
      if (!address_full && !address.empty()) state.ReleaseAddress(address);
      if (counters.rejects_in_progress.load() >= kMaxRejectsInProgress) {
        socket.close(ignored);
      } else {
        counters.rejects_in_progress.fetch_add(1);
        auto connection = std::make_shared<HttpConnection>(state, target, std::move(socket),
                                                           /*counted=*/false);
        Response response = Response::Error(
            503, address_full ? "too many connections from " + address + " (limit " +
                                    std::to_string(state.config.max_connections_per_ip) + ")"
                              : "too many connections (limit " +
                                    std::to_string(state.config.max_connections) + ")");
        response.headers.emplace_back("Retry-After", "1");
        asio::post(target.ioc, [connection, response = std::move(response)]() mutable {
          connection->StartRejected(std::move(response));
        });
      }
    } else {
      counters.connections_open.fetch_add(1);
      counters.connections_total.fetch_add(1, std::memory_order_relaxed);
      auto connection = std::make_shared<HttpConnection>(state, target, std::move(socket),
                                                         /*counted=*/true);
      asio::post(target.ioc, [connection, address = std::move(address)]() mutable {
        connection->Start(std::move(address));
      });
    }
    DoAccept();
  }

  // Runs `fn(connection)` for every connection of every worker, each on its
  // own I/O thread.
  template <typename Fn>
  void ForEachConnection(Fn fn) {
    for (auto& worker : workers) {
      IoWorker* w = worker.get();
      asio::post(w->ioc, [w, fn] {
        // A copy: fn may close a connection, which leaves the list.
        std::vector<std::shared_ptr<HttpConnection>> connections(w->connections.begin(),
                                                                 w->connections.end());
        for (auto& connection : connections) fn(*connection);
      });
    }
  }

  std::unique_ptr<RealClock> own_clock;
  ServerState state;
  std::vector<std::unique_ptr<IoWorker>> workers;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_guards;
  std::unique_ptr<tcp::acceptor> acceptor;                 // On workers[0].
  std::unique_ptr<asio::steady_timer> accept_retry_timer;  // On workers[0].
  size_t next_worker = 0;                                  // Acceptor's thread only.
  int port = 0;

  std::mutex lifecycle_mu;  // Serializes Start and Shutdown.
  bool started = false;     // Guarded by lifecycle_mu.
  bool stopped = false;     // Guarded by lifecycle_mu.
  bool drained = true;      // Guarded by lifecycle_mu; the first Shutdown's result.
};

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerConfig& config,
                                                         HttpHandler handler, Clock* clock,
                                                         HttpRejectionHandler on_rejected) {
  YS_RETURN_IF_ERROR(ValidateConfig(config));
  if (!handler) return InvalidArgumentError("HttpServer needs a handler");
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(config.host, ec);
  if (ec) {
    if (config.host != "localhost") {
      return InvalidArgumentError("host must be an IP address or localhost, got '" + config.host +
                                  "'");
    }
    address = asio::ip::address_v4::loopback();
  }
  auto impl = std::make_unique<Impl>(config, std::move(handler), clock, std::move(on_rejected));
  int threads = config.io_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 0; i < threads; ++i) impl->workers.push_back(std::make_unique<IoWorker>());

  asio::io_context& accept_context = impl->workers.front()->ioc;
  impl->acceptor = std::make_unique<tcp::acceptor>(accept_context);
  impl->accept_retry_timer = std::make_unique<asio::steady_timer>(accept_context);
  tcp::endpoint endpoint(address, static_cast<unsigned short>(config.port));
  std::string where = config.host + ":" + std::to_string(config.port);
  impl->acceptor->open(endpoint.protocol(), ec);
  if (ec) return UnavailableError("socket for " + where + ": " + ec.message());
  impl->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  impl->acceptor->bind(endpoint, ec);
  if (ec) return UnavailableError("bind " + where + ": " + ec.message());
  impl->acceptor->listen(config.listen_backlog, ec);
  if (ec) return UnavailableError("listen on " + where + ": " + ec.message());
  impl->port = impl->acceptor->local_endpoint(ec).port();
  if (ec) return UnavailableError("local address of " + where + ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(std::chrono::milliseconds(0)); }

Status HttpServer::Start() {
  std::lock_guard<std::mutex> lock(impl_->lifecycle_mu);
  if (impl_->started) return FailedPreconditionError("HttpServer already started");
  if (impl_->stopped) return FailedPreconditionError("HttpServer was shut down");
  for (auto& worker : impl_->workers) {
    impl_->work_guards.push_back(asio::make_work_guard(worker->ioc));
  }
  for (auto& worker : impl_->workers) {
    IoWorker* w = worker.get();
    try {
      w->thread = std::thread([this, w] { impl_->RunWorker(*w); });
    } catch (const std::system_error& error) {
      // Threads already running stop in Shutdown, which must now know they exist.
      impl_->started = true;
      return InternalError(std::string("cannot start an HTTP I/O thread: ") + error.what());
    }
  }
  asio::post(impl_->workers.front()->ioc, [impl = impl_.get()] { impl->DoAccept(); });
  impl_->started = true;
  return Status::Ok();
}

bool HttpServer::Shutdown(std::chrono::milliseconds grace) {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.lifecycle_mu);
  if (impl.stopped) return impl.drained;
  auto deadline = std::chrono::steady_clock::now() + grace;
  impl.state.shutting_down.store(true);
  if (!impl.started) {
    boost::system::error_code ignored;
    impl.acceptor->close(ignored);
  } else {
    asio::post(impl.workers.front()->ioc, [&impl] {
      boost::system::error_code ignored;
      impl.acceptor->close(ignored);
      impl.accept_retry_timer->cancel();
    });
    impl.ForEachConnection([](HttpConnection& connection) { connection.BeginShutdown(); });
    {
      std::unique_lock<std::mutex> drain_lock(impl.state.drain_mu);
      impl.drained = impl.state.drain_cv.wait_until(drain_lock, deadline, [&impl] {
        return impl.state.counters.connections_open.load() == 0;
      });
    }
  }
  {
    // From here on a Responder's Send does nothing, so none can post to a
    // context that is about to stop.
    std::lock_guard<std::mutex> gate_lock(impl.state.gate->mu);
    impl.state.gate->open = false;
  }
  if (impl.started) {
    for (auto& worker : impl.workers) {
      IoWorker* w = worker.get();
      // Close whatever the grace period left open, then stop this thread;
      // handlers still queued are destroyed with the context.
      asio::post(w->ioc, [w] {
        std::vector<std::shared_ptr<HttpConnection>> connections(w->connections.begin(),
                                                                 w->connections.end());
        for (auto& connection : connections) connection->ForceClose();
        w->ioc.stop();
      });
    }
    impl.work_guards.clear();
    for (auto& worker : impl.workers) {
      if (worker->thread.joinable()) worker->thread.join();
    }
  }
  impl.stopped = true;
  return impl.drained;
}

int HttpServer::port() const { return impl_->port; }

const HttpServerConfig& HttpServer::config() const { return impl_->state.config; }

HttpServerStats HttpServer::stats() const {
  const internal::ServerCounters& c = impl_->state.counters;
  auto load = [](const std::atomic<uint64_t>& value) {
    return value.load(std::memory_order_relaxed);
  };
  HttpServerStats stats;
  stats.connections_open = load(c.connections_open);
  stats.connections_total = load(c.connections_total);
  stats.requests_total = load(c.requests_total);
  stats.responses_2xx = load(c.responses_by_class[2]);
  stats.responses_3xx = load(c.responses_by_class[3]);
  stats.responses_4xx = load(c.responses_by_class[4]);
  stats.responses_5xx = load(c.responses_by_class[5]);
  stats.rejected_connection_limit = load(c.rejected_connection_limit);
  stats.rejected_ip_connection_limit = load(c.rejected_ip_connection_limit);
  stats.rejected_body_too_large = load(c.rejected_body_too_large);
  stats.rejected_header_too_large = load(c.rejected_header_too_large);
  stats.rejected_bad_request = load(c.rejected_bad_request);
  stats.rejected_unauthorized = load(c.rejected_unauthorized);
  stats.read_timeouts = load(c.read_timeouts);
  stats.write_timeouts = load(c.write_timeouts);
  stats.idle_timeouts = load(c.idle_timeouts);
  stats.accept_errors = load(c.accept_errors);
  return stats;
}

}  // namespace yoloscope::http
