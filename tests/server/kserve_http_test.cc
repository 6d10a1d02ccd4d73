// Issue 14: the KServe v2 HTTP front end over real sockets, on a real
// (generated) model: Triton's extension routes, versioned routes, binary
// outputs, requested outputs, input validation with Triton's wording,
// compression, parameters as numbers or strings, the batch-size limit, and
// what the request log says for each.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <map>

#include "server/kserve_fixture.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;
using testing::TestHttpResponse;

class KServeHttpTest : public testing::KServeFixture {
 protected:
  std::string Url(const std::string& tail) const {
    return std::string("/v2/models/") + kModel + tail;
  }
  TestHttpResponse Infer(const Json& request, testing::TestHttpClient::Headers headers = {},
                         const std::string& path = "/infer") {
    auto c = Client();
    headers.emplace_back("Content-Type", "application/json");
    auto r = c.Request("POST", Url(path), request.dump(), headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : TestHttpResponse{};
  }
  Json PhotosRequest(const std::vector<std::string>& names) {
    Json data = Json::array();
    for (const auto& n : names) data.push_back(Base64(Photo(n)));
    return {{"inputs",
             {{{"name", "images"},
               {"datatype", "BYTES"},
               {"shape", {static_cast<int>(names.size())}},
               {"data", data}}}}};
  }
  static std::string ErrorOf(const TestHttpResponse& r) {
    Json j = Json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << r.body;
    return j.is_object() ? j.value("error", "") : "";
  }
  static std::string Compress(const std::string& in, int window_bits) {
    z_stream zs{};
    EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&zs, in.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
  }
  static std::string Gunzip(const std::string& in) {
    z_stream zs{};
    EXPECT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
    std::string out(64 << 20, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
  }
};

TEST_F(KServeHttpTest, ConfigIndexVersionsAndUniqueInputNames) {
  config_.service.batcher.preferred_batch_sizes = {4, 2};
  config_.service.batcher.max_queue_size = 77;
  Start();
  auto c = Client();
  for (const std::string base : {"", "/versions/1"}) {
    auto r = c.Get(Url(base + "/config"));
    ASSERT_EQ(r->status, 200) << r->body;
    Json cfg = Json::parse(r->body);
    EXPECT_EQ(cfg.at("name"), kModel);
    EXPECT_EQ(cfg.at("platform"), "pytorch_libtorch");
    EXPECT_EQ(cfg.at("max_batch_size"), 4);
    EXPECT_EQ(cfg.at("dynamic_batching").at("preferred_batch_size"), Json({2, 4}));
    EXPECT_EQ(cfg.at("dynamic_batching").at("max_queue_delay_microseconds"), 2000);
    EXPECT_EQ(cfg.at("dynamic_batching").at("default_queue_policy").at("max_queue_size"), 77);
    EXPECT_EQ(cfg.at("instance_group")[0].at("kind"), "KIND_CPU");
    EXPECT_EQ(cfg.at("instance_group")[0].at("count"), 1);
    ASSERT_EQ(cfg.at("input").size(), 2u);
    EXPECT_EQ(cfg.at("input")[0].at("data_type"), "TYPE_STRING");
    EXPECT_EQ(cfg.at("input")[1].at("dims"), Json({3, 320, 320}));
    EXPECT_EQ(cfg.at("output")[1].at("dims"), Json({-1, 6}));
    EXPECT_EQ(c.Get(Url(base + "/ready"))->status, 200);
    Json meta = Json::parse(c.Get(Url(base))->body);
    std::set<std::string> names;
    for (const Json& in : meta.at("inputs")) names.insert(in.at("name").get<std::string>());
    EXPECT_EQ(names.size(), meta.at("inputs").size()) << meta.dump();
  }
  // Only inference responses are compressed (Triton's aio client asks for
  // gzip everywhere but inflates only infer responses).
  auto gz = c.Get(Url("/config"), {{"Accept-Encoding", "gzip, deflate"}});
  EXPECT_FALSE(gz->Header("Content-Encoding").has_value());
  EXPECT_FALSE(Json::parse(gz->body, nullptr, false).is_discarded());
  auto v2 = c.Get(Url("/versions/2/config"));
  EXPECT_EQ(v2->status, 404);
  EXPECT_NE(ErrorOf(*v2).find("version 2 is not found"), std::string::npos) << v2->body;
  EXPECT_EQ(c.Get("/v2/models/nosuch/config")->status, 404);
  auto index = c.Request("POST", "/v2/repository/index", "{}", {});
  ASSERT_EQ(index->status, 200) << index->body;
  Json models = Json::parse(index->body);
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].at("name"), kModel);
  EXPECT_EQ(models[0].at("state"), "READY");
  Json server = Json::parse(c.Get("/v2")->body);
  for (const char* ext : {"binary_tensor_data", "model_configuration", "statistics"}) {
    EXPECT_NE(std::find(server.at("extensions").begin(), server.at("extensions").end(), ext),
              server.at("extensions").end())
        << ext;
  }
}

// /stats counts what /metrics counts and what the log holds.
TEST_F(KServeHttpTest, StatsAgreeWithMetricsAndTheLog) {
  Start();
  ASSERT_EQ(Infer(PhotosRequest({"dog.jpg", "horses.jpg", "eagle.jpg"})).status, 200);
  ASSERT_EQ(Infer(PhotosRequest({"person.jpg"}), {}, "/versions/1/infer").status, 200);
  // A failure: a truncated JPEG (its header reads, its data does not).
  Json bad = {{"inputs",
               {{{"name", "images"},
                 {"datatype", "BYTES"},
                 {"shape", {1}},
                 {"data", {Base64(Photo("dog.jpg").substr(0, 2000))}}}}}};
  EXPECT_EQ(Infer(bad).status, 422);
  auto c = Client();
  auto r = c.Get(Url("/stats"));
  ASSERT_EQ(r->status, 200) << r->body;
  Json s = Json::parse(r->body).at("model_stats")[0];
  EXPECT_EQ(s.at("name"), kModel);
  EXPECT_EQ(s.at("version"), "1");
  EXPECT_EQ(s.at("inference_count"), 4);
  const Json& is = s.at("inference_stats");
  EXPECT_EQ(is.at("success").at("count"), 4);
  EXPECT_EQ(is.at("fail").at("count"), 1);
  EXPECT_GT(is.at("success").at("ns").get<int64_t>(), 0);
  EXPECT_EQ(is.at("compute_infer").at("count"), 4);
  EXPECT_GT(is.at("compute_infer").at("ns").get<int64_t>(), 0);
  EXPECT_GT(s.at("last_inference").get<int64_t>(), 1'700'000'000'000);
  int64_t images_in_batches = 0, batches = 0;
  for (const Json& b : s.at("batch_stats")) {
    images_in_batches +=
        b.at("batch_size").get<int64_t>() * b.at("compute_infer").at("count").get<int64_t>();
    batches += b.at("compute_infer").at("count").get<int64_t>();
  }
  EXPECT_EQ(images_in_batches, 4);
  EXPECT_EQ(s.at("execution_count"), batches);
  EXPECT_EQ(c.Get("/v2/models/stats")->body, r->body);

  // The same numbers in /metrics.
  const std::string metrics = c.Get("/metrics")->body;
  auto value = [&](const std::string& series) {
    const size_t at = metrics.find("\n" + series + " ");
    EXPECT_NE(at, std::string::npos) << series;
    return at == std::string::npos ? -1.0 : std::stod(metrics.substr(at + series.size() + 2));
  };
  EXPECT_EQ(value("yoloscope_batches_total"), static_cast<double>(batches));
  EXPECT_EQ(value("yoloscope_stage_duration_seconds_count{stage=\"inference\"}"), 4.0);
  EXPECT_NEAR(value("yoloscope_stage_duration_seconds_sum{stage=\"inference\"}") * 1e9,
              is.at("compute_infer").at("ns").get<double>(), 1e3);
  EXPECT_EQ(value("yoloscope_requests_total{code=\"200\"}"), 4.0);
  EXPECT_EQ(value("yoloscope_requests_total{code=\"422\"}"), 1.0);

  // And in the log: 4 ok image records in `batches` distinct batches, 1 failure.
  std::vector<Json> records = StopAndReadRequests();
  int ok = 0, failed = 0;
  std::set<int64_t> batch_ids;
  for (const Json& rec : records) {
    EXPECT_EQ(rec.value("protocol", ""), "kserve_http");
    if (rec.value("status", "") == "ok") {
      ++ok;
      batch_ids.insert(rec.at("batch_id").get<int64_t>());
    } else {
      ++failed;
    }
  }
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(static_cast<int64_t>(batch_ids.size()), batches);
}

TEST_F(KServeHttpTest, BinaryOutputsAndRequestedOutputsOnly) {
  Start();
  Json req = PhotosRequest({"dog.jpg", "horses.jpg"});
  TestHttpResponse plain = Infer(req);
  ASSERT_EQ(plain.status, 200) << plain.body;
  Json pj = Json::parse(plain.body);
  ASSERT_EQ(pj.at("outputs").size(), 2u);
  EXPECT_FALSE(plain.Header("Inference-Header-Content-Length").has_value());

  // All outputs binary.
  Json breq = req;
  breq["parameters"] = {{"binary_data_output", true}};
  TestHttpResponse bin = Infer(breq);
  ASSERT_EQ(bin.status, 200) << bin.body.substr(0, 300);
  auto hl = bin.Header("Inference-Header-Content-Length");
  ASSERT_TRUE(hl.has_value());
  const size_t json_len = std::stoul(*hl);
  Json bj = Json::parse(bin.body.substr(0, json_len));
  size_t offset = json_len;
  for (size_t i = 0; i < 2; ++i) {
    const Json& o = bj.at("outputs")[i];
    EXPECT_FALSE(o.contains("data"));
    const size_t size = o.at("parameters").at("binary_data_size");
    ASSERT_LE(offset + size, bin.body.size());
    const Json& expect = pj.at("outputs")[i];
    EXPECT_EQ(o.at("shape"), expect.at("shape"));
    const size_t n = expect.at("data").size();
    if (o.at("datatype") == "INT32") {
      ASSERT_EQ(size, n * 4);
      for (size_t k = 0; k < n; ++k) {
        int32_t v;
        std::memcpy(&v, bin.body.data() + offset + 4 * k, 4);
        EXPECT_EQ(v, expect.at("data")[k].get<int32_t>());
      }
    } else {
      ASSERT_EQ(size, n * 4);
      for (size_t k = 0; k < n; ++k) {
        float v;
        std::memcpy(&v, bin.body.data() + offset + 4 * k, 4);
        EXPECT_NEAR(v, expect.at("data")[k].get<float>(), 1e-3);  // JSON has 4 decimals
      }
    }
    offset += size;
  }
  EXPECT_EQ(offset, bin.body.size());

  // Only the requested output, binary through its own parameter.
  Json one = req;
  one["outputs"] = {{{"name", "num_detections"}, {"parameters", {{"binary_data", true}}}}};
  TestHttpResponse r1 = Infer(one);
  ASSERT_EQ(r1.status, 200);
  const size_t l1 = std::stoul(r1.Header("Inference-Header-Content-Length").value());
  Json j1 = Json::parse(r1.body.substr(0, l1));
  ASSERT_EQ(j1.at("outputs").size(), 1u);
  EXPECT_EQ(j1.at("outputs")[0].at("name"), "num_detections");
  EXPECT_EQ(r1.body.size() - l1, 8u);  // two INT32

  // Only `detections`, as JSON.
  Json two = req;
  two["outputs"] = {{{"name", "detections"}}};
  Json j2 = Json::parse(Infer(two).body);
  ASSERT_EQ(j2.at("outputs").size(), 1u);
  const Json& got = j2.at("outputs")[0].at("data");
  const Json& want = pj.at("outputs")[1].at("data");
  ASSERT_EQ(got.size(), want.size());
  // Batches of other sizes may round the last digit differently.
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i].get<float>(), want[i].get<float>(), 2e-3);

  Json unknown = req;
  unknown["outputs"] = {{{"name", "output0"}}};
  TestHttpResponse ru = Infer(unknown);
  EXPECT_EQ(ru.status, 400);
  EXPECT_NE(ErrorOf(ru).find("unexpected inference output 'output0'"), std::string::npos);
}

TEST_F(KServeHttpTest, InputsAndParametersAreValidatedWithClearMessages) {
  Start();
  struct Case {
    Json request;
    int status;
    std::string message;
  };
  const std::string dog = Base64(Photo("dog.jpg"));
  // Requests as JSON text; "DOG" stands for a base64 photo.
  auto parse = [&](std::string text) {
    for (size_t at; (at = text.find("\"DOG\"")) != std::string::npos;) {
      text.replace(at, 5, "\"" + dog + "\"");
    }
    return Json::parse(text);
  };
  const char* kOne =
      R"("inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["DOG"]}])";
  std::vector<Case> cases = {
      {parse(R"({"inputs":[{"name":"INPUT0","datatype":"BYTES","shape":[1],"data":["DOG"]}]})"),
       400, "unexpected inference input 'INPUT0'"},
      {parse(R"({"inputs":[{"name":"images","datatype":"INT32","shape":[1],"data":[1]}]})"), 400,
       "data-type is 'INT32', but model"},
      {parse(
           R"({"inputs":[{"name":"images","datatype":"BYTES","shape":[1,2],"data":["DOG","DOG"]}]})"),
       400, "unexpected shape for input 'images'"},
      {parse(R"({"inputs":[{"name":"images","datatype":"BYTES","shape":[2],"data":["DOG"]}]})"),
       400, "has 1 elements but its shape [2] needs 2"},
      {parse(R"({"inputs":[{"name":"images","datatype":"BYTES","shape":[1],"data":["DOG"]},
                           {"name":"images","datatype":"BYTES","shape":[1],"data":["DOG"]}]})"),
       400, "given more than once"},
      {parse(R"({"inputs":[]})"), 400, "expected 1 input but got 0"},
      {parse(std::string(R"({"parameters":{"conf":"abc"},)") + kOne + "}"), 400,
       "KServe parameter 'conf' must be a number in [0, 1], got 'abc'"},
      {parse(std::string(R"({"parameters":{"conf":true},)") + kOne + "}"), 400, "got '<boolean>'"},
      {parse(std::string(R"({"parameters":{"max_det":2.5},)") + kOne + "}"), 400,
       "max_det' must be a whole number"},
      {parse(R"({"id":12,"inputs":[]})"), 400, "'id' must be a string"},
  };
  for (const Case& c : cases) {
    TestHttpResponse r = Infer(c.request);
    EXPECT_EQ(r.status, c.status) << c.request.dump().substr(0, 200);
    const std::string error = ErrorOf(r);
    EXPECT_NE(error.find(c.message), std::string::npos) << error;
    EXPECT_EQ(error.find("json.exception"), std::string::npos) << error;
  }
  // Numbers and numeric strings are the same parameter.
  for (const Json& conf : {Json(0.5), Json("0.5")}) {
    Json ok = PhotosRequest({"dog.jpg"});
    ok["parameters"] = {{"conf", conf}, {"max_det", "3"}, {"priority", 1}};
    TestHttpResponse r = Infer(ok);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_LE(Json::parse(r.body).at("outputs")[0].at("data")[0].get<int>(), 3);
  }
  // An FP32 tensor sent to the BYTES input names the right input.
  Json fp = {{"inputs",
              {{{"name", "images"},
                {"datatype", "FP32"},
                {"shape", {1, 3, 320, 320}},
                {"data", Json::array()}}}}};
  EXPECT_NE(ErrorOf(Infer(fp)).find("images_fp32"), std::string::npos);
  // Every refusal above wrote exactly one record, none of them ran.
  std::vector<Json> records = StopAndReadRequests();
  int bad_request = 0, ok = 0;
  for (const Json& rec : records) {
    if (rec.at("status") == "bad_request") {
      ++bad_request;
      EXPECT_FALSE(rec.contains("batch_id"));
    } else if (rec.at("status") == "ok") {
      ++ok;
    }
  }
  EXPECT_EQ(bad_request, static_cast<int>(cases.size()) + 1);
  EXPECT_EQ(ok, 2);
}

TEST_F(KServeHttpTest, NestedAndFlatTensorDataAreTheSame) {
  Start();
  const int n = 3 * 320 * 320;
  std::vector<float> flat(n, 114.f / 255.f);
  Json nested = Json::array();
  for (int ch = 0; ch < 3; ++ch) {
    Json plane = Json::array();
    for (int y = 0; y < 320; ++y) plane.push_back(std::vector<float>(320, 114.f / 255.f));
    nested.push_back(plane);
  }
  for (const Json& data : {Json(flat), Json::array({nested})}) {
    Json req = {{"inputs",
                 {{{"name", "images_fp32"},
                   {"datatype", "FP32"},
                   {"shape", {1, 3, 320, 320}},
                   {"data", data}}}}};
    TestHttpResponse r = Infer(req);
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
  }
}

TEST_F(KServeHttpTest, GzipAndDeflateBothWays) {
  Start();
  const std::string body = PhotosRequest({"dog.jpg"}).dump();
  TestHttpResponse plain = Infer(Json::parse(body));
  ASSERT_EQ(plain.status, 200);
  for (const auto& [name, bits] :
       std::vector<std::pair<std::string, int>>{{"gzip", 16 + MAX_WBITS}, {"deflate", MAX_WBITS}}) {
    auto c = Client();
    auto r = c.Request("POST", Url("/infer"), Compress(body, bits),
                       {{"Content-Type", "application/json"},
                        {"Content-Encoding", name},
                        {"Accept-Encoding", "gzip"}});
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << name << ": " << r->body.substr(0, 200);
    EXPECT_EQ(r->Header("Content-Encoding").value_or(""), "gzip");
    EXPECT_EQ(Json::parse(Gunzip(r->body)), Json::parse(plain.body));
  }
  auto c = Client();
  auto corrupt = c.Request("POST", Url("/infer"), "\x1f\x8b garbage",
                           {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(corrupt->status, 400);
  EXPECT_NE(ErrorOf(*corrupt).find("corrupt compressed body"), std::string::npos);
  auto br = c.Request("POST", Url("/infer"), body,
                      {{"Content-Type", "application/json"}, {"Content-Encoding", "br"}});
  EXPECT_EQ(br->status, 415);
  // q=0 refuses a coding: the response is not compressed.
  auto q0 = c.Request("POST", Url("/infer"), body,
                      {{"Content-Type", "application/json"}, {"Accept-Encoding", "gzip;q=0"}});
  EXPECT_FALSE(q0->Header("Content-Encoding").has_value());
  // A compression bomb stops at the body limit.
  server_->Shutdown(std::chrono::seconds(5));
  server_.reset();
  config_.http.max_body_bytes = 1 << 20;
  Start();
  auto c2 = Client();
  const std::string zeros(8 << 20, '0');
  auto bomb = c2.Request("POST", Url("/infer"), Compress(zeros, 16 + MAX_WBITS),
                         {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(bomb->status, 400);
  EXPECT_NE(ErrorOf(*bomb).find("exceeds the limit"), std::string::npos) << bomb->body;
}

// A request larger than max_batch_size is refused whole, at once, with one
// record; it never holds the server.
TEST_F(KServeHttpTest, MoreImagesThanMaxBatchIsRefusedWithOneRecord) {
  Start();
  std::vector<std::string> many(9, "dog.jpg");
  Json req = PhotosRequest(many);
  req["id"] = "too-many";
  TestHttpResponse r = Infer(req, {{"X-Request-Id", "rid-too-many"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(ErrorOf(r).find("batch-size must be <= 4"), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("X-Request-Id").value_or(""), "rid-too-many");
  ASSERT_EQ(Infer(PhotosRequest({"dog.jpg", "dog.jpg", "dog.jpg", "dog.jpg"})).status, 200);
  // A request for a model that is not served keeps its client id in the record.
  Json other = PhotosRequest({"dog.jpg"});
  other["id"] = "wrong-model";
  auto c = Client();
  auto r404 = c.Request("POST", "/v2/models/other/infer", other.dump(),
                        {{"Content-Type", "application/json"}});
  EXPECT_EQ(r404->status, 404);
  std::vector<Json> records = StopAndReadRequests();
  int wrong_model = 0;
  for (const Json& rec : records) {
    if (rec.value("client_id", "") != "wrong-model") continue;
    ++wrong_model;
    EXPECT_EQ(rec.at("status"), "not_found");
  }
  EXPECT_EQ(wrong_model, 1);
  int refused = 0;
  for (const Json& rec : records) {
    if (rec.value("client_id", "") != "too-many") continue;
    ++refused;
    EXPECT_EQ(rec.at("request_id"), "rid-too-many");
    EXPECT_EQ(rec.at("status"), "bad_request");
    EXPECT_EQ(rec.at("protocol"), "kserve_http");
  }
  EXPECT_EQ(refused, 1);
}

TEST_F(KServeHttpTest, TimeoutParameterAndRequestIdAreHonouredAndLogged) {
  config_.service.batcher.max_batch_size = 4;
  config_.service.batcher.max_queue_delay_us = 1'000'000;  // a lone image waits 1 s
  Start();
  Json req = PhotosRequest({"dog.jpg"});
  req["id"] = "client-7";
  req["parameters"] = {{"timeout", 20000}};  // Triton's timeout, microseconds
  TestHttpResponse r = Infer(req);
  EXPECT_EQ(r.status, 504) << r.body;
  req["parameters"] = {{"timeout_ms", "0"}};
  TestHttpResponse ok = Infer(req);
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Json::parse(ok.body).at("id"), "client-7");
  std::vector<Json> records = StopAndReadRequests();
  ASSERT_EQ(records.size(), 2u);
  std::multiset<std::string> statuses;
  for (const Json& rec : records) {
    EXPECT_EQ(rec.value("client_id", ""), "client-7");
    statuses.insert(rec.at("status").get<std::string>());
  }
  EXPECT_EQ(statuses, (std::multiset<std::string>{"ok", "timeout"}));
}

}  // namespace
}  // namespace yoloscope
