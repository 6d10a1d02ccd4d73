#include "alerts/webhook_notifier.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace yoloscope {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

StatusOr<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Create(
    const WebhookNotifierConfig& config) {
  YS_ASSIGN_OR_RETURN(Url url, ParseUrl(config.url));
  if (config.timeout_ms < 1) return InvalidArgumentError("webhook: timeout_ms must be >= 1");
  if (config.max_attempts < 1) return InvalidArgumentError("webhook: max_attempts must be >= 1");
  if (config.initial_backoff_ms < 0 || config.max_backoff_ms < config.initial_backoff_ms) {
    return InvalidArgumentError("webhook: need 0 <= initial_backoff_ms <= max_backoff_ms");
  }
  if (config.queue_capacity < 1)
    return InvalidArgumentError("webhook: queue_capacity must be >= 1");
  if (config.close_timeout_ms < 0)
    return InvalidArgumentError("webhook: close_timeout_ms must be >= 0");
  return std::unique_ptr<WebhookNotifier>(new WebhookNotifier(config, std::move(url)));
}

WebhookNotifier::WebhookNotifier(const WebhookNotifierConfig& config, Url url)
    : config_(config),
      url_(std::move(url)),
      payload_options_{config.receiver, config.external_url, ""} {
  thread_ = std::thread([this] { Run(); });
}

WebhookNotifier::~WebhookNotifier() { Close(); }

StatusOr<WebhookNotifier::Url> WebhookNotifier::ParseUrl(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError("webhook url '" + text + "': " + why);
  };
  constexpr std::string_view kScheme = "http://";
  if (text.rfind("https://", 0) == 0) {
    return bad("https is not supported; point it at a local http relay");
  }
  if (text.rfind(kScheme, 0) != 0) return bad("must start with http://");
  std::string rest = text.substr(kScheme.size());
  Url url;
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos) return bad("user info is not supported");
  if (authority.empty()) return bad("no host");
  url.host_header = authority;
  url.port = "80";
  if (authority[0] == '[') {  // [::1]:9093
    const size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '['");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("junk after ']'");
      url.port = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) url.port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host");
  if (url.port.empty() || url.port.size() > 5 ||
      url.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(url.port) < 1 ||
      std::stoi(url.port) > 65535) {
    return bad("bad port '" + url.port + "'");
  }
  return url;
}

void WebhookNotifier::Notify(const std::vector<AlertTransition>& transitions) {
  std::vector<std::string> bodies;
  for (const AlertTransition& t : transitions) {
    if (t.state != AlertState::kFiring && t.state != AlertState::kResolved) continue;
    bodies.push_back(BuildAlertmanagerPayload(t, payload_options_));
  }
  if (bodies.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      stats_.dropped += static_cast<int64_t>(bodies.size());
      return;
    }
    for (std::string& b : bodies) {
      if (queue_.size() >= static_cast<size_t>(config_.queue_capacity)) {
        queue_.pop_front();
        ++stats_.dropped;
      }
      queue_.push_back(std::move(b));
    }
  }
  cv_.notify_all();
}

WebhookNotifier::Attempt WebhookNotifier::PostOnce(const std::string& body,
                                                   int64_t timeout_ms) const {
  Attempt result;
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    net::steady_timer deadline(ioc);
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, url_.host_header);
    req.set(http::field::user_agent, "yoloscope-alerts");
    req.set(http::field::content_type, "application/json");
    if (!config_.bearer_token.empty()) {
      req.set(http::field::authorization, "Bearer " + config_.bearer_token);
    }
    req.body() = body;
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    bool timed_out = false;
    bool done = false;
    beast::error_code failure;
    std::string stage;

    auto finish = [&](beast::error_code ec, const char* where) {
      done = true;
      failure = ec;
      stage = where;
      deadline.cancel();
    };
    deadline.expires_after(std::chrono::milliseconds(timeout_ms));
    deadline.async_wait([&](beast::error_code ec) {
      if (ec || done) return;
      timed_out = true;
      resolver.cancel();
      beast::error_code ignored;
      stream.socket().cancel(ignored);
      stream.socket().close(ignored);
    });
    resolver.async_resolve(
        url_.host, url_.port, [&](beast::error_code ec, tcp::resolver::results_type results) {
          if (ec) return finish(ec, "resolve");
          stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
            if (ec) return finish(ec, "connect");
            http::async_write(stream, req, [&](beast::error_code ec, size_t) {
              if (ec) return finish(ec, "write");
              http::async_read(stream, buffer, res,
                               [&](beast::error_code ec, size_t) { finish(ec, "read"); });
            });
          });
        });
    ioc.run();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (timed_out) {
      result.error = "timed out after " + std::to_string(timeout_ms) + " ms";
    } else if (failure) {
      result.error = stage + ": " + failure.message();
    } else {
      result.http_status = static_cast<int>(res.result_int());
    }
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  return result;
}

bool WebhookNotifier::WaitBackoff(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    auto limit = until;
    if (closing_ && close_deadline_ < limit) limit = close_deadline_;
    if (cv_.wait_until(lock, limit) == std::cv_status::timeout) {
      if (std::chrono::steady_clock::now() >= until) return true;
      if (closing_ && std::chrono::steady_clock::now() >= close_deadline_) return false;
    }
  }
}

void WebhookNotifier::Run() {
  while (true) {
    std::string body;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing and drained
      if (closing_ && std::chrono::steady_clock::now() >= close_deadline_) {
        stats_.failed += static_cast<int64_t>(queue_.size());
        stats_.last_error = "dropped at close: delivery time exhausted";
        queue_.clear();
        return;
      }
      body = std::move(queue_.front());
      queue_.pop_front();
      sending_ = true;
    }
    int64_t backoff = config_.initial_backoff_ms;
    bool delivered = false;
    std::string error;
    for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
      if (attempt > 1) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.retries;
        }
        if (!WaitBackoff(backoff)) {
          error = "gave up at close: " + error;
          break;
        }
        backoff = std::min(config_.max_backoff_ms, backoff * 2);
      }
      int64_t timeout_ms = config_.timeout_ms;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (closing_) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                close_deadline_ - std::chrono::steady_clock::now())
                                .count();
          timeout_ms = std::max<int64_t>(1, std::min<int64_t>(timeout_ms, left));
        }
      }
      const Attempt a = PostOnce(body, timeout_ms);
      if (a.http_status >= 200 && a.http_status < 300) {
        delivered = true;
        break;
      }
      error = a.http_status > 0 ? "HTTP " + std::to_string(a.http_status) : a.error;
      const bool retryable = a.http_status == 0 || a.http_status == 429 || a.http_status >= 500;
      if (!retryable) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    sending_ = false;
    if (delivered) {
      ++stats_.delivered;
    } else {
      ++stats_.failed;
      stats_.last_error = error;
    }
  }
}

void WebhookNotifier::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      closing_ = true;
      close_deadline_ =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.close_timeout_ms);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WebhookNotifierStats WebhookNotifier::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  WebhookNotifierStats s = stats_;
  s.queued = static_cast<int64_t>(queue_.size()) + (sending_ ? 1 : 0);
  return s;
}

}  // namespace yoloscope
