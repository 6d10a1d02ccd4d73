#include "server/kserve_http_frontend.h"

#include <nlohmann/json.hpp>

#include "http/content_encoding.h"
#include "server/kserve_http_codec.h"
#include "server/triton_json.h"

namespace yoloscope {
namespace {

using http::Request;
using http::Responder;
using http::Response;

constexpr std::string_view kProtocol = "kserve_http";
constexpr char kServerVersion[] = "0.1.0";

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response ErrorFor(const CoreError& e, const std::string& request_id) {
  const int status = DescribeOutcome(e.outcome).http_status;
  Response r = Response::Error(status, e.message);
  if (!request_id.empty()) r.headers.emplace_back("X-Request-Id", request_id);
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

StatusOr<std::unique_ptr<Frontend>> KServeHttpFrontend::Create(const FrontendContext& context) {
  std::unique_ptr<KServeHttpFrontend> f(new KServeHttpFrontend(context));
  YS_RETURN_IF_ERROR(f->AddRoutes());
  return std::unique_ptr<Frontend>(std::move(f));
}

Status KServeHttpFrontend::AddRoutes() {
  http::Router& router = *ctx_.router;
  auto bind = [this](void (KServeHttpFrontend::*fn)(Request, Responder)) {
    return
        [this, fn](Request req, Responder resp) { (this->*fn)(std::move(req), std::move(resp)); };
  };
  // Every model route, with and without /versions/{version}.
  for (const char* base : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    const std::string b = base;
    YS_RETURN_IF_ERROR(router.Add("GET", b, bind(&KServeHttpFrontend::HandleMetadata)));
    YS_RETURN_IF_ERROR(router.Add("GET", b + "/ready", bind(&KServeHttpFrontend::HandleReady)));
    YS_RETURN_IF_ERROR(router.Add("GET", b + "/config", bind(&KServeHttpFrontend::HandleConfig)));
    YS_RETURN_IF_ERROR(router.Add("GET", b + "/stats", bind(&KServeHttpFrontend::HandleStats)));
    YS_RETURN_IF_ERROR(router.Add("POST", b + "/infer", bind(&KServeHttpFrontend::HandleInfer)));
  }
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/models/stats", bind(&KServeHttpFrontend::HandleStats)));
  YS_RETURN_IF_ERROR(
      router.Add("POST", "/v2/repository/index", bind(&KServeHttpFrontend::HandleIndex)));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/health/live", [](Request, Responder resp) {
    resp.Send(Response::Json(R"({"live":true})"));
  }));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2/health/ready", [this](Request, Responder resp) {
    const bool ready = ctx_.core->ready();
    resp.Send(
        Response::Json(ready ? R"({"ready":true})" : R"({"ready":false})", ready ? 200 : 503));
  }));
  YS_RETURN_IF_ERROR(router.Add("GET", "/v2", [](Request, Responder resp) {
    nlohmann::json j = {
        {"name", "yoloscope"}, {"version", kServerVersion}, {"extensions", TritonExtensions()}};
    resp.Send(Response::Json(Dump(j)));
  }));
  return Status::Ok();
}

void KServeHttpFrontend::Send(const Request&, Responder& resp, Response response) const {
  // Metadata, config, stats and index answers are never compressed, as in
  // Triton: only inference responses honour Accept-Encoding. (Triton's
  // aiohttp client asks for gzip on every call but decompresses only infer
  // responses.)
  resp.Send(std::move(response));
}

bool KServeHttpFrontend::CheckModel(const Request& req, Responder& resp) const {
  auto m = req.path_param("model");
  auto v = req.path_param("version");
  if (auto e = ctx_.core->CheckModel(m ? *m : "", v ? *v : "")) {
    resp.Send(ErrorFor(*e, ""));
    return false;
  }
  return true;
}

void KServeHttpFrontend::HandleMetadata(Request req, Responder resp) {
  if (!CheckModel(req, resp)) return;
  Send(req, resp, Response::Json(Dump(TritonModelMetadataJson(ctx_.core->Describe()))));
}

void KServeHttpFrontend::HandleReady(Request req, Responder resp) {
  if (!CheckModel(req, resp)) return;
  const bool ready = ctx_.core->ready();
  nlohmann::json j = {{"name", ctx_.core->service()->model_name()}, {"ready", ready}};
  resp.Send(Response::Json(Dump(j), ready ? 200 : 503));
}

void KServeHttpFrontend::HandleConfig(Request req, Responder resp) {
  if (!CheckModel(req, resp)) return;
  Send(req, resp, Response::Json(Dump(TritonModelConfigJson(ctx_.core->Describe()))));
}

void KServeHttpFrontend::HandleStats(Request req, Responder resp) {
  // /v2/models/stats (every model) has no {model}.
  if (req.path_param("model") && !CheckModel(req, resp)) return;
  Send(req, resp,
       Response::Json(Dump(TritonModelStatsJson(ctx_.core->Describe(), ctx_.core->Stats()))));
}

void KServeHttpFrontend::HandleIndex(Request req, Responder resp) {
  // The body ({"ready": bool} or empty) does not change the answer: the one
  // model is always loaded (READY, or UNAVAILABLE while shutting down).
  nlohmann::json j = nlohmann::json::array();
  j.push_back({{"name", ctx_.core->service()->model_name()},
               {"version", "1"},
               {"state", ctx_.core->ready() ? "READY" : "UNAVAILABLE"},
               {"reason", ""}});
  Send(req, resp, Response::Json(Dump(j)));
}

void KServeHttpFrontend::HandleInfer(Request req, Responder resp) {
  InferenceCore& core = *ctx_.core;
  CallInfo call;
  call.request_id = core.RequestId(req.header("X-Request-Id"));
  call.protocol = kProtocol;
  call.receive_ns = req.receive_ns();
  call.input_bytes = static_cast<int64_t>(req.body().size());

  KServeInferRequest kreq;
  if (auto m = req.path_param("model")) kreq.model_name.assign(*m);
  if (auto v = req.path_param("version")) kreq.model_version.assign(*v);
  auto refuse = [&](Outcome outcome, std::string message) {
    const CoreError error{outcome, std::move(message), ""};
    core.Refuse(call, kreq.id, error);
    resp.Send(ErrorFor(error, call.request_id));
  };
  // The model first: a request for another model is a 404 whatever its body
  // (which is read only for the client's id, for the record).
  if (auto e = core.CheckModel(kreq.model_name, kreq.model_version)) {
    KServeInferRequest ignored;
    (void)ParseKServeHttpInfer(req.body(), req.header("Inference-Header-Content-Length"), &ignored);
    core.Refuse(call, ignored.id, *e);
    resp.Send(ErrorFor(*e, call.request_id));
    return;
  }
  std::string inflated;
  std::string_view body = req.body();
  if (auto encoding = req.header("Content-Encoding")) {
    auto coding = http::ParseContentCoding(*encoding);
    if (!coding.ok()) return refuse(Outcome::kUnsupportedMediaType, coding.status().message());
    if (*coding != http::ContentCoding::kIdentity) {
      auto decoded = http::DecodeContent(*coding, body, ctx_.config->http.max_body_bytes);
      if (!decoded.ok()) return refuse(Outcome::kBadRequest, decoded.status().message());
      inflated = std::move(decoded).value();
      body = inflated;
    }
  }
  Status parsed = ParseKServeHttpInfer(body, req.header("Inference-Header-Content-Length"), &kreq);
  if (!parsed.ok()) return refuse(Outcome::kBadRequest, parsed.message());

  // The Accept-Encoding decision is made now: the Request does not outlive
  // this handler.
  http::ContentCoding coding = http::ContentCoding::kIdentity;
  if (auto accept = req.header("Accept-Encoding")) coding = http::PickResponseCoding(*accept);
  auto shared = std::make_shared<Responder>(std::move(resp));
  core.Infer(std::move(kreq), call, [shared, coding](InferReply&& reply) {
    if (reply.error) {
      shared->Send(ErrorFor(*reply.error, reply.request_id));
      return;
    }
    Response out;
    size_t json_length = 0;
    RenderKServeHttpInfer(reply.response, &out.body, &json_length);
    if (json_length != out.body.size()) {
      out.content_type = "application/octet-stream";
      out.headers.emplace_back("Inference-Header-Content-Length", std::to_string(json_length));
    }
    out.headers.emplace_back("X-Request-Id", reply.request_id);
    if (coding != http::ContentCoding::kIdentity && out.body.size() > 256) {
      auto encoded = http::EncodeContent(coding, out.body);
      if (encoded.ok()) {
        out.body = std::move(encoded).value();
        out.headers.emplace_back("Content-Encoding", std::string(http::ContentCodingName(coding)));
      }
    }
    shared->Send(std::move(out));
  });
}

}  // namespace yoloscope
