// TestHttpClient: a small blocking HTTP/1.1 client on raw POSIX sockets for
// tests of HttpServer and of the servers built on it. Deliberately not Beast,
// so the server's parser is not tested against itself. Header-only.
//
// Supports keep-alive (one client = one connection, reused), pipelining
// (SendRaw several requests, ReadResponse several times), raw malformed
// input, Content-Length and read-to-close bodies, and timeouts. Not
// supported: chunked responses (HttpServer never sends them), TLS.
//
// Thread-safety: one client per thread; clients are independent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace yoloscope::testing {

struct TestHttpResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // In order, as sent.
  std::string body;

  // The first header named `name` (case-insensitive).
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < key.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(key[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) return value;
    }
    return std::nullopt;
  }
};

class TestHttpClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Connects to host:port (an IPv4 literal); `timeout` bounds every later
  // send and receive.
  static StatusOr<TestHttpClient> Connect(
      int port, const std::string& host = "127.0.0.1",
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return UnavailableError(std::string("socket: ") + std::strerror(errno));
    TestHttpClient client(fd);
    client.SetTimeout(timeout);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
      return InvalidArgumentError("not an IPv4 address: " + host);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return UnavailableError("connect " + host + ":" + std::to_string(port) + ": " +
                              std::strerror(errno));
    }
    return client;
  }

  TestHttpClient(TestHttpClient&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}
  TestHttpClient& operator=(TestHttpClient&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
      buffer_ = std::move(other.buffer_);
    }
    return *this;
  }
  TestHttpClient(const TestHttpClient&) = delete;
  TestHttpClient& operator=(const TestHttpClient&) = delete;
  ~TestHttpClient() { Close(); }

  // The bytes of a request: request line, Host, the given headers, and
  // Content-Length when there is a body or the method usually has one.
  static std::string FormatRequest(std::string_view method, std::string_view target,
                                   std::string_view body = {}, const Headers& headers = {}) {
    std::string request;
    request.reserve(128 + body.size());
    request.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    for (const auto& [name, value] : headers) {
      request.append(name).append(": ").append(value).append("\r\n");
    }
    if (!body.empty() || method == "POST" || method == "PUT") {
      request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    request.append("\r\n").append(body);
    return request;
  }

  // Sends `bytes` completely.
  Status SendRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return DeadlineExceededError("send timed out");
        return UnavailableError(std::string("send: ") + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return Status::Ok();
  }

  // Reads one response. `head_request`: the response has no body whatever
  // its Content-Length says. Interim 1xx responses are returned too.
  StatusOr<TestHttpResponse> ReadResponse(bool head_request = false) {
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      Status status = Fill();
      if (!status.ok()) return status.WithContext("reading response header");
    }
    TestHttpResponse response;
    std::string_view head(buffer_.data(), header_end + 2);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (status_line.substr(0, 9) != "HTTP/1.1 " && status_line.substr(0, 9) != "HTTP/1.0 ") {
      return DataLossError("bad status line: " + std::string(status_line));
    }
    response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
    if (status_line.size() > 13) response.reason = std::string(status_line.substr(13));
    head.remove_prefix(line_end + 2);
    while (!head.empty()) {
      size_t eol = head.find("\r\n");
      std::string_view line = head.substr(0, eol);
      head.remove_prefix(eol + 2);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return DataLossError("bad header line: " + std::string(line));
      }
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    buffer_.erase(0, header_end + 4);
    if (head_request || response.status < 200 || response.status == 204 || response.status == 304) {
      return response;
    }
    if (response.Header("Transfer-Encoding")) {
      return UnimplementedError("chunked responses are not supported by TestHttpClient");
    }
    if (std::optional<std::string> length = response.Header("Content-Length")) {
      size_t size = std::stoull(*length);
      while (buffer_.size() < size) {
        Status status = Fill();
        if (!status.ok()) return status.WithContext("reading response body");
      }
      response.body = buffer_.substr(0, size);
      buffer_.erase(0, size);
    } else {
      // No length: the body runs to the end of the connection.
      while (true) {
        Status status = Fill();
        if (status.code() == StatusCode::kOutOfRange) break;  // EOF
        if (!status.ok()) return status;
      }
      response.body = std::move(buffer_);
      buffer_.clear();
    }
    return response;
  }

  StatusOr<TestHttpResponse> Request(std::string_view method, std::string_view target,
                                     std::string_view body = {}, const Headers& headers = {}) {
    YS_RETURN_IF_ERROR(SendRaw(FormatRequest(method, target, body, headers)));
    return ReadResponse(method == "HEAD");
  }
  StatusOr<TestHttpResponse> Get(std::string_view target, const Headers& headers = {}) {
    return Request("GET", target, {}, headers);
  }
  StatusOr<TestHttpResponse> Post(std::string_view target, std::string_view body,
                                  std::string_view content_type = "application/octet-stream",
                                  Headers headers = {}) {
    headers.emplace_back("Content-Type", std::string(content_type));
    return Request("POST", target, body, headers);
  }

  // Waits up to `timeout` for the server to close the connection, discarding
  // anything it sends; true when it closed (EOF or reset).
  bool WaitForClose(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char scratch[4096];
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      ssize_t got = ::recv(fd_, scratch, sizeof(scratch), 0);
      if (got == 0) return true;
      if (got < 0 && errno != EINTR && errno != EAGAIN) return true;  // reset
    }
  }

  // Bounds every later send and receive.
  void SetTimeout(std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }

  // Half-closes the sending side (the server sees EOF).
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  int fd() const { return fd_; }
  // Bytes received but not yet consumed by ReadResponse.
  const std::string& buffered() const { return buffer_; }

 private:
  explicit TestHttpClient(int fd) : fd_(fd) {}

  // Appends one recv to buffer_: OutOfRange at EOF, DeadlineExceeded on timeout.
  Status Fill() {
    char chunk[16384];
    while (true) {
      ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (got > 0) {
        buffer_.append(chunk, static_cast<size_t>(got));
        return Status::Ok();
      }
      if (got == 0) return OutOfRangeError("connection closed by the server");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return DeadlineExceededError("recv timed out");
      return UnavailableError(std::string("recv: ") + std::strerror(errno));
    }
  }

  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
inline StatusOr<TestHttpResponse> HttpFetch(int port, std::string_view method,
                                            std::string_view target, std::string_view body = {},
                                            const TestHttpClient::Headers& headers = {}) {
  YS_ASSIGN_OR_RETURN(TestHttpClient client, TestHttpClient::Connect(port));
  return client.Request(method, target, body, headers);
}

struct TestMultipartPart {
  std::string name;
  std::string filename;      // Omitted when empty.
  std::string content_type;  // Omitted when empty.
  std::string data;
};

// A multipart/form-data body with `boundary`; send it with Content-Type
// "multipart/form-data; boundary=<boundary>".
inline std::string BuildMultipartBody(std::string_view boundary,
                                      const std::vector<TestMultipartPart>& parts) {
  std::string body;
  for (const TestMultipartPart& part : parts) {
    body.append("--").append(boundary).append("\r\n");
    body.append("Content-Disposition: form-data; name=\"").append(part.name).append("\"");
    if (!part.filename.empty()) body.append("; filename=\"").append(part.filename).append("\"");
    body.append("\r\n");
    if (!part.content_type.empty()) {
      body.append("Content-Type: ").append(part.content_type).append("\r\n");
    }
    body.append("\r\n").append(part.data).append("\r\n");
  }
  body.append("--").append(boundary).append("--\r\n");
  return body;
}

}  // namespace yoloscope::testing
