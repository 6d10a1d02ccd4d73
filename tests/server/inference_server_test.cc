// The server through real sockets: a generated tiny model, real photos,
// concurrent clients, the request log read back afterwards.
#include "server/inference_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "http/test_http_client.h"
#include "pipeline/detector.h"
#include "served_model_fixture.h"
#include "testing/test_models.h"

namespace yoloscope {
namespace {

using testing::TestHttpClient;
using testing::TestHttpResponse;
using Json = nlohmann::json;

class InferenceServerTest : public testing::ServedModelFixture {
 protected:
  void SetUp() override {
    ServedModelFixture::SetUp();
    config_.service.batcher.max_queue_delay_us = 5000;
  }

  TestHttpResponse Post(const std::string& target, const std::string& body,
                        const TestHttpClient::Headers& headers) {
    auto c = Client();
    auto r = c.Request("POST", target, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : TestHttpResponse{};
  }
  TestHttpResponse PostJpeg(const std::string& body, const std::string& query = "",
                            TestHttpClient::Headers extra = {}) {
    extra.emplace_back("Content-Type", "image/jpeg");
    return Post("/v1/detect" + query, body, extra);
  }
  static std::vector<Json> OfEvent(const std::vector<Json>& all, const std::string& event) {
    std::vector<Json> out;
    for (const auto& j : all) {
      if (j.value("event", "") == event) out.push_back(j);
    }
    return out;
  }
};

TEST_F(InferenceServerTest, ConcurrentRequestsGetDetectionsAndExactlyOneRecordEach) {
  Start();
  const std::vector<std::string> photos = {"dog.jpg", "horses.jpg", "person.jpg", "eagle.jpg"};
  constexpr int kThreads = 4, kPerThread = 6;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<std::string, Json> responses;  // request_id -> body
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto client = Client();  // one keep-alive connection per thread
      for (int i = 0; i < kPerThread; ++i) {
        std::string body = Photo(photos[(t + i) % photos.size()]);
        auto r = client.Request("POST", "/v1/detect", body, {{"Content-Type", "image/jpeg"}});
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->status, 200) << r->body;
        Json j = Json::parse(r->body);
        std::lock_guard<std::mutex> lock(mu);
        responses[j.at("request_id")] = j;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(responses.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& [id, j] : responses) {
    EXPECT_EQ(j.at("model"), "yolov8tiny_320");
    EXPECT_GE(j.at("batch_size").get<int>(), 1);
    EXPECT_LE(j.at("batch_size").get<int>(), 4);
    const Json& t = j.at("timing");
    double sum = t.at("queue_ms").get<double>() + t.at("decode_ms").get<double>() +
                 t.at("preprocess_ms").get<double>() + t.at("inference_ms").get<double>() +
                 t.at("postprocess_ms").get<double>();
    EXPECT_LE(sum, t.at("total_ms").get<double>() + 0.05) << j.dump();
    EXPECT_GT(t.at("inference_ms").get<double>(), 0);
    for (const auto& d : j.at("detections")) {
      EXPECT_GE(d.at("score").get<double>(), 0.25);
      EXPECT_LE(d.at("box")[0].get<double>(), d.at("box")[2].get<double>());
    }
  }

  std::vector<Json> log = StopAndReadLog();
  std::vector<Json> requests = OfEvent(log, "request");
  std::vector<Json> batches = OfEvent(log, "batch");
  ASSERT_EQ(requests.size(), responses.size());
  std::map<int64_t, int64_t> batch_size_of;  // batch_id -> size
  for (const auto& b : batches) {
    EXPECT_EQ(b.at("schema"), "yoloscope.v1");
    batch_size_of[b.at("batch_id").get<int64_t>()] = b.at("batch_size").get<int64_t>();
    // The instance's wall time for the batch covers its device time.
    const double device_ms =
        b.value("h2d_ms", 0.0) + b.at("inference_ms").get<double>() + b.value("d2h_ms", 0.0);
    EXPECT_GE(b.at("busy_ms").get<double>() + 0.002, device_ms) << b.dump();
  }
  std::map<int64_t, int64_t> members;  // batch_id -> requests seen
  std::set<std::string> ids;
  for (const auto& r : requests) {
    EXPECT_EQ(r.at("schema"), "yoloscope.v1");
    EXPECT_EQ(r.at("status"), "ok");
    const std::string id = r.at("request_id");
    EXPECT_TRUE(responses.count(id)) << id;
    EXPECT_TRUE(ids.insert(id).second) << "duplicate record for " << id;
    for (const char* f :
         {"ts", "model", "backend", "device", "input_w", "input_h", "input_bytes", "batch_id",
          "batch_size", "queue_len", "queue_ms", "decode_ms", "preprocess_ms", "inference_ms",
          "postprocess_ms", "total_ms", "detections"}) {
      EXPECT_TRUE(r.contains(f)) << f << " missing in " << r.dump();
    }
    EXPECT_TRUE(r.at("gpu_id").is_null());
    const int64_t bid = r.at("batch_id");
    ASSERT_TRUE(batch_size_of.count(bid)) << "no batch record for batch " << bid;
    EXPECT_EQ(r.at("batch_size").get<int64_t>(), batch_size_of[bid]);
    members[bid]++;
    const Json& resp = responses[id];
    EXPECT_EQ(r.at("detections").get<size_t>(), resp.at("detections").size());
    EXPECT_EQ(r.at("batch_id").get<int64_t>(), resp.at("batch_id").get<int64_t>());
  }
  for (const auto& [bid, n] : members) {
    EXPECT_EQ(n, batch_size_of[bid]) << "batch " << bid << " members disagree with its size";
  }
}

TEST_F(InferenceServerTest, DetectionsMatchTheOfflinePipeline) {
  Start();
  DetectorConfig dc;
  dc.backend.model_path = model_;
  dc.backend.num_threads = 1;
  auto detector = Detector::Create(dc);
  ASSERT_TRUE(detector.ok()) << detector.status().ToString();
  for (const char* name : {"dog.jpg", "kite.jpg"}) {
    std::string body = Photo(name);
    auto offline = (*detector)->Detect(body);
    ASSERT_TRUE(offline.ok());
    TestHttpResponse r = PostJpeg(body);
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = Json::parse(r.body);
    ASSERT_EQ(j.at("detections").size(), offline->detections.size()) << name;
    EXPECT_EQ(j.at("width"), offline->width);
    for (size_t i = 0; i < offline->detections.size(); ++i) {
      const Detection& d = offline->detections[i];
      const Json& s = j.at("detections")[i];
      EXPECT_EQ(s.at("class_id").get<int>(), d.class_id);
      EXPECT_NEAR(s.at("score").get<double>(), d.score, 1e-3);
      EXPECT_NEAR(s.at("box")[0].get<double>(), d.x1, 0.05);
      EXPECT_NEAR(s.at("box")[3].get<double>(), d.y2, 0.05);
    }
  }
}

TEST_F(InferenceServerTest, HonoursRequestIdAndQueryParameters) {
  Start();
  TestHttpResponse r =
      PostJpeg(Photo("dog.jpg"), "?conf=0.9&max_det=2", {{"X-Request-Id", "camera-7-frame-42"}});
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j.at("request_id"), "camera-7-frame-42");
  EXPECT_EQ(r.Header("X-Request-Id").value_or(""), "camera-7-frame-42");
  EXPECT_LE(j.at("detections").size(), 2u);
  for (const auto& d : j.at("detections")) EXPECT_GT(d.at("score").get<double>(), 0.9);
  // Multipart upload with field `image`.
  const std::string boundary = "ys-boundary-123";
  std::string body = "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"dog.jpg\"\r\n"
                     "Content-Type: image/jpeg\r\n\r\n" +
                     Photo("dog.jpg") + "\r\n--" + boundary + "--\r\n";
  TestHttpResponse m =
      Post("/v1/detect", body, {{"Content-Type", "multipart/form-data; boundary=" + boundary}});
  EXPECT_EQ(m.status, 200) << m.body;
}

TEST_F(InferenceServerTest, BadInputGetsClearErrorsAndServingContinues) {
  config_.http.max_body_bytes = 4 << 20;
  Start();
  const std::string jpeg = Photo("dog.jpg");
  struct Case {
    std::string name, body, content_type, query;
    int status;
    std::string needle;
  };
  // A JPEG header claiming 10000 x 10000 pixels (SOI, SOF0, then nothing).
  std::string huge = {'\xFF', '\xD8', '\xFF', '\xC0', 0, 17,   8, '\x27', '\x10', '\x27', '\x10',
                      3,      1,      0x22,   0,      2, 0x11, 1, 3,      0x11,   1};
  std::vector<Case> cases = {
      {"no content type", jpeg, "", "", 415, "Content-Type"},
      {"wrong content type", jpeg, "text/plain", "", 415, "text/plain"},
      {"empty body", "", "image/jpeg", "", 400, "empty"},
      {"truncated jpeg", jpeg.substr(0, jpeg.size() / 2), "image/jpeg", "", 422, "truncated"},
      {"random bytes", std::string(1000, '\x5a'), "image/jpeg", "", 400, "format"},
      {"gif", "GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", "", 415, "GIF"},
      {"too many pixels", huge, "image/jpeg", "", 422, "pixels"},
      {"bad conf", jpeg, "image/jpeg", "?conf=high", 400, "conf"},
      {"conf out of range", jpeg, "image/jpeg", "?conf=7", 400, "conf"},
  };
  for (const auto& c : cases) {
    TestHttpClient::Headers h;
    if (!c.content_type.empty()) h.emplace_back("Content-Type", c.content_type);
    TestHttpResponse r = Post("/v1/detect" + c.query, c.body, h);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << c.name << ": " << r.body;
    EXPECT_NE(j.at("error").get<std::string>().find(c.needle), std::string::npos)
        << c.name << ": " << r.body;
  }
  // Body over the limit: 413 from the HTTP layer.
  TestHttpResponse big = PostJpeg(std::string(5 << 20, 'x'));
  EXPECT_EQ(big.status, 413);
  // Unknown model and malformed KServe JSON.
  EXPECT_EQ(Post("/v2/models/nope/infer", "{}", {{"Content-Type", "application/json"}}).status,
            404);
  EXPECT_EQ(
      Post("/v2/models/yolov8tiny_320/infer", "{not json", {{"Content-Type", "application/json"}})
          .status,
      400);
  EXPECT_EQ(Post("/v2/models/yolov8tiny_320/infer", R"({"inputs": [{"name": "x"}]})",
                 {{"Content-Type", "application/json"}})
                .status,
            400);
  // Still serving.
  EXPECT_EQ(PostJpeg(jpeg).status, 200);

  std::vector<Json> requests = OfEvent(StopAndReadLog(), "request");
  std::map<std::string, int> by_status;
  for (const auto& r : requests) by_status[r.at("status")]++;
  EXPECT_EQ(by_status["ok"], 1);
  EXPECT_EQ(by_status["unsupported_media_type"], 3);
  EXPECT_GE(by_status["bad_request"], 5);
  EXPECT_EQ(by_status["bad_image"], 1);
  EXPECT_EQ(by_status["too_many_pixels"], 1);
}

TEST_F(InferenceServerTest, HttpLayerRefusalsOfInferenceRequestsGetOneRecordEach) {
  config_.http.max_body_bytes = 1 << 20;
  config_.http.max_header_bytes = 2048;
  config_.http.auth_token = "tok";
  config_.http.read_timeout = std::chrono::milliseconds(300);
  Start();
  const TestHttpClient::Headers auth = {{"Authorization", "Bearer tok"}};
  auto with = [&](TestHttpClient::Headers h, TestHttpClient::Headers more) {
    h.insert(h.end(), more.begin(), more.end());
    return h;
  };
  // 413: body over the limit (decided from Content-Length).
  TestHttpResponse big =
      PostJpeg(std::string(2 << 20, 'x'), "", with(auth, {{"X-Request-Id", "too-big"}}));
  EXPECT_EQ(big.status, 413);
  // 401: no token, on an inference route and on another one.
  EXPECT_EQ(PostJpeg(Photo("dog.jpg"), "", {{"X-Request-Id", "no-token"}}).status, 401);
  {
    auto c = Client();
    EXPECT_EQ(c.Get("/v1/stats")->status, 401);  // not an inference request: no record
    EXPECT_EQ(c.Get("/metrics")->status, 200);   // exempt
  }
  // 431: header over the limit on the KServe route.
  TestHttpResponse huge = Post("/v2/models/yolov8tiny_320/infer", "{}",
                               with(auth, {{"X-Padding", std::string(4000, 'p')}}));
  EXPECT_EQ(huge.status, 431);
  {  // 400: not HTTP at all (the route is unknown, so it may have been one).
    auto c = Client();
    ASSERT_TRUE(c.SendRaw("GARBAGE\r\n\r\n").ok());
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 400);
  }
  {  // Read timeout: the body stops half-way; the connection is closed, no response.
    auto c = Client();
    ASSERT_TRUE(c.SendRaw("POST /v1/detect HTTP/1.1\r\nAuthorization: Bearer tok\r\n"
                          "X-Request-Id: stalled\r\nContent-Type: image/jpeg\r\n"
                          "Content-Length: 5000\r\n\r\nhalf")
                    .ok());
    EXPECT_TRUE(c.WaitForClose(std::chrono::seconds(10)));
  }
  // And an ordinary request still works.
  EXPECT_EQ(PostJpeg(Photo("dog.jpg"), "", with(auth, {{"X-Request-Id", "fine"}})).status, 200);
  const std::string metrics = server_->RenderMetrics();
  EXPECT_NE(metrics.find("yoloscope_requests_total{code=\"413\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("yoloscope_requests_total{code=\"401\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("yoloscope_http_rejected_total{reason=\"unauthorized\"} 2"),
            std::string::npos);

  std::vector<Json> requests = OfEvent(StopAndReadLog(), "request");
  std::map<std::string, Json> by_status;
  std::set<std::string> ids;
  for (const Json& r : requests) {
    EXPECT_TRUE(ids.insert(r.at("request_id").get<std::string>()).second) << r.dump();
    EXPECT_TRUE(by_status.emplace(r.at("status").get<std::string>(), r).second)
        << "two records with status " << r.at("status") << ": " << r.dump();
    EXPECT_EQ(r.at("schema"), "yoloscope.v1");
    EXPECT_TRUE(r.contains("ts")) << r.dump();
    EXPECT_TRUE(r.contains("total_ms")) << r.dump();
    EXPECT_EQ(r.at("model"), "yolov8tiny_320");
    EXPECT_TRUE(r.at("gpu_id").is_null());
  }
  ASSERT_EQ(requests.size(), 6u);
  ASSERT_EQ(by_status.size(), 6u);
  const Json& too_big = by_status.at("payload_too_large");
  EXPECT_EQ(too_big.at("request_id"), "too-big");
  EXPECT_EQ(too_big.at("input_bytes"), 2 << 20);
  EXPECT_NE(too_big.at("error").get<std::string>().find("1048576"), std::string::npos);
  EXPECT_FALSE(too_big.contains("batch_id"));
  const Json& unauthorized = by_status.at("unauthorized");
  EXPECT_EQ(unauthorized.at("request_id"), "no-token");
  EXPECT_EQ(unauthorized.at("error"), "missing bearer token");
  EXPECT_FALSE(by_status.at("header_too_large").at("request_id").get<std::string>().empty());
  EXPECT_NE(by_status.at("bad_request").at("error").get<std::string>().find("malformed"),
            std::string::npos);
  const Json& stalled = by_status.at("read_timeout");
  EXPECT_EQ(stalled.at("request_id"), "stalled");
  EXPECT_EQ(stalled.at("input_bytes"), 5000);
  EXPECT_EQ(by_status.at("ok").at("request_id"), "fine");
}

TEST_F(InferenceServerTest, SimulatedGpuRecordsAgreeOnGpuId) {
  config_.service.backend.kind = "sim";
  config_.service.backend.model_path =
      std::string(YOLOSCOPE_SOURCE_DIR) + "/bench/server/fast-sim.yaml";
  Start();
  const std::vector<std::string> photos = {"dog.jpg", "horses.jpg", "person.jpg", "eagle.jpg"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto c = Client();
      for (int i = 0; i < 3; ++i) {
        auto r = c.Request("POST", "/v1/detect", Photo(photos[(t + i) % photos.size()]),
                           {{"Content-Type", "image/jpeg"}});
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->status, 200) << r->body;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<Json> log = StopAndReadLog();
  std::vector<Json> requests = OfEvent(log, "request"), batches = OfEvent(log, "batch");
  ASSERT_EQ(requests.size(), 12u);
  ASSERT_FALSE(batches.empty());
  for (const auto& records : {requests, batches}) {
    for (const Json& j : records) {
      EXPECT_EQ(j.at("gpu_id"), 0) << j.dump();  // the simulated device sim:0
    }
  }
  for (const Json& r : requests) EXPECT_EQ(r.at("device"), "sim:0");
}

TEST_F(InferenceServerTest, OverflowIsAnswered503WithRetryAfter) {
  config_.service.batcher.max_batch_size = 1;
  config_.service.batcher.max_queue_size = 2;
  config_.service.batcher.max_queue_delay_us = 0;
  Start();
  const std::string body = Photo("kite.jpg");
  constexpr int kClients = 16;
  std::vector<int> status(kClients);
  std::vector<std::string> retry_after(kClients);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = Client();
      ready++;
      while (ready.load() < kClients) std::this_thread::yield();
      auto r = c.Request("POST", "/v1/detect", body, {{"Content-Type", "image/jpeg"}});
      ASSERT_TRUE(r.ok());
      status[i] = r->status;
      retry_after[i] = r->Header("Retry-After").value_or("");
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, full = 0;
  for (int i = 0; i < kClients; ++i) {
    if (status[i] == 200) ok++;
    if (status[i] == 503) {
      full++;
      EXPECT_EQ(retry_after[i], "1");
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(full, 0);
  EXPECT_EQ(ok + full, kClients);
  std::vector<Json> requests = OfEvent(StopAndReadLog(), "request");
  EXPECT_EQ(requests.size(), static_cast<size_t>(kClients));
  int logged_full = 0;
  for (const auto& r : requests) logged_full += r.at("status") == "queue_full";
  EXPECT_EQ(logged_full, full);
}

TEST_F(InferenceServerTest, ExpiredRequestsAreAnswered504AndNeverRun) {
  config_.service.batcher.max_batch_size = 8;
  config_.service.batcher.max_queue_delay_us = 2'000'000;  // a partial batch waits 2 s
  Start();
  TestHttpResponse r = PostJpeg(Photo("dog.jpg"), "", {{"X-Timeout-Ms", "50"}});
  EXPECT_EQ(r.status, 504) << r.body;
  std::vector<Json> log = StopAndReadLog();
  std::vector<Json> requests = OfEvent(log, "request");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].at("status"), "timeout");
  EXPECT_FALSE(requests[0].contains("batch_id"));
  EXPECT_TRUE(OfEvent(log, "batch").empty());
}

TEST_F(InferenceServerTest, KServeV2Endpoints) {
  Start();
  auto c = Client();
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  Json meta = Json::parse(c.Get("/v2/models/yolov8tiny_320")->body);
  EXPECT_EQ(meta.at("name"), "yolov8tiny_320");
  EXPECT_EQ(c.Get("/v2/models/yolov8tiny_320/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/other/ready")->status, 404);
  EXPECT_EQ(Json::parse(c.Get("/v2")->body).at("name"), "yoloscope");

  // BYTES input with two base64-encoded photos.
  auto b64 = [](const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
      for (int k = 3; k >= 0; --k) out += a[(v >> (6 * k)) & 63];
    }
    if (i < in.size()) {
      uint32_t v = uint8_t(in[i]) << 16;
      if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
      out += a[(v >> 18) & 63];
      out += a[(v >> 12) & 63];
      out += i + 1 < in.size() ? a[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  };
  Json req = {{"id", "req-1"},
              {"inputs",
               {{{"name", "images"},
                 {"datatype", "BYTES"},
                 {"shape", {2}},
                 {"data", {b64(Photo("dog.jpg")), b64(Photo("horses.jpg"))}}}}}};
  auto r = c.Request("POST", "/v2/models/yolov8tiny_320/infer", req.dump(),
                     {{"Content-Type", "application/json"}});
  ASSERT_EQ(r->status, 200) << r->body;
  Json out = Json::parse(r->body);
  EXPECT_EQ(out.at("id"), "req-1");
  const Json& num = out.at("outputs")[0];
  const Json& dets = out.at("outputs")[1];
  EXPECT_EQ(num.at("shape"), Json({2}));
  EXPECT_EQ(dets.at("shape")[0], 2);
  EXPECT_EQ(dets.at("shape")[2], 6);
  const size_t k = dets.at("shape")[1];
  EXPECT_EQ(dets.at("data").size(), 2 * k * 6);
  EXPECT_EQ(k, std::max(num.at("data")[0].get<size_t>(), num.at("data")[1].get<size_t>()));

  // The same image through the binary-tensor extension.
  std::string img = Photo("dog.jpg");
  uint32_t len = static_cast<uint32_t>(img.size());
  std::string binary(reinterpret_cast<const char*>(&len), 4);
  binary += img;
  Json header = {{"inputs",
                  {{{"name", "images"},
                    {"datatype", "BYTES"},
                    {"shape", {1}},
                    {"parameters", {{"binary_data_size", binary.size()}}}}}}};
  std::string h = header.dump();
  auto rb = c.Request("POST", "/v2/models/yolov8tiny_320/infer", h + binary,
                      {{"Content-Type", "application/octet-stream"},
                       {"Inference-Header-Content-Length", std::to_string(h.size())}});
  ASSERT_EQ(rb->status, 200) << rb->body;
  Json outb = Json::parse(rb->body);
  EXPECT_EQ(outb.at("outputs")[0].at("data")[0], num.at("data")[0]);

  // An FP32 tensor input (a grey image) skips decoding.
  const auto& m = meta.at("inputs")[1].at("shape");
  const int hh = m[2], ww = m[3];
  std::vector<float> grey(3 * hh * ww, 114.f / 255.f);
  Json tensor_req = {{"inputs",
                      {{{"name", "images_fp32"},
                        {"datatype", "FP32"},
                        {"shape", {1, 3, hh, ww}},
                        {"data", grey}}}}};
  auto rt = c.Request("POST", "/v2/models/yolov8tiny_320/infer", tensor_req.dump(),
                      {{"Content-Type", "application/json"}});
  EXPECT_EQ(rt->status, 200) << rt->body.substr(0, 300);
}

TEST_F(InferenceServerTest, MetricsPassPromtoolAndStatsCountBatches) {
  Start();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(PostJpeg(Photo("dog.jpg")).status, 200);
  auto c = Client();
  auto m = c.Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("yoloscope_requests_total{code=\"200\"} 3"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("yoloscope_stage_duration_seconds_bucket{stage=\"inference\""),
            std::string::npos);
  EXPECT_NE(m->body.find("yoloscope_batch_size_count 3"), std::string::npos);
  // The allocator's figures, to tell a leak (in use) from kept memory (free).
  EXPECT_NE(m->body.find("yoloscope_process_heap_bytes{state=\"in_use\"}"), std::string::npos);
  EXPECT_NE(m->body.find("yoloscope_process_heap_bytes{state=\"free\"}"), std::string::npos);
  EXPECT_NE(m->body.find("yoloscope_heap_trims_total"), std::string::npos);
  if (std::filesystem::exists("/usr/bin/promtool")) {
    std::string path = (dir_ / "metrics.txt").string();
    std::ofstream(path) << m->body;
    std::string cmd = "/usr/bin/promtool check metrics < " + path + " > " + path + ".out 2>&1";
    int rc = std::system(cmd.c_str());
    std::string out = testing::ReadFileBytes(path + ".out");
    EXPECT_EQ(rc, 0) << out;
  }
  Json stats = Json::parse(c.Get("/v1/stats")->body);
  int64_t batches = 0;
  for (const auto& b : stats.at("batch_stats"))
    batches += b.at("count").get<int64_t>() * b.at("batch_size").get<int64_t>();
  EXPECT_EQ(batches, 3);
}

}  // namespace
}  // namespace yoloscope
