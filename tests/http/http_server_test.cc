// HttpServer over real sockets on 127.0.0.1 (port 0), driven by the raw
// TestHttpClient.
#include "http/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "http/router.h"
#include "http/test_http_client.h"

namespace yoloscope::http {
namespace {

using ::yoloscope::testing::HttpFetch;
using ::yoloscope::testing::TestHttpClient;
using ::yoloscope::testing::TestHttpResponse;
using Ms = std::chrono::milliseconds;

// Completes Responders on its own thread after a delay, like the inference
// pipeline's postprocess workers.
class DelayedCompleter {
 public:
  DelayedCompleter() : thread_([this] { Run(); }) {}
  ~DelayedCompleter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void CompleteAfter(Ms delay, Responder responder, Response response) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(
          {std::chrono::steady_clock::now() + delay, std::move(responder), std::move(response)});
    }
    cv_.notify_all();
  }

  // Drops every queued Responder without sending (their destructors answer).
  std::vector<Responder> TakeAll() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Responder> taken;
    for (auto& item : items_) taken.push_back(std::move(item.responder));
    items_.clear();
    return taken;
  }

 private:
  struct Item {
    std::chrono::steady_clock::time_point due;
    Responder responder;
    Response response;
  };

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (items_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = items_.front().due;
      for (const Item& item : items_) due = std::min(due, item.due);
      if (std::chrono::steady_clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      for (auto it = items_.begin(); it != items_.end(); ++it) {
        if (it->due <= std::chrono::steady_clock::now()) {
          Item item = std::move(*it);
          items_.erase(it);
          lock.unlock();
          item.responder.Send(std::move(item.response));
          lock.lock();
          break;
        }
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;  // Guarded by mu_.
  bool stop_ = false;       // Guarded by mu_.
  std::thread thread_;
};

int QueryInt(const Request& request, std::string_view key, int fallback) {
  auto value = request.query_param(key);
  return value ? std::atoi(std::string(*value).c_str()) : fallback;
}

class HttpServerTest : public ::testing::Test {
 protected:
  HttpServerTest() {
    auto add = [this](std::string_view method, std::string_view pattern, HttpHandler handler) {
      Status status = router_.Add(method, pattern, std::move(handler));
      ASSERT_TRUE(status.ok()) << status.ToString();
    };
    add("GET", "/hello", [](Request, Responder responder) {
      responder.Send(Response::Json(R"({"hello": "world"})"));
    });
    // Echoes the body; completes asynchronously when ?async=1.
    add("POST", "/echo", [this](Request request, Responder responder) {
      Response response;
      response.content_type = std::string(request.header("content-type").value_or("text/plain"));
      response.headers.emplace_back("X-Body-Size", std::to_string(request.body().size()));
      bool async = request.query_param("async").has_value();
      response.body = request.TakeBody();
      if (async) {
        completer_.CompleteAfter(Ms(0), std::move(responder), std::move(response));
      } else {
        responder.Send(std::move(response));
      }
    });
    add("POST", "/v2/models/{model}/infer", [](Request request, Responder responder) {
      nlohmann::json body = {{"model", std::string(*request.path_param("model"))},
                             {"conf", std::string(request.query_param("conf").value_or(""))},
                             {"iou", std::string(request.query_param("iou").value_or(""))},
                             {"route", std::string(request.route())}};
      responder.Send(Response::Json(body.dump()));
    });
    add("GET", "/info", [](Request request, Responder responder) {
      nlohmann::json body = {{"x_test", std::string(request.header("X-TEST").value_or(""))},
                             {"peer", request.peer()},
                             {"receive_ns", request.receive_ns()},
                             {"version", request.version()}};
      responder.Send(Response::Json(body.dump()));
    });
    add("GET", "/slow", [this](Request request, Responder responder) {
      handled_.fetch_add(1);
      completer_.CompleteAfter(Ms(QueryInt(request, "ms", 100)), std::move(responder),
                               Response::Json(R"({"slow": true})"));
    });
    add("GET", "/never", [this](Request, Responder responder) {
      handled_.fetch_add(1);
      completer_.CompleteAfter(Ms(60'000), std::move(responder), Response::Json("{}"));
    });
    add("GET", "/big", [](Request request, Responder responder) {
      responder.Send(Response::Text(std::string(QueryInt(request, "bytes", 1), 'b')));
    });
    add("GET", "/drop", [](Request, Responder) {});
    add("GET", "/throw", [](Request, Responder) { throw std::runtime_error("handler bug"); });
    add("GET", "/v2/health/live",
        [](Request, Responder responder) { responder.Send(Response::Json(R"({"live": true})")); });
  }

  ~HttpServerTest() override {
    if (server_) server_->Shutdown(Ms(2000));
  }

  // Starts the server with `config` (port 0, 2 I/O threads by default).
  void StartServer(HttpServerConfig config = {}, HttpRejectionHandler on_rejected = nullptr) {
    config.port = 0;
    if (config.io_threads == 0) config.io_threads = 2;
    auto server = HttpServer::Create(config, router_.AsHandler(), &clock_, std::move(on_rejected));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
    ASSERT_GT(port_, 0);
  }

  TestHttpClient Connect() {
    auto client = TestHttpClient::Connect(port_);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  // Polls `condition` for up to 5 s.
  template <typename Fn>
  static bool Eventually(Fn condition) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(Ms(5));
    }
    return condition();
  }

  static std::string ErrorOf(const TestHttpResponse& response) {
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_discarded() || !json.contains("error"))
      return "<no error field: " + response.body + ">";
    return json["error"].get<std::string>();
  }

  RealClock clock_;
  Router router_;
  DelayedCompleter completer_;
  std::atomic<int> handled_{0};
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ServesGetAndPost) {
  StartServer();
  auto get = HttpFetch(port_, "GET", "/hello");
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->reason, "OK");
  EXPECT_EQ(get->body, R"({"hello": "world"})");
  EXPECT_EQ(get->Header("content-type").value_or(""), "application/json");
  EXPECT_EQ(get->Header("Content-Length").value_or(""), std::to_string(get->body.size()));
  EXPECT_EQ(get->Header("Server").value_or(""), "yoloscope");
  EXPECT_NE(get->Header("Date").value_or("").find(" GMT"), std::string::npos);
  EXPECT_FALSE(get->Header("Connection").has_value());  // keep-alive is the default

  std::string payload(100'000, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  auto post = HttpFetch(port_, "POST", "/echo", payload, {{"Content-Type", "image/jpeg"}});
  ASSERT_TRUE(post.ok()) << post.status().ToString();
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, payload);
  EXPECT_EQ(post->Header("Content-Type").value_or(""), "image/jpeg");
  EXPECT_EQ(post->Header("X-Body-Size").value_or(""), "100000");
}

TEST_F(HttpServerTest, ExposesHeadersPeerAndReceiveTime) {
  StartServer();
  int64_t before = clock_.NowNs();
  auto response = HttpFetch(port_, "GET", "/info", {}, {{"x-test", "value 1"}});
  int64_t after = clock_.NowNs();
  ASSERT_TRUE(response.ok());
  auto json = nlohmann::json::parse(response->body);
  EXPECT_EQ(json["x_test"], "value 1");
  EXPECT_EQ(json["peer"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
  EXPECT_GE(json["receive_ns"].get<int64_t>(), before);
  EXPECT_LE(json["receive_ns"].get<int64_t>(), after);
  EXPECT_EQ(json["version"], 11);
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  StartServer();
  TestHttpClient client = Connect();
  for (int i = 0; i < 200; ++i) {
    std::string body = "request " + std::to_string(i);
    auto response = client.Request("POST", i % 2 ? "/echo?async=1" : "/echo", body);
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().ToString();
    ASSERT_EQ(response->body, body);
  }
  HttpServerStats stats = server_->stats();
  EXPECT_EQ(stats.connections_total, 1u);
  EXPECT_EQ(stats.requests_total, 200u);
  EXPECT_EQ(stats.responses_2xx, 200u);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestHttpClient client = Connect();
  std::string batch = TestHttpClient::FormatRequest("GET", "/slow?ms=150") +
                      TestHttpClient::FormatRequest("POST", "/echo", "second") +
                      TestHttpClient::FormatRequest("GET", "/hello");
  ASSERT_TRUE(client.SendRaw(batch).ok());
  auto first = client.ReadResponse();
  auto second = client.ReadResponse();
  auto third = client.ReadResponse();
  ASSERT_TRUE(first.ok() && second.ok() && third.ok());
  EXPECT_EQ(first->body, R"({"slow": true})");
  EXPECT_EQ(second->body, "second");
  EXPECT_EQ(third->body, R"({"hello": "world"})");
}

TEST_F(HttpServerTest, ParsesPathParamsAndQuery) {
  StartServer();
  auto response = HttpFetch(port_, "POST", "/v2/models/yolo%2Dv8n/infer?conf=0.3&iou=0.5", "{}");
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200);
  auto json = nlohmann::json::parse(response->body);
  EXPECT_EQ(json["model"], "yolo-v8n");
  EXPECT_EQ(json["conf"], "0.3");
  EXPECT_EQ(json["iou"], "0.5");
  EXPECT_EQ(json["route"], "/v2/models/{model}/infer");
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethod405) {
  StartServer();
  TestHttpClient client = Connect();
  auto missing = client.Get("/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->Header("Content-Type").value_or(""), "application/json");
  EXPECT_NE(ErrorOf(*missing).find("/nope"), std::string::npos);
  auto wrong = client.Request("DELETE", "/hello");  // same connection stays usable
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->Header("Allow").value_or(""), "GET");
  EXPECT_NE(ErrorOf(*wrong).find("DELETE"), std::string::npos);
  auto head = client.Request("HEAD", "/hello");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("Content-Length").value_or(""), "18");
  EXPECT_TRUE(head->body.empty());
  EXPECT_EQ(client.Get("/hello")->status, 200);
}

TEST_F(HttpServerTest, OversizedBodyIs413BeforeTheBodyIsSent) {
  HttpServerConfig config;
  config.max_body_bytes = 1024;
  StartServer(config);
  TestHttpClient client = Connect();
  // Only the header and a little of the 10 MB body: the answer must not wait
  // for the rest.
  ASSERT_TRUE(client
                  .SendRaw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" +
                           std::string(100, 'x'))
                  .ok());
  client.SetTimeout(Ms(3000));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  EXPECT_NE(ErrorOf(*response).find("1024"), std::string::npos) << ErrorOf(*response);
  EXPECT_EQ(response->Header("Connection").value_or(""), "close");
  EXPECT_TRUE(client.WaitForClose(Ms(3000)));
  EXPECT_EQ(server_->stats().rejected_body_too_large, 1u);
  // A body at the limit is fine, and the server keeps serving.
  auto at_limit = HttpFetch(port_, "POST", "/echo", std::string(1024, 'y'));
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->status, 200);
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  HttpServerConfig config;
  config.max_body_bytes = 1000;
  StartServer(config);
  TestHttpClient client = Connect();
  std::string chunk(600, 'z');
  std::string request = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) request += "258\r\n" + chunk + "\r\n";  // 0x258 = 600
  request += "0\r\n\r\n";
  ASSERT_TRUE(client.SendRaw(request).ok());
  auto response = client.ReadResponse();
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 413);
  // Under the limit, chunked bodies are read normally.
  TestHttpClient small = Connect();
  ASSERT_TRUE(small
                  .SendRaw("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                  .ok());
  auto ok = small.ReadResponse();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body, "abcde");
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  HttpServerConfig config;
  config.max_header_bytes = 1024;
  StartServer(config);
  TestHttpClient client = Connect();
  auto response = client.Get("/hello", {{"X-Big", std::string(4000, 'h')}});
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 431);
  EXPECT_NE(ErrorOf(*response).find("1024"), std::string::npos);
  EXPECT_EQ(server_->stats().rejected_header_too_large, 1u);
  EXPECT_EQ(HttpFetch(port_, "GET", "/hello")->status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsAre400) {
  StartServer();
  for (std::string raw :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /hello HTTP/9.9\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        std::string("GET /hello HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")}) {
    TestHttpClient client = Connect();
    ASSERT_TRUE(client.SendRaw(raw).ok());
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.ok()) << raw << ": " << response.status().ToString();
    EXPECT_EQ(response->status, 400) << raw;
    EXPECT_NE(ErrorOf(*response).find("malformed"), std::string::npos);
    EXPECT_TRUE(client.WaitForClose(Ms(3000)));
  }
  EXPECT_EQ(server_->stats().rejected_bad_request, 5u);
  EXPECT_EQ(HttpFetch(port_, "GET", "/hello")->status, 200);
}

TEST_F(HttpServerTest, StalledClientTimesOutWhileOthersAreServed) {
  HttpServerConfig config;
  config.read_timeout = Ms(200);
  StartServer(config);
  TestHttpClient stalled = Connect();
  ASSERT_TRUE(stalled.SendRaw("GET /hello HTTP/1.1\r\nHo").ok());
  TestHttpClient stalled_body = Connect();
  ASSERT_TRUE(stalled_body.SendRaw("POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").ok());
  TestHttpClient silent = Connect();  // connects and never sends a byte
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpFetch(port_, "GET", "/hello")->status, 200);
  EXPECT_TRUE(stalled.WaitForClose(Ms(3000)));
  EXPECT_TRUE(stalled_body.WaitForClose(Ms(3000)));
  EXPECT_TRUE(silent.WaitForClose(Ms(3000)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, Ms(150));
  EXPECT_LT(elapsed, Ms(2000));
  EXPECT_TRUE(Eventually([&] { return server_->stats().read_timeouts == 3; }));
  EXPECT_TRUE(Eventually([&] { return server_->stats().connections_open == 0; }));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerConfig config;
  config.idle_timeout = Ms(200);
  StartServer(config);
  TestHttpClient client = Connect();
  ASSERT_EQ(client.Get("/hello")->status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.WaitForClose(Ms(3000)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, Ms(150));
  EXPECT_TRUE(Eventually([&] { return server_->stats().idle_timeouts == 1; }));
}

TEST_F(HttpServerTest, ConnectionLimitAnswers503) {
  HttpServerConfig config;
  config.max_connections = 2;
  StartServer(config);
  TestHttpClient a = Connect();
  TestHttpClient b = Connect();
  ASSERT_EQ(a.Get("/hello")->status, 200);
  ASSERT_EQ(b.Get("/hello")->status, 200);
  TestHttpClient c = Connect();
  auto rejected = c.Get("/hello");
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_NE(ErrorOf(*rejected).find("too many connections"), std::string::npos);
  EXPECT_EQ(rejected->Header("Retry-After").value_or(""), "1");
  EXPECT_TRUE(c.WaitForClose(Ms(3000)));
  EXPECT_EQ(server_->stats().rejected_connection_limit, 1u);
  // The admitted connections keep working; closing one makes room.
  EXPECT_EQ(a.Get("/hello")->status, 200);
  b.Close();
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections_open == 1; }));
  TestHttpClient d = Connect();
  EXPECT_EQ(d.Get("/hello")->status, 200);
}

TEST_F(HttpServerTest, BearerTokenWithAllowlist) {
  HttpServerConfig config;
  config.auth_token = "s3cret";
  StartServer(config);
  TestHttpClient client = Connect();
  auto missing = client.Get("/hello");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->Header("WWW-Authenticate").value_or(""), "Bearer");
  EXPECT_NE(ErrorOf(*missing).find("missing"), std::string::npos);
  auto wrong = client.Get("/hello", {{"Authorization", "Bearer s3cres"}});
  ASSERT_TRUE(wrong.ok());  // still the same connection: no body was pending
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(client.Get("/hello", {{"Authorization", "Bearer s3cret"}})->status, 200);
  EXPECT_EQ(client.Get("/hello", {{"authorization", "bearer  s3cret "}})->status, 200);
  EXPECT_EQ(client.Get("/v2/health/live")->status, 200);      // allowlisted
  EXPECT_EQ(client.Get("/v2/health/live?x=1")->status, 200);  // query ignored
  EXPECT_EQ(client.Get("/v2/health/live/x")->status, 401);    // exact paths only
  // A rejected request with a body closes the connection (the body is unread).
  auto with_body = client.Post("/echo", std::string(5000, 'q'));
  ASSERT_TRUE(with_body.ok());
  EXPECT_EQ(with_body->status, 401);
  EXPECT_TRUE(client.WaitForClose(Ms(3000)));
  EXPECT_EQ(server_->stats().rejected_unauthorized, 4u);
}

// What an HttpRejectionHandler was told, copied out of the call.
struct SeenRejection {
  int status = 0;
  std::string reason, message, method, target, request_id;
  std::optional<uint64_t> content_length;
  int64_t receive_ns = 0;
  int64_t arrival_ns = 0;
  bool has_header_lookup = false;
};

class RejectionLog {
 public:
  HttpRejectionHandler Handler() {
    return [this](const HttpRejection& r) {
      SeenRejection seen;
      seen.status = r.status;
      seen.reason = std::string(r.reason);
      seen.message = std::string(r.message);
      seen.method = std::string(r.method);
      seen.target = std::string(r.target);
      seen.content_length = r.content_length;
      seen.receive_ns = r.receive_ns;
      seen.arrival_ns = r.arrival_ns;
      seen.has_header_lookup = static_cast<bool>(r.header);
      if (r.header) seen.request_id = std::string(r.header("x-request-id").value_or(""));
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back(std::move(seen));
    };
  }
  std::vector<SeenRejection> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  size_t size() const { return seen().size(); }

 private:
  mutable std::mutex mu_;
  std::vector<SeenRejection> seen_;  // Guarded by mu_.
};

TEST_F(HttpServerTest, RefusedRequestsAreReportedWithWhatWasParsed) {
  HttpServerConfig config;
  config.max_body_bytes = 1024;
  config.max_header_bytes = 1024;
  config.auth_token = "s3cret";
  config.read_timeout = Ms(300);
  config.auth_exempt_paths.push_back("/echo");
  RejectionLog log;
  StartServer(config, log.Handler());
  const auto authorized = TestHttpClient::Headers{{"Authorization", "Bearer s3cret"}};
  // Served requests and unauthorized-but-exempt ones are not refusals.
  EXPECT_EQ(Connect().Get("/hello", authorized)->status, 200);
  EXPECT_EQ(Connect().Post("/echo", "abc")->status, 200);
  EXPECT_EQ(log.size(), 0u);

  {  // 413 from Content-Length: the whole header is known.
    TestHttpClient client = Connect();
    ASSERT_TRUE(
        client
            .SendRaw("POST /v1/detect?conf=0.5 HTTP/1.1\r\nHost: t\r\nX-Request-Id: big-1\r\n"
                     "Content-Length: 10000000\r\n\r\n" +
                     std::string(100, 'x'))
            .ok());
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->status, 413);
  }
  {  // 401: missing token on a non-exempt path.
    auto response = Connect().Request("POST", "/v1/detect", "body", {{"X-Request-Id", "who-2"}});
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 401);
  }
  {  // 431: the request line fits, the fields do not.
    auto response = Connect().Get("/hello", {{"X-Big", std::string(4000, 'h')}});
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 431);
  }
  {  // 400: malformed request line.
    TestHttpClient client = Connect();
    ASSERT_TRUE(client.SendRaw("GARBAGE\r\n\r\n").ok());
    auto response = client.ReadResponse();
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 400);
  }
  {  // Read timeout: the body stops arriving; no response, the connection closes.
    TestHttpClient client = Connect();
    ASSERT_TRUE(client
                    .SendRaw("POST /v1/detect HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n"
                             "X-Request-Id: slow-5\r\nContent-Length: 10\r\n\r\nabc")
                    .ok());
    EXPECT_TRUE(client.WaitForClose(Ms(5000)));
  }
  {  // A connection that never sends a byte is no request.
    TestHttpClient silent = Connect();
    EXPECT_TRUE(silent.WaitForClose(Ms(5000)));
  }
  ASSERT_TRUE(Eventually([&] { return server_->stats().read_timeouts == 2; }));
  std::vector<SeenRejection> seen = log.seen();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].status, 413);
  EXPECT_EQ(seen[0].reason, "body_too_large");
  EXPECT_NE(seen[0].message.find("1024"), std::string::npos);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/v1/detect?conf=0.5");
  EXPECT_EQ(seen[0].request_id, "big-1");
  EXPECT_EQ(seen[0].content_length, std::optional<uint64_t>(10000000));
  EXPECT_GT(seen[0].receive_ns, 0);

  EXPECT_EQ(seen[1].status, 401);
  EXPECT_EQ(seen[1].reason, "unauthorized");
  EXPECT_EQ(seen[1].message, "missing bearer token");
  EXPECT_EQ(seen[1].target, "/v1/detect");
  EXPECT_EQ(seen[1].request_id, "who-2");
  EXPECT_EQ(seen[1].content_length, std::optional<uint64_t>(4));

  EXPECT_EQ(seen[2].status, 431);
  EXPECT_EQ(seen[2].reason, "header_too_large");
  EXPECT_EQ(seen[2].method, "GET");
  EXPECT_EQ(seen[2].target, "/hello");
  EXPECT_FALSE(seen[2].content_length.has_value());

  EXPECT_EQ(seen[3].status, 400);
  EXPECT_EQ(seen[3].reason, "bad_request");
  EXPECT_NE(seen[3].message.find("malformed"), std::string::npos);
  EXPECT_TRUE(seen[3].target.empty());  // the request line itself was bad
  EXPECT_TRUE(seen[3].request_id.empty());

  EXPECT_EQ(seen[4].status, 0);  // no response
  EXPECT_EQ(seen[4].reason, "read_timeout");
  EXPECT_EQ(seen[4].target, "/v1/detect");
  EXPECT_EQ(seen[4].request_id, "slow-5");
  EXPECT_EQ(seen[4].content_length, std::optional<uint64_t>(10));
  // Still serving.
  EXPECT_EQ(Connect().Get("/hello", authorized)->status, 200);
  EXPECT_EQ(log.size(), 5u);
}

TEST_F(HttpServerTest, AReadTimeoutRejectionCarriesTheArrivalOfItsFirstByte) {
  HttpServerConfig config;
  config.read_timeout = Ms(300);
  RejectionLog log;
  StartServer(config, log.Handler());
  TestHttpClient client = Connect();
  // A header that trickles in and never ends.
  ASSERT_TRUE(client.SendRaw("POST /v1/detect HTTP/1.1\r\nHost: t\r\n").ok());
  std::this_thread::sleep_for(Ms(100));
  (void)client.SendRaw("X-Slow: 1\r\n");
  EXPECT_TRUE(client.WaitForClose(Ms(5000)));
  ASSERT_TRUE(Eventually([&] { return log.size() == 1; }));
  const SeenRejection r = log.seen()[0];
  EXPECT_EQ(r.reason, "read_timeout");
  EXPECT_EQ(r.status, 0);
  ASSERT_GT(r.arrival_ns, 0);
  // The read deadline runs from the first byte, so the server gave up at
  // least read_timeout after the arrival it reports (not at the close).
  EXPECT_GE(r.receive_ns - r.arrival_ns, 300'000'000) << r.receive_ns << " " << r.arrival_ns;
}

TEST_F(HttpServerTest, PerAddressConnectionLimitAnswers503) {
  HttpServerConfig config;
  config.max_connections_per_ip = 1;
  StartServer(config);
  TestHttpClient a = Connect();
  ASSERT_EQ(a.Get("/hello")->status, 200);
  TestHttpClient b = Connect();
  auto rejected = b.ReadResponse();
  ASSERT_TRUE(rejected.ok()) << rejected.status().ToString();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_NE(ErrorOf(*rejected).find("too many connections from 127.0.0.1 (limit 1)"),
            std::string::npos)
      << rejected->body;
  EXPECT_TRUE(b.WaitForClose(Ms(3000)));
  EXPECT_EQ(server_->stats().rejected_ip_connection_limit, 1u);
  EXPECT_EQ(server_->stats().rejected_connection_limit, 0u);
  // The admitted connection keeps working; closing it frees the address.
  EXPECT_EQ(a.Get("/hello")->status, 200);
  a.Close();
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections_open == 0; }));
  TestHttpClient c = Connect();
  EXPECT_EQ(c.Get("/hello")->status, 200);
}

TEST_F(HttpServerTest, ConnectionLimitIsNotARefusedRequest) {
  HttpServerConfig config;
  config.max_connections = 1;
  RejectionLog log;
  StartServer(config, log.Handler());
  TestHttpClient a = Connect();
  ASSERT_EQ(a.Get("/hello")->status, 200);
  TestHttpClient b = Connect();
  auto rejected = b.Get("/hello");
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->status, 503);
  EXPECT_EQ(log.size(), 0u);
}

TEST_F(HttpServerTest, CompletesFromAnotherThreadAfterADelay) {
  StartServer();
  TestHttpClient client = Connect();
  auto start = std::chrono::steady_clock::now();
  auto response = client.Get("/slow?ms=200");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(elapsed, Ms(190));
  // Meanwhile another connection was not blocked by the pending request.
  std::future<int> other = std::async(std::launch::async, [&] {
    auto slow = HttpFetch(port_, "GET", "/slow?ms=300");
    return slow.ok() ? slow->status : -1;
  });
  auto fast_start = std::chrono::steady_clock::now();
  EXPECT_EQ(HttpFetch(port_, "GET", "/hello")->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - fast_start, Ms(250));
  EXPECT_EQ(other.get(), 200);
}

TEST_F(HttpServerTest, DroppedResponderAndThrowingHandlerAnswer500) {
  StartServer();
  TestHttpClient client = Connect();
  auto dropped = client.Get("/drop");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->status, 500);
  EXPECT_NE(ErrorOf(*dropped).find("dropped"), std::string::npos);
  auto thrown = client.Get("/throw");
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(client.Get("/hello")->status, 200);
  EXPECT_EQ(server_->stats().responses_5xx, 2u);
}

TEST_F(HttpServerTest, ManyConcurrentClientsAllAnsweredCorrectly) {
  HttpServerConfig config;
  config.io_threads = 2;
  StartServer(config);
  constexpr int kThreads = 32;
  constexpr int kRequests = 200;
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = TestHttpClient::Connect(port_);
      if (!client.ok()) return;
      for (int i = 0; i < kRequests; ++i) {
        std::string body = "t" + std::to_string(t) + "-r" + std::to_string(i) +
                           std::string(static_cast<size_t>(i % 50), '.');
        auto response = client->Post(i % 3 == 0 ? "/echo?async=1" : "/echo", body, "text/plain");
        if (!response.ok() || response->status != 200 || response->body != body) return;
        correct.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(correct.load(), kThreads * kRequests);
  EXPECT_EQ(server_->stats().requests_total, static_cast<uint64_t>(kThreads * kRequests));
  EXPECT_EQ(server_->stats().connections_total, static_cast<uint64_t>(kThreads));
}

TEST_F(HttpServerTest, GracefulShutdownFinishesInFlightRequests) {
  StartServer();
  TestHttpClient idle = Connect();
  ASSERT_EQ(idle.Get("/hello")->status, 200);
  TestHttpClient busy = Connect();
  ASSERT_TRUE(busy.SendRaw(TestHttpClient::FormatRequest("GET", "/slow?ms=300")).ok());
  ASSERT_TRUE(Eventually([&] { return handled_.load() == 1; }));

  auto start = std::chrono::steady_clock::now();
  std::future<bool> drained =
      std::async(std::launch::async, [&] { return server_->Shutdown(Ms(5000)); });
  EXPECT_TRUE(idle.WaitForClose(Ms(2000)));  // idle keep-alive closed at once
  EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(250));
  auto response = busy.ReadResponse();  // the in-flight request completes
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"slow": true})");
  EXPECT_EQ(response->Header("Connection").value_or(""), "close");
  EXPECT_TRUE(busy.WaitForClose(Ms(2000)));
  EXPECT_TRUE(drained.get());
  EXPECT_LT(std::chrono::steady_clock::now() - start, Ms(2000));
  EXPECT_FALSE(TestHttpClient::Connect(port_).ok());  // no longer accepting
  EXPECT_TRUE(server_->Shutdown(Ms(0)));              // idempotent
  EXPECT_EQ(server_->Start().code(), StatusCode::kFailedPrecondition);
}

TEST_F(HttpServerTest, ShutdownDeadlineClosesWhatIsLeft) {
  StartServer();
  TestHttpClient client = Connect();
  ASSERT_TRUE(client.SendRaw(TestHttpClient::FormatRequest("GET", "/never")).ok());
  ASSERT_TRUE(Eventually([&] { return handled_.load() == 1; }));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(server_->Shutdown(Ms(200)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, Ms(190));
  EXPECT_LT(elapsed, Ms(2000));
  EXPECT_TRUE(client.WaitForClose(Ms(2000)));
  // The Responder outlives the server: sending (or dropping) it is harmless.
  server_.reset();
  for (Responder& responder : completer_.TakeAll()) responder.Send(Response::Json("{}"));
}

TEST_F(HttpServerTest, ResponderDroppedAfterServerDestroyedIsHarmless) {
  StartServer();
  TestHttpClient client = Connect();
  ASSERT_TRUE(client.SendRaw(TestHttpClient::FormatRequest("GET", "/never")).ok());
  ASSERT_TRUE(Eventually([&] { return handled_.load() == 1; }));
  server_.reset();  // destructor: shutdown without grace
  std::vector<Responder> left = completer_.TakeAll();
  EXPECT_EQ(left.size(), 1u);
  left.clear();  // destructors try to answer 500: nothing happens
  EXPECT_TRUE(client.WaitForClose(Ms(2000)));
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  StartServer();
  TestHttpClient client = Connect();
  ASSERT_TRUE(client
                  .SendRaw("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                           "Expect: 100-continue\r\n\r\n")
                  .ok());
  auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.ok()) << interim.status().ToString();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.SendRaw("hello").ok());
  auto final_response = client.ReadResponse();
  ASSERT_TRUE(final_response.ok());
  EXPECT_EQ(final_response->status, 200);
  EXPECT_EQ(final_response->body, "hello");
}

TEST_F(HttpServerTest, Http10AndConnectionClose) {
  StartServer();
  TestHttpClient old_client = Connect();
  ASSERT_TRUE(old_client.SendRaw("GET /hello HTTP/1.0\r\n\r\n").ok());
  auto response = old_client.ReadResponse();
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("Connection").value_or(""), "close");
  EXPECT_TRUE(old_client.WaitForClose(Ms(2000)));

  TestHttpClient keep = Connect();
  ASSERT_TRUE(keep.SendRaw("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").ok());
  auto kept = keep.ReadResponse();
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->Header("Connection").value_or(""), "keep-alive");
  EXPECT_EQ(keep.Get("/hello")->status, 200);

  TestHttpClient closing = Connect();
  auto closed = closing.Get("/hello", {{"Connection", "close"}});
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->Header("Connection").value_or(""), "close");
  EXPECT_TRUE(closing.WaitForClose(Ms(2000)));
}

TEST_F(HttpServerTest, WriteTimeoutClosesAReaderThatStalls) {
  HttpServerConfig config;
  config.write_timeout = Ms(200);
  StartServer(config);
  TestHttpClient client = Connect();
  // Far more than the socket buffers hold, and never read.
  ASSERT_TRUE(client.SendRaw(TestHttpClient::FormatRequest("GET", "/big?bytes=200000000")).ok());
  EXPECT_TRUE(Eventually([&] { return server_->stats().write_timeouts == 1; }));
  EXPECT_EQ(HttpFetch(port_, "GET", "/hello")->status, 200);
}

TEST(HttpServerCreateTest, RejectsBadConfigAndBusyPort) {
  auto handler = [](Request, Responder responder) { responder.Send(Response::Json("{}")); };
  HttpServerConfig config;
  config.port = 0;
  config.host = "not-an-address";
  EXPECT_EQ(HttpServer::Create(config, handler).status().code(), StatusCode::kInvalidArgument);
  config.host = "127.0.0.1";
  EXPECT_EQ(HttpServer::Create(config, nullptr).status().code(), StatusCode::kInvalidArgument);
  config.port = 70000;
  EXPECT_EQ(HttpServer::Create(config, handler).status().code(), StatusCode::kInvalidArgument);
  config.port = 0;
  config.read_timeout = Ms(0);
  EXPECT_EQ(HttpServer::Create(config, handler).status().code(), StatusCode::kInvalidArgument);
  config.read_timeout = Ms(1000);
  auto first = HttpServer::Create(config, handler);
  ASSERT_TRUE(first.ok());
  config.port = (*first)->port();
  auto second = HttpServer::Create(config, handler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("bind"), std::string::npos);
  // Shutdown without Start is fine.
  EXPECT_TRUE((*first)->Shutdown(Ms(0)));
}

TEST(HttpServerCreateTest, LocalhostAndStats) {
  HttpServerConfig config;
  config.host = "localhost";
  config.port = 0;
  config.io_threads = 1;
  auto server = HttpServer::Create(
      config, [](Request, Responder responder) { responder.Send(Response::Error(418, "teapot")); });
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE((*server)->Start().ok());
  EXPECT_EQ((*server)->Start().code(), StatusCode::kFailedPrecondition);
  auto response = HttpFetch((*server)->port(), "GET", "/anything");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 418);
  HttpServerStats stats = (*server)->stats();
  EXPECT_EQ(stats.responses_4xx, 1u);
  EXPECT_EQ(stats.requests_total, 1u);
  EXPECT_EQ(stats.RejectedByReason().size(), 8u);  // ip_connection_limit included
}

}  // namespace
}  // namespace yoloscope::http
