// Issue 14: the KServe v2 gRPC front end over a real socket, driven by a
// real gRPC client (C++ stubs generated at build time from the project's
// proto/inference.proto), on a real (generated) model: every method, raw
// and typed tensor contents, streaming, Triton's status codes for bad
// input, message limits, malformed messages, cancelled calls, parameters,
// and one record per request with protocol kserve_grpc.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "proto/inference.grpc.pb.h"
#include "server/kserve_fixture.h"

namespace yoloscope {
namespace {

using Json = nlohmann::json;

class KServeGrpcTest : public testing::KServeFixture {
 protected:
  void StartGrpc() {
    Start();
    ASSERT_GT(server_->grpc_port(), 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->grpc_port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = inference::GRPCInferenceService::NewStub(channel_);
  }
  static void Deadline(grpc::ClientContext* ctx, int seconds = 60) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }
  inference::ModelInferRequest RawPhotos(const std::vector<std::string>& names) {
    inference::ModelInferRequest req;
    req.set_model_name(kModel);
    auto* in = req.add_inputs();
    in->set_name("images");
    in->set_datatype("BYTES");
    in->add_shape(static_cast<int64_t>(names.size()));
    std::vector<std::string> images;
    for (const auto& n : names) images.push_back(Photo(n));
    req.add_raw_input_contents(LengthPrefixed(images));
    return req;
  }
  // num_detections and detections of a response with raw outputs.
  static std::pair<std::vector<int32_t>, std::vector<float>> Decode(
      const inference::ModelInferResponse& resp) {
    std::vector<int32_t> num;
    std::vector<float> dets;
    EXPECT_EQ(resp.outputs_size(), resp.raw_output_contents_size());
    for (int i = 0; i < resp.outputs_size(); ++i) {
      const std::string& raw = resp.raw_output_contents(i);
      if (resp.outputs(i).name() == "num_detections") {
        num.resize(raw.size() / 4);
        std::memcpy(num.data(), raw.data(), raw.size());
      } else {
        dets.resize(raw.size() / 4);
        std::memcpy(dets.data(), raw.data(), raw.size());
      }
    }
    return {num, dets};
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(KServeGrpcTest, HealthMetadataConfigIndex) {
  config_.service.batcher.preferred_batch_sizes = {2, 4};
  StartGrpc();
  {
    grpc::ClientContext ctx;
    inference::ServerLiveResponse r;
    ASSERT_TRUE(stub_->ServerLive(&ctx, {}, &r).ok());
    EXPECT_TRUE(r.live());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerReadyResponse r;
    ASSERT_TRUE(stub_->ServerReady(&ctx, {}, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ServerMetadataResponse r;
    ASSERT_TRUE(stub_->ServerMetadata(&ctx, {}, &r).ok());
    EXPECT_EQ(r.name(), "yoloscope");
    std::set<std::string> ext(r.extensions().begin(), r.extensions().end());
    EXPECT_TRUE(ext.count("model_configuration") && ext.count("statistics"));
  }
  for (const std::string version : {"", "1"}) {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest q;
    q.set_name(kModel);
    q.set_version(version);
    inference::ModelReadyResponse r;
    ASSERT_TRUE(stub_->ModelReady(&ctx, q, &r).ok());
    EXPECT_TRUE(r.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelReadyRequest q;
    q.set_name("nosuch");
    inference::ModelReadyResponse r;
    r.set_ready(true);
    // As Triton: an unknown model is simply not ready.
    ASSERT_TRUE(stub_->ModelReady(&ctx, q, &r).ok());
    EXPECT_FALSE(r.ready());
  }
  {
    grpc::ClientContext ctx;
    inference::ModelMetadataRequest q;
    q.set_name(kModel);
    inference::ModelMetadataResponse r;
    ASSERT_TRUE(stub_->ModelMetadata(&ctx, q, &r).ok());
    EXPECT_EQ(r.platform(), "pytorch_libtorch");
    ASSERT_EQ(r.inputs_size(), 2);
    EXPECT_NE(r.inputs(0).name(), r.inputs(1).name());
    EXPECT_EQ(r.outputs(1).name(), "detections");
  }
  {
    grpc::ClientContext ctx;
    inference::ModelConfigRequest q;
    q.set_name(kModel);
    q.set_version("1");
    inference::ModelConfigResponse r;
    ASSERT_TRUE(stub_->ModelConfig(&ctx, q, &r).ok());
    const inference::ModelConfig& c = r.config();
    EXPECT_EQ(c.name(), kModel);
    EXPECT_EQ(c.max_batch_size(), 4);
    EXPECT_EQ(c.input(0).data_type(), inference::TYPE_STRING);
    EXPECT_EQ(c.input(1).data_type(), inference::TYPE_FP32);
    EXPECT_EQ(c.dynamic_batching().preferred_batch_size_size(), 2);
    EXPECT_EQ(c.dynamic_batching().max_queue_delay_microseconds(), 2000u);
    EXPECT_EQ(c.instance_group(0).kind(), inference::ModelInstanceGroup::KIND_CPU);
  }
  {
    grpc::ClientContext ctx;
    inference::ModelConfigRequest q;
    q.set_name(kModel);
    q.set_version("3");
    inference::ModelConfigResponse r;
    EXPECT_EQ(stub_->ModelConfig(&ctx, q, &r).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    inference::RepositoryIndexResponse r;
    ASSERT_TRUE(stub_->RepositoryIndex(&ctx, {}, &r).ok());
    ASSERT_EQ(r.models_size(), 1);
    EXPECT_EQ(r.models(0).name(), kModel);
    EXPECT_EQ(r.models(0).state(), "READY");
  }
}

// Raw and typed contents give the same detections as HTTP's JSON; the
// statistics agree with the HTTP /stats of the same server and the log.
TEST_F(KServeGrpcTest, InferRawAndTypedContentsMatchHttpAndStats) {
  StartGrpc();
  inference::ModelInferRequest raw = RawPhotos({"dog.jpg", "horses.jpg"});
  raw.set_id("grpc-raw");
  inference::ModelInferResponse raw_resp;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    grpc::Status st = stub_->ModelInfer(&ctx, raw, &raw_resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(raw_resp.id(), "grpc-raw");
  EXPECT_EQ(raw_resp.model_name(), kModel);
  ASSERT_EQ(raw_resp.outputs_size(), 2);
  EXPECT_EQ(raw_resp.outputs(0).shape_size(), 1);
  EXPECT_EQ(raw_resp.outputs(1).shape(2), 6);
  auto [num, dets] = Decode(raw_resp);
  ASSERT_EQ(num.size(), 2u);

  inference::ModelInferRequest typed;
  typed.set_model_name(kModel);
  typed.set_id("grpc-typed");
  auto* in = typed.add_inputs();
  in->set_name("images");
  in->set_datatype("BYTES");
  in->add_shape(2);
  in->mutable_contents()->add_bytes_contents(Photo("dog.jpg"));
  in->mutable_contents()->add_bytes_contents(Photo("horses.jpg"));
  typed.add_outputs()->set_name("num_detections");
  inference::ModelInferResponse typed_resp;
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    ASSERT_TRUE(stub_->ModelInfer(&ctx, typed, &typed_resp).ok());
  }
  ASSERT_EQ(typed_resp.outputs_size(), 1);  // only the requested output
  EXPECT_EQ(Decode(typed_resp).first, num);

  // HTTP JSON on the same photos.
  Json http_req = {{"inputs",
                    {{{"name", "images"},
                      {"datatype", "BYTES"},
                      {"shape", {2}},
                      {"data", {Base64(Photo("dog.jpg")), Base64(Photo("horses.jpg"))}}}}}};
  auto c = Client();
  auto hr = c.Request("POST", std::string("/v2/models/") + kModel + "/infer", http_req.dump(),
                      {{"Content-Type", "application/json"}});
  ASSERT_EQ(hr->status, 200);
  Json hj = Json::parse(hr->body);
  EXPECT_EQ(hj.at("outputs")[0].at("data"), Json(num));
  ASSERT_EQ(hj.at("outputs")[1].at("data").size(), dets.size());
  for (size_t i = 0; i < dets.size(); ++i) {
    EXPECT_NEAR(hj.at("outputs")[1].at("data")[i].get<float>(), dets[i], 1e-3);
  }

  // Statistics: 6 images ran; gRPC and HTTP say the same.
  inference::ModelStatisticsResponse stats;
  {
    grpc::ClientContext ctx;
    inference::ModelStatisticsRequest q;
    q.set_name(kModel);
    ASSERT_TRUE(stub_->ModelStatistics(&ctx, q, &stats).ok());
  }
  ASSERT_EQ(stats.model_stats_size(), 1);
  const auto& ms = stats.model_stats(0);
  EXPECT_EQ(ms.inference_count(), 6u);
  EXPECT_EQ(ms.inference_stats().success().count(), 6u);
  Json hs =
      Json::parse(c.Get(std::string("/v2/models/") + kModel + "/stats")->body).at("model_stats")[0];
  EXPECT_EQ(hs.at("inference_count").get<uint64_t>(), ms.inference_count());
  EXPECT_EQ(hs.at("execution_count").get<uint64_t>(), ms.execution_count());
  EXPECT_EQ(hs.at("inference_stats").at("compute_infer").at("ns").get<uint64_t>(),
            ms.inference_stats().compute_infer().ns());
  uint64_t images = 0;
  for (const auto& b : ms.batch_stats()) images += b.batch_size() * b.compute_infer().count();
  EXPECT_EQ(images, 6u);

  std::vector<Json> records = StopAndReadRequests();
  int grpc_records = 0;
  for (const Json& rec : records) {
    if (rec.value("protocol", "") != "kserve_grpc") continue;
    ++grpc_records;
    EXPECT_EQ(rec.at("status"), "ok");
    const std::string id = rec.value("client_id", "");
    EXPECT_TRUE(id == "grpc-raw" || id == "grpc-typed") << rec.dump();
  }
  EXPECT_EQ(grpc_records, 4);
}

TEST_F(KServeGrpcTest, BadInputGetsTritonsStatusCodesAndOneRecordEach) {
  config_.grpc.max_message_bytes = 256 * 1024;
  StartGrpc();
  auto call = [&](const inference::ModelInferRequest& req) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    inference::ModelInferResponse resp;
    return stub_->ModelInfer(&ctx, req, &resp);
  };
  struct Case {
    inference::ModelInferRequest req;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  {
    auto r = RawPhotos({"dog.jpg"});
    r.set_model_name("nosuch");
    cases.push_back({r, grpc::StatusCode::NOT_FOUND, "unknown model: 'nosuch'"});
  }
  {
    auto r = RawPhotos({"dog.jpg"});
    r.set_model_version("2");
    cases.push_back({r, grpc::StatusCode::NOT_FOUND, "version 2 is not found"});
  }
  {
    auto r = RawPhotos({"dog.jpg"});
    r.mutable_inputs(0)->set_datatype("FP32");
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, "data-type is 'FP32'"});
  }
  {
    auto r = RawPhotos({"dog.jpg"});
    r.mutable_inputs(0)->set_name("INPUT0");
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, "unexpected inference input"});
  }
  {
    auto r = RawPhotos({"dog.jpg"});
    r.add_raw_input_contents("x");
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, "must be used for all inputs"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name(kModel);
    auto* in = r.add_inputs();
    in->set_name("images");
    in->set_datatype("BYTES");
    in->add_shape(5);
    for (int i = 0; i < 5; ++i) in->mutable_contents()->add_bytes_contents("tiny");
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, "batch-size must be <= 4"});
  }
  {
    inference::ModelInferRequest r;
    r.set_model_name(kModel);
    auto* in = r.add_inputs();
    in->set_name("images");
    in->set_datatype("BYTES");
    in->add_shape(1);
    in->mutable_contents()->add_bytes_contents(Photo("dog.jpg").substr(0, 2000));  // truncated
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, ""});                  // bad_image
  }
  {
    auto r = RawPhotos({"dog.jpg"});
    (*r.mutable_parameters())["conf"].set_string_param("high");
    cases.push_back({r, grpc::StatusCode::INVALID_ARGUMENT, "parameter 'conf' must be a number"});
  }
  for (const Case& c : cases) {
    grpc::Status st = call(c.req);
    EXPECT_EQ(st.error_code(), c.code) << st.error_message();
    EXPECT_NE(st.error_message().find(c.message), std::string::npos) << st.error_message();
  }
  // Over the message limit: gRPC itself refuses it (RESOURCE_EXHAUSTED).
  {
    auto r = RawPhotos({"dog.jpg"});
    r.set_raw_input_contents(0, std::string(400 * 1024, 'x'));
    EXPECT_EQ(call(r).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  // A malformed protobuf through the generic stub: refused, server unhurt.
  {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    Deadline(&ctx, 10);
    const std::string garbage = "\xff\xff\xff\xff\x0f\x0a\x99 not protobuf";
    grpc::Slice slice(garbage);
    grpc::ByteBuffer request(&slice, 1), response;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&ctx, "/inference.GRPCInferenceService/ModelInfer", {}, &request, &response,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
    EXPECT_FALSE(status.ok());
  }
  EXPECT_TRUE(call(RawPhotos({"dog.jpg"})).ok());
  // Every request that reached the front end has one record (the two that
  // gRPC refused before decoding never reached it).
  std::vector<Json> records = StopAndReadRequests();
  std::multiset<std::string> statuses;
  for (const Json& rec : records) {
    EXPECT_EQ(rec.value("protocol", ""), "kserve_grpc");
    statuses.insert(rec.at("status").get<std::string>());
  }
  EXPECT_EQ(records.size(), cases.size() + 1);
  EXPECT_EQ(statuses.count("not_found"), 2u);
  EXPECT_EQ(statuses.count("bad_image"), 1u);
  EXPECT_EQ(statuses.count("ok"), 1u);
}

TEST_F(KServeGrpcTest, StreamingAnswersEveryRequestInOneStream) {
  StartGrpc();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto stream = stub_->ModelStreamInfer(&ctx);
  const std::vector<std::string> photos = {"dog.jpg", "horses.jpg", "eagle.jpg", "person.jpg"};
  for (size_t i = 0; i < photos.size(); ++i) {
    auto req = RawPhotos({photos[i]});
    req.set_id("s" + std::to_string(i));
    ASSERT_TRUE(stream->Write(req));
  }
  auto bad = RawPhotos({"dog.jpg"});
  bad.set_id("s-bad");
  bad.mutable_inputs(0)->set_name("nope");
  ASSERT_TRUE(stream->Write(bad));
  ASSERT_TRUE(stream->WritesDone());
  std::set<std::string> ok_ids;
  int errors = 0;
  inference::ModelStreamInferResponse resp;
  while (stream->Read(&resp)) {
    if (!resp.error_message().empty()) {
      ++errors;
      EXPECT_NE(resp.error_message().find("unexpected inference input 'nope'"), std::string::npos);
      continue;
    }
    ok_ids.insert(resp.infer_response().id());
    EXPECT_EQ(resp.infer_response().outputs_size(), 2);
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(ok_ids, (std::set<std::string>{"s0", "s1", "s2", "s3"}));
  EXPECT_EQ(errors, 1);
  std::vector<Json> records = StopAndReadRequests();
  EXPECT_EQ(records.size(), 5u);
}

// A client that gives up (deadline) leaves the server serving, and the
// request still gets its record; Triton's `timeout` parameter is honoured.
TEST_F(KServeGrpcTest, CancelledCallsAndTimeoutParameter) {
  config_.service.batcher.max_queue_delay_us = 300'000;  // a lone image waits 0.3 s
  StartGrpc();
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(30));
    inference::ModelInferResponse resp;
    auto req = RawPhotos({"dog.jpg"});
    req.set_id("gave-up");
    EXPECT_EQ(stub_->ModelInfer(&ctx, req, &resp).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    inference::ModelInferResponse resp;
    auto req = RawPhotos({"dog.jpg"});
    req.set_id("server-timeout");
    (*req.mutable_parameters())["timeout"].set_int64_param(10'000);  // 10 ms
    grpc::Status st = stub_->ModelInfer(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    inference::ModelInferResponse resp;
    auto req = RawPhotos({"dog.jpg"});
    req.set_id("high");
    (*req.mutable_parameters())["priority"].set_uint64_param(1);
    EXPECT_TRUE(stub_->ModelInfer(&ctx, req, &resp).ok());
  }
  std::vector<Json> records = StopAndReadRequests();
  std::map<std::string, std::string> status_by_id;
  for (const Json& rec : records) status_by_id[rec.value("client_id", "")] = rec.at("status");
  EXPECT_EQ(status_by_id.size(), 3u);
  EXPECT_EQ(status_by_id["gave-up"], "ok");  // it ran; only the client stopped waiting
  EXPECT_EQ(status_by_id["server-timeout"], "timeout");
  EXPECT_EQ(status_by_id["high"], "ok");
}

}  // namespace
}  // namespace yoloscope
