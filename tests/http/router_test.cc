// Router and Request/Responder without sockets (Request::ForTest and
// Responder::FromCallback).
#include "http/router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace yoloscope::http {
namespace {

// Runs `request` through `router` and returns what was sent.
std::optional<Response> Route(const Router& router, Request request) {
  std::optional<Response> sent;
  router.Dispatch(std::move(request), Responder::FromCallback([&](Response&& response) {
                    sent = std::move(response);
                  }));
  return sent;
}

// A handler that answers with its route, path params and query.
HttpHandler Describe(std::string tag) {
  return [tag](Request request, Responder responder) {
    std::string body = tag + " route=" + std::string(request.route());
    for (const char* name : {"model", "id"}) {
      if (auto value = request.path_param(name))
        body += " " + std::string(name) + "=" + std::string(*value);
    }
    if (auto conf = request.query_param("conf")) body += " conf=" + std::string(*conf);
    responder.Send(Response::Text(body));
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_.Add("GET", "/v2/health/live", Describe("live")).ok());
    ASSERT_TRUE(router_.Add("GET", "/v2/models/{model}", Describe("model")).ok());
    ASSERT_TRUE(router_.Add("GET", "/v2/models/stats", Describe("stats")).ok());
    ASSERT_TRUE(router_.Add("POST", "/v2/models/{model}/infer", Describe("infer")).ok());
    ASSERT_TRUE(router_.Add("GET", "/", Describe("root")).ok());
    ASSERT_TRUE(router_.Add("PUT", "/items/{id}", Describe("put")).ok());
    ASSERT_TRUE(router_.Add("DELETE", "/items/{id}", Describe("delete")).ok());
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralsParamsAndQuery) {
  auto response =
      Route(router_, Request::ForTest("POST", "/v2/models/yolo%20v8/infer?conf=0.3&iou=0.5"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "infer route=/v2/models/{model}/infer model=yolo v8 conf=0.3");
  EXPECT_EQ(Route(router_, Request::ForTest("GET", "/v2/health/live"))->body,
            "live route=/v2/health/live");
  EXPECT_EQ(Route(router_, Request::ForTest("GET", "/"))->body, "root route=/");
}

TEST_F(RouterTest, LiteralBeatsParameter) {
  EXPECT_EQ(Route(router_, Request::ForTest("GET", "/v2/models/stats"))->body,
            "stats route=/v2/models/stats");
  EXPECT_EQ(Route(router_, Request::ForTest("GET", "/v2/models/other"))->body,
            "model route=/v2/models/{model} model=other");
}

TEST_F(RouterTest, UnknownPathIs404Json) {
  for (const char* target : {"/nope", "/v2/models", "/v2/models/", "/v2/models/x/infer/more",
                             "/v2/health/live/", "//"}) {
    auto response = Route(router_, Request::ForTest("GET", target));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 404) << target;
    EXPECT_EQ(response->content_type, "application/json");
    EXPECT_NE(response->body.find("\"error\""), std::string::npos);
  }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  auto response = Route(router_, Request::ForTest("GET", "/v2/models/m/infer"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  ASSERT_EQ(response->headers.size(), 1u);
  EXPECT_EQ(response->headers[0].first, "Allow");
  EXPECT_EQ(response->headers[0].second, "POST");
  EXPECT_EQ(Route(router_, Request::ForTest("PATCH", "/items/3"))->headers[0].second,
            "PUT, DELETE");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  EXPECT_EQ(Route(router_, Request::ForTest("HEAD", "/v2/health/live"))->status, 200);
  EXPECT_EQ(Route(router_, Request::ForTest("HEAD", "/items/1"))->status, 405);
}

TEST_F(RouterTest, RejectsBadOrDuplicatePatterns) {
  auto noop = [](Request, Responder) {};
  EXPECT_EQ(router_.Add("GET", "/v2/models/{other}", noop).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(router_.Add("GET", "no-slash", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a/{}", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a/{x", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a/x}", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a/{x}y", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a/{x}/{x}", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("G T", "/a", noop).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(router_.Add("GET", "/a", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(router_.Add("POST", "/v2/models/{other}", noop).ok());  // other method
}

TEST(RequestTest, ExposesHeadersCaseInsensitivelyAndMovesTheBody) {
  Request request =
      Request::ForTest("POST", "/p?q=1", {{"X-Request-Id", "abc"}, {"Content-Type", "image/jpeg"}},
                       std::string(1000, 'x'), 1234, "10.0.0.1:5");
  EXPECT_EQ(request.method(), "POST");
  EXPECT_EQ(request.target(), "/p?q=1");
  EXPECT_EQ(request.path(), "/p");
  EXPECT_EQ(request.query(), "q=1");
  EXPECT_EQ(request.header("x-request-id").value_or(""), "abc");
  EXPECT_EQ(request.header("CONTENT-TYPE").value_or(""), "image/jpeg");
  EXPECT_FALSE(request.header("missing").has_value());
  EXPECT_EQ(request.receive_ns(), 1234);
  EXPECT_EQ(request.peer(), "10.0.0.1:5");
  EXPECT_EQ(request.version(), 11);
  int fields = 0;
  request.ForEachHeader([&](std::string_view, std::string_view) { ++fields; });
  EXPECT_EQ(fields, 2);
  const char* data = request.body().data();
  Request moved = std::move(request);
  EXPECT_EQ(moved.body().data(), data);  // moving the request does not copy the body
  std::string body = moved.TakeBody();
  EXPECT_EQ(body.size(), 1000u);
  EXPECT_TRUE(moved.body().empty());
}

TEST(ResponderTest, SendsOnceAndAnswers500WhenDropped) {
  int calls = 0;
  int last_status = 0;
  auto record = [&](Response&& response) {
    ++calls;
    last_status = response.status;
  };
  {
    Responder responder = Responder::FromCallback(record);
    EXPECT_TRUE(responder.pending());
    responder.Send(Response::Json("{}"));
    EXPECT_FALSE(responder.pending());
    responder.Send(Response::Json("{}"));  // ignored
  }
  EXPECT_EQ(calls, 1);
  { Responder dropped = Responder::FromCallback(record); }
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(last_status, 500);
  {
    Responder a = Responder::FromCallback(record);
    Responder b = std::move(a);
    EXPECT_FALSE(a.pending());  // NOLINT(bugprone-use-after-move): moved-from is empty
    b.Send(Response::Json("{}", 202));
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(last_status, 202);
  Responder empty;
  empty.Send(Response::Json("{}"));  // no-op
}

}  // namespace
}  // namespace yoloscope::http
