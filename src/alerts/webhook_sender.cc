#include "alerts/webhook_sender.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace yoloscope {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

Status WebhookSender::Validate(const WebhookSenderConfig& config) {
  auto url = HttpUrl::Parse(config.url);
  if (!url.ok()) return InvalidArgumentError("webhook " + url.status().message());
  if (config.timeout_ms < 1) return InvalidArgumentError("webhook: timeout_ms must be >= 1");
  if (config.max_attempts < 1) return InvalidArgumentError("webhook: max_attempts must be >= 1");
  if (config.initial_backoff_ms < 0 || config.max_backoff_ms < config.initial_backoff_ms) {
    return InvalidArgumentError("webhook: need 0 <= initial_backoff_ms <= max_backoff_ms");
  }
  if (config.queue_capacity < 1)
    return InvalidArgumentError("webhook: queue_capacity must be >= 1");
  if (config.close_timeout_ms < 0)
    return InvalidArgumentError("webhook: close_timeout_ms must be >= 0");
  if (config.max_items_per_post < 1)
    return InvalidArgumentError("webhook: max_items_per_post must be >= 1");
  return Status::Ok();
}

StatusOr<std::unique_ptr<WebhookSender>> WebhookSender::Create(const WebhookSenderConfig& config,
                                                               WebhookBodyCombiner combiner) {
  YS_RETURN_IF_ERROR(Validate(config));
  if (config.max_items_per_post > 1 && !combiner) {
    return InvalidArgumentError("webhook: max_items_per_post > 1 needs a combiner");
  }
  YS_ASSIGN_OR_RETURN(HttpUrl url, HttpUrl::Parse(config.url));
  return std::unique_ptr<WebhookSender>(
      new WebhookSender(config, std::move(url), std::move(combiner)));
}

WebhookSender::WebhookSender(const WebhookSenderConfig& config, HttpUrl url,
                             WebhookBodyCombiner combiner)
    : config_(config), url_(std::move(url)), combiner_(std::move(combiner)) {
  thread_ = std::thread([this] { Run(); });
}

WebhookSender::~WebhookSender() { Close(); }

bool WebhookSender::Send(std::string item) {
  bool kept_all = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      ++stats_.dropped;
      return false;
    }
    if (queue_.size() >= static_cast<size_t>(config_.queue_capacity)) {
      queue_.pop_front();
      ++stats_.dropped;
      kept_all = false;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_all();
  return kept_all;
}

WebhookSender::Attempt WebhookSender::PostOnce(const std::string& body, int64_t timeout_ms) const {
  Attempt result;
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    net::steady_timer deadline(ioc);
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, url_.host_header);
    req.set(http::field::user_agent, config_.user_agent);
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
    // Run in slices so that Close's deadline also cuts an attempt already
    // under way (a receiver that never answers cannot hold Close).
    bool cut = false;
    while (!ioc.stopped()) {
      ioc.run_for(std::chrono::milliseconds(50));
      if (ioc.stopped() || done || cut) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_ && std::chrono::steady_clock::now() >= close_deadline_) {
        cut = true;
        deadline.cancel();
        resolver.cancel();
        beast::error_code ignored;
        stream.socket().cancel(ignored);
        stream.socket().close(ignored);
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (cut) {
      result.error = "cut short at close: delivery time exhausted";
    } else if (timed_out) {
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

bool WebhookSender::WaitBackoff(int64_t ms) {
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

void WebhookSender::Run() {
  while (true) {
    std::vector<std::string> items;
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
      const size_t n = std::min<size_t>(queue_.size(), config_.max_items_per_post);
      for (size_t i = 0; i < n; ++i) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      sending_ = static_cast<int64_t>(items.size());
    }
    const std::string body = combiner_ ? combiner_(items) : std::move(items.front());
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
    if (delivered) {
      stats_.delivered += sending_;
      ++stats_.posts;
    } else {
      stats_.failed += sending_;
      stats_.last_error = error;
    }
    sending_ = 0;
  }
}

void WebhookSender::Close() {
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

WebhookSenderStats WebhookSender::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  WebhookSenderStats s = stats_;
  s.queued = static_cast<int64_t>(queue_.size()) + sending_;
  return s;
}

}  // namespace yoloscope
