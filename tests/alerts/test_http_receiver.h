// A webhook receiver for tests: a tiny HTTP/1.1 server on 127.0.0.1 (a free
// port) that records every request and answers with the status a callback
// picks for the n-th request (-1: never answer, to simulate a hung peer).
// Runs its own thread; the destructor stops it.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace yoloscope::testing {

class TestHttpReceiver {
 public:
  struct Received {
    std::string method, target, content_type, authorization, body;
  };

  explicit TestHttpReceiver(std::function<int(int index)> respond)
      : respond_(std::move(respond)),
        acceptor_(ioc_,
                  boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestHttpReceiver() {
    ioc_.stop();
    thread_.join();
  }

  int port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::vector<Received> received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }
  // Waits until at least n requests arrived; false on timeout.
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  struct Session {
    explicit Session(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
  };

  void Accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      auto session = std::make_shared<Session>(std::move(s));
      Read(session);
      Accept();
    });
  }

  void Read(const std::shared_ptr<Session>& s) {
    namespace http = boost::beast::http;
    http::async_read(s->socket, s->buffer, s->req, [this, s](boost::beast::error_code ec, size_t) {
      if (ec) return;
      int index = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = static_cast<int>(received_.size());
        received_.push_back({std::string(s->req.method_string()), std::string(s->req.target()),
                             std::string(s->req[http::field::content_type]),
                             std::string(s->req[http::field::authorization]), s->req.body()});
      }
      const int code = respond_(index);
      if (code < 0) {
        hanging_.push_back(s);  // never answered; closed when the receiver stops
        return;
      }
      s->res.result(static_cast<http::status>(code));
      s->res.version(11);
      s->res.set(http::field::content_type, "text/plain");
      s->res.body() = "ok\n";
      s->res.keep_alive(false);
      s->res.prepare_payload();
      http::async_write(s->socket, s->res, [s](boost::beast::error_code, size_t) {
        boost::beast::error_code ignored;
        s->socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      });
    });
  }

  std::function<int(int)> respond_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Session>> hanging_;  // receiver thread only
  mutable std::mutex mu_;
  std::vector<Received> received_;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace yoloscope::testing
