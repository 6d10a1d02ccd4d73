#include "server/kserve_grpc_frontend.h"

#include <grpcpp/grpcpp.h>

#include <cstring>
#include <deque>
#include <mutex>

#include "proto/inference.grpc.pb.h"
#include "server/kserve_grpc_codec.h"
#include "server/triton_json.h"

namespace yoloscope {
namespace {

constexpr std::string_view kProtocol = "kserve_grpc";
constexpr char kServerVersion[] = "0.1.0";

grpc::Status ToGrpc(const CoreError& e) {
  return grpc::Status(static_cast<grpc::StatusCode>(DescribeOutcome(e.outcome).grpc_code),
                      e.message);
}

inference::DataType ConfigType(const std::string& datatype) {
  inference::DataType t = inference::TYPE_INVALID;
  inference::DataType_Parse(TritonConfigDataType(datatype), &t);
  return t;
}

void FillConfig(const ModelDescription& m, inference::ModelConfig* c) {
  c->set_name(m.name);
  c->set_platform(m.platform);
  c->set_backend(m.backend);
  c->mutable_version_policy()->mutable_latest()->set_num_versions(1);
  c->set_max_batch_size(m.max_batch_size);
  for (const TensorSpec& t : m.inputs) {
    auto* in = c->add_input();
    in->set_name(t.name);
    in->set_data_type(ConfigType(t.datatype));
    in->set_format(t.shape.size() == 4 ? inference::ModelInput::FORMAT_NCHW
                                       : inference::ModelInput::FORMAT_NONE);
    in->set_optional(true);
    if (t.shape.size() <= 1) {
      in->add_dims(1);
      in->mutable_reshape();
    } else {
      for (size_t i = 1; i < t.shape.size(); ++i) in->add_dims(t.shape[i]);
    }
  }
  for (const TensorSpec& t : m.outputs) {
    auto* out = c->add_output();
    out->set_name(t.name);
    out->set_data_type(ConfigType(t.datatype));
    if (t.shape.size() <= 1) {
      out->add_dims(1);
      out->mutable_reshape();
    } else {
      for (size_t i = 1; i < t.shape.size(); ++i) out->add_dims(t.shape[i]);
    }
  }
  auto* db = c->mutable_dynamic_batching();
  for (int size : m.preferred_batch_sizes) db->add_preferred_batch_size(size);
  db->set_max_queue_delay_microseconds(static_cast<uint64_t>(m.max_queue_delay_us));
  db->set_priority_levels(2);
  db->set_default_priority_level(2);
  auto* qp = db->mutable_default_queue_policy();
  qp->set_timeout_action(inference::ModelQueuePolicy::REJECT);
  qp->set_default_timeout_microseconds(static_cast<uint64_t>(m.default_timeout_us));
  qp->set_allow_timeout_override(true);
  qp->set_max_queue_size(static_cast<uint32_t>(m.max_queue_size));
  auto* group = c->add_instance_group();
  group->set_name(m.name + "_0");
  group->set_count(m.instances);
  const bool gpu = m.device.rfind("cuda", 0) == 0 || m.device.rfind("sim", 0) == 0;
  group->set_kind(gpu ? inference::ModelInstanceGroup::KIND_GPU
                      : inference::ModelInstanceGroup::KIND_CPU);
  if (gpu) {
    const size_t colon = m.device.find(':');
    group->add_gpus(colon == std::string::npos ? 0 : std::stoi(m.device.substr(colon + 1)));
  }
  auto& params = *c->mutable_parameters();
  params["device"].set_string_value(m.device);
  params["engine"].set_string_value(m.engine);
  params["input_size"].set_string_value(std::to_string(m.input_h) + "x" +
                                        std::to_string(m.input_w));
}

void FillDuration(const CountAndNs& d, inference::StatisticDuration* out) {
  out->set_count(static_cast<uint64_t>(d.count));
  out->set_ns(static_cast<uint64_t>(d.ns));
}

class Service final : public inference::GRPCInferenceService::CallbackService {
 public:
  Service(InferenceCore* core, Clock* clock) : core_(core), clock_(clock) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* ctx,
                                       const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* resp) override {
    resp->set_live(true);
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* ctx,
                                        const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* resp) override {
    resp->set_ready(core_->ready());
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* ctx,
                                       const inference::ModelReadyRequest* req,
                                       inference::ModelReadyResponse* resp) override {
    // An unknown model is not ready (OK, ready=false), as Triton answers.
    resp->set_ready(!core_->CheckModel(req->name(), req->version()) && core_->ready());
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* ctx,
                                           const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* resp) override {
    resp->set_name("yoloscope");
    resp->set_version(kServerVersion);
    for (const std::string& e : TritonExtensions()) resp->add_extensions(e);
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* ctx,
                                          const inference::ModelMetadataRequest* req,
                                          inference::ModelMetadataResponse* resp) override {
    if (auto e = core_->CheckModel(req->name(), req->version())) return Done(ctx, ToGrpc(*e));
    const ModelDescription m = core_->Describe();
    resp->set_name(m.name);
    resp->add_versions(m.version);
    resp->set_platform(m.platform);
    auto fill = [](const TensorSpec& t, inference::ModelMetadataResponse::TensorMetadata* out) {
      out->set_name(t.name);
      out->set_datatype(t.datatype);
      for (int64_t d : t.shape) out->add_shape(d);
    };
    for (const TensorSpec& t : m.inputs) fill(t, resp->add_inputs());
    for (const TensorSpec& t : m.outputs) fill(t, resp->add_outputs());
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* ctx,
                                        const inference::ModelConfigRequest* req,
                                        inference::ModelConfigResponse* resp) override {
    if (auto e = core_->CheckModel(req->name(), req->version())) return Done(ctx, ToGrpc(*e));
    FillConfig(core_->Describe(), resp->mutable_config());
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* ctx,
                                            const inference::ModelStatisticsRequest* req,
                                            inference::ModelStatisticsResponse* resp) override {
    // An empty name asks for every model.
    if (!req->name().empty()) {
      if (auto e = core_->CheckModel(req->name(), req->version())) return Done(ctx, ToGrpc(*e));
    }
    const ModelDescription m = core_->Describe();
    const InferenceServiceStats s = core_->Stats();
    auto* ms = resp->add_model_stats();
    ms->set_name(m.name);
    ms->set_version(m.version);
    ms->set_last_inference(static_cast<uint64_t>(s.last_inference_ms));
    ms->set_inference_count(static_cast<uint64_t>(s.success.count));
    ms->set_execution_count(static_cast<uint64_t>(s.execution_count));
    auto* is = ms->mutable_inference_stats();
    FillDuration(s.success, is->mutable_success());
    FillDuration(s.fail, is->mutable_fail());
    FillDuration(s.queue, is->mutable_queue());
    FillDuration(s.compute_input, is->mutable_compute_input());
    FillDuration(s.compute_infer, is->mutable_compute_infer());
    FillDuration(s.compute_output, is->mutable_compute_output());
    is->mutable_cache_hit();
    is->mutable_cache_miss();
    for (const BatchSizeStats& b : s.batch_stats) {
      auto* bs = ms->add_batch_stats();
      bs->set_batch_size(static_cast<uint64_t>(b.batch_size));
      FillDuration(b.compute_input, bs->mutable_compute_input());
      FillDuration(b.compute_infer, bs->mutable_compute_infer());
      FillDuration(b.compute_output, bs->mutable_compute_output());
    }
    return Done(ctx, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* ctx,
                                            const inference::RepositoryIndexRequest*,
                                            inference::RepositoryIndexResponse* resp) override {
    auto* model = resp->add_models();
    model->set_name(core_->service()->model_name());
    model->set_version("1");
    model->set_state(core_->ready() ? "READY" : "UNAVAILABLE");
    return Done(ctx, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* ctx,
                                       const inference::ModelInferRequest* req,
                                       inference::ModelInferResponse* resp) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    Submit(ctx, const_cast<inference::ModelInferRequest*>(req),
           [reactor, resp](InferReply&& reply) {
             if (reply.error) {
               reactor->Finish(ToGrpc(*reply.error));
               return;
             }
             KServeResponseToGrpc(reply.response, resp);
             reactor->Finish(grpc::Status::OK);
           });
    return reactor;
  }

  grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
  ModelStreamInfer(grpc::CallbackServerContext* ctx) override;

  // Converts, checks and runs one request; `done` is called exactly once.
  // The request's data is moved out of `req` (gRPC owns it until the call
  // ends, and nothing reads it after this).
  void Submit(grpc::CallbackServerContext* ctx, inference::ModelInferRequest* req,
              InferenceCore::InferDone done) {
    CallInfo call;
    call.receive_ns = clock_->NowNs();
    call.protocol = kProtocol;
    std::optional<std::string_view> client_rid;
    const auto& md = ctx->client_metadata();
    if (auto it = md.find("x-request-id"); it != md.end()) {
      client_rid = std::string_view(it->second.data(), it->second.size());
    }
    call.request_id = core_->RequestId(client_rid);
    call.input_bytes = static_cast<int64_t>(req->ByteSizeLong());
    KServeInferRequest kreq;
    Status st = KServeGrpcToRequest(req, &kreq);
    if (!st.ok()) {
      const CoreError error{Outcome::kBadRequest, st.message(), ""};
      core_->Refuse(call, kreq.id, error);
      InferReply reply;
      reply.error = error;
      reply.request_id = call.request_id;
      done(std::move(reply));
      return;
    }
    core_->Infer(std::move(kreq), call, std::move(done));
  }

 private:
  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx,
                                        const grpc::Status& status) {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  InferenceCore* core_;
  Clock* clock_;
};

// One ModelStreamInfer call: reads requests one after another, runs each
// as it arrives (several may be in the pipeline at once), and writes each
// response when it is ready, one write at a time. Finishes when the client
// has closed its side and every response is written. Deletes itself.
class StreamReactor final : public grpc::ServerBidiReactor<inference::ModelInferRequest,
                                                           inference::ModelStreamInferResponse> {
 public:
  StreamReactor(Service* service, grpc::CallbackServerContext* ctx) : service_(service), ctx_(ctx) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard<std::mutex> lock(mu_);
      reads_done_ = true;
      MaybeFinishLocked();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++pending_;
    }
    service_->Submit(ctx_, &request_, [this](InferReply&& reply) {
      inference::ModelStreamInferResponse out;
      if (reply.error) {
        out.set_error_message(reply.error->message);
      } else {
        KServeResponseToGrpc(reply.response, out.mutable_infer_response());
      }
      std::lock_guard<std::mutex> lock(mu_);
      --pending_;
      queue_.push_back(std::move(out));
      MaybeWriteLocked();
    });
    request_.Clear();
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) broken_ = true;  // the client went away: drop what is left
    if (broken_) queue_.clear();
    MaybeWriteLocked();
  }

  void OnDone() override { delete this; }

 private:
  void MaybeWriteLocked() {
    if (!writing_ && !queue_.empty() && !broken_) {
      writing_ = true;
      StartWrite(&queue_.front());
      return;
    }
    MaybeFinishLocked();
  }
  void MaybeFinishLocked() {
    if (finished_ || !reads_done_ || pending_ > 0 || writing_ || !queue_.empty()) return;
    finished_ = true;
    Finish(grpc::Status::OK);
  }

  Service* service_;
  grpc::CallbackServerContext* ctx_;
  inference::ModelInferRequest request_;  // the read buffer; one read at a time
  std::mutex mu_;
  std::deque<inference::ModelStreamInferResponse> queue_;  // Guarded by mu_; front = being written
  int pending_ = 0;                                        // Guarded by mu_.
  bool reads_done_ = false, writing_ = false, broken_ = false, finished_ = false;  // mu_
};

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
Service::ModelStreamInfer(grpc::CallbackServerContext* ctx) {
  return new StreamReactor(this, ctx);
}

}  // namespace

struct KServeGrpcFrontend::Impl {
  FrontendContext ctx;
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = -1;
};

KServeGrpcFrontend::KServeGrpcFrontend(const FrontendContext& context)
    : impl_(std::make_unique<Impl>()) {
  impl_->ctx = context;
  impl_->service = std::make_unique<Service>(context.core, context.clock);
}

KServeGrpcFrontend::~KServeGrpcFrontend() { Shutdown(std::chrono::milliseconds(0)); }

StatusOr<std::unique_ptr<Frontend>> KServeGrpcFrontend::Create(const FrontendContext& context) {
  return std::unique_ptr<Frontend>(new KServeGrpcFrontend(context));
}

Status KServeGrpcFrontend::Start() {
  const GrpcConfig& g = impl_->ctx.config->grpc;
  grpc::ServerBuilder builder;
  const std::string address =
      (g.host.find(':') != std::string::npos ? "[" + g.host + "]" : g.host) + ":" +
      std::to_string(g.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &impl_->port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(g.max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(g.max_message_bytes));
  // SO_REUSEPORT would let a second server share the port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(impl_->service.get());
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port <= 0) {
    impl_->server.reset();
    return UnavailableError("gRPC: cannot listen on " + address +
                            " (in use? set grpc.port / --grpc-port, 0 = any free port, or "
                            "--grpc-port -1 to turn gRPC off)");
  }
  return Status::Ok();
}

bool KServeGrpcFrontend::Shutdown(std::chrono::milliseconds grace) {
  if (!impl_->server) return true;
  // Stops accepting; calls in flight finish (the pipeline answers each);
  // after `grace` the rest are cancelled.
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
  impl_->server.reset();
  return true;
}

int KServeGrpcFrontend::port() const { return impl_->port; }

}  // namespace yoloscope
