#include "server/detect_http_frontend.h"

#include <nlohmann/json.hpp>

#include "http/media_type.h"
#include "http/multipart_form.h"
#include "reqlog/json_line_serializer.h"
#include "server/detections_json.h"

namespace yoloscope {
namespace {

using http::Request;
using http::Responder;
using http::Response;

constexpr std::string_view kProtocol = "http";

void AppendMs(double v, std::string* out) { AppendJsonNumber(v, 3, out); }

// The /v1/detect response body.
std::string DetectJson(const InferenceResult& r, const std::string& model, const ModelInfo& info) {
  std::string out;
  out.reserve(256 + r.detections.size() * 96);
  out += "{\"request_id\":";
  AppendJsonString(r.request_id, &out);
  out += ",\"model\":";
  AppendJsonString(model, &out);
  out += ",\"width\":" + std::to_string(r.width) + ",\"height\":" + std::to_string(r.height);
  out += ",\"detections\":";
  AppendDetectionsJson(r.detections, info, &out);
  out += ",\"batch_size\":" + std::to_string(r.batch_size);
  out += ",\"batch_id\":" + std::to_string(r.batch_id);
  out += ",\"timing\":{\"queue_ms\":";
  AppendMs(r.timing.queue_ms, &out);
  out += ",\"decode_ms\":";
  AppendMs(r.timing.decode_ms, &out);
  out += ",\"preprocess_ms\":";
  AppendMs(r.timing.preprocess_ms, &out);
  out += ",\"inference_ms\":";
  AppendMs(r.timing.inference_ms, &out);
  out += ",\"postprocess_ms\":";
  AppendMs(r.timing.postprocess_ms, &out);
  out += ",\"total_ms\":";
  AppendMs(r.timing.total_ms, &out);
  out += "}}";
  return out;
}

Response ErrorResponse(int http_status, std::string_view message, const std::string& rid) {
  Response resp = Response::Error(http_status, message);
  resp.headers.emplace_back("X-Request-Id", rid);
  if (http_status == 503) resp.headers.emplace_back("Retry-After", "1");
  return resp;
}

}  // namespace

StatusOr<std::unique_ptr<Frontend>> DetectHttpFrontend::Create(const FrontendContext& context) {
  std::unique_ptr<DetectHttpFrontend> f(new DetectHttpFrontend(context));
  DetectHttpFrontend* raw = f.get();
  YS_RETURN_IF_ERROR(context.router->Add("POST", "/v1/detect", [raw](Request q, Responder r) {
    raw->HandleDetect(std::move(q), std::move(r));
  }));
  YS_RETURN_IF_ERROR(context.router->Add("GET", "/v1/stats", [raw](Request q, Responder r) {
    raw->HandleStats(std::move(q), std::move(r));
  }));
  return std::unique_ptr<Frontend>(std::move(f));
}

void DetectHttpFrontend::HandleDetect(Request req, Responder resp) {
  InferenceCore& core = *ctx_.core;
  CallInfo call;
  call.request_id = core.RequestId(req.header("X-Request-Id"));
  call.protocol = kProtocol;
  call.receive_ns = req.receive_ns();
  call.input_bytes = static_cast<int64_t>(req.body().size());
  auto reject = [&](Outcome outcome, std::string message) {
    const CoreError error{outcome, std::move(message), ""};
    core.Refuse(call, "", error);
    resp.Send(ErrorResponse(DescribeOutcome(outcome).http_status, error.message, call.request_id));
  };

  InferenceRequest ir;
  auto ct = req.header("Content-Type");
  if (!ct) {
    return reject(Outcome::kUnsupportedMediaType,
                  "missing Content-Type: send the image as image/jpeg, image/png, image/bmp, "
                  "image/webp, application/octet-stream or multipart/form-data field 'image'");
  }
  auto mt = http::MediaType::Parse(*ct);
  if (!mt.ok()) {
    return reject(Outcome::kUnsupportedMediaType, "bad Content-Type: " + mt.status().message());
  }
  if (mt->Is("multipart/form-data")) {
    auto form = http::MultipartForm::Parse(*ct, req.body());
    if (!form.ok()) return reject(Outcome::kBadRequest, form.status().message());
    const http::MultipartPart* part = form->Find("image");
    if (part == nullptr) return reject(Outcome::kBadRequest, "multipart field 'image' is missing");
    ir.image.assign(part->data);
  } else if (mt->type.rfind("image/", 0) == 0 || mt->Is("application/octet-stream")) {
    ir.image = req.TakeBody();
  } else {
    return reject(Outcome::kUnsupportedMediaType,
                  "unsupported Content-Type '" + mt->type +
                      "': send image/* , application/octet-stream or multipart/form-data");
  }
  if (ir.image.empty()) return reject(Outcome::kBadRequest, "empty image body");

  // Query first, then the headers (which win): one validation for both.
  RequestParams params;
  for (const char* name : {"conf", "iou", "max_det", "timeout_ms", "priority"}) {
    if (auto v = req.query_param(name)) {
      Status st = ApplyParam(name, "query parameter '" + std::string(name) + "'", *v, &params);
      if (!st.ok()) return reject(Outcome::kBadRequest, st.message());
    }
  }
  for (const auto& [header, name] :
       {std::pair<const char*, const char*>{"X-Timeout-Ms", "timeout_ms"},
        {"X-Priority", "priority"}}) {
    if (auto v = req.header(header)) {
      Status st = ApplyParam(name, std::string("header ") + header, *v, &params);
      if (!st.ok()) return reject(Outcome::kBadRequest, st.message());
    }
  }
  params.ApplyTo(&ir);

  auto shared = std::make_shared<Responder>(std::move(resp));
  const ModelInfo* info = &core.service()->model_info();
  const std::string* model = &core.service()->model_name();
  core.Detect(std::move(ir), call, [shared, info, model](InferenceResult&& r) {
    if (!r.status.ok()) {
      shared->Send(ErrorResponse(r.http_status, r.status.message(), r.request_id));
      return;
    }
    Response out = Response::Json(DetectJson(r, *model, *info));
    out.headers.emplace_back("X-Request-Id", r.request_id);
    shared->Send(std::move(out));
  });
}

void DetectHttpFrontend::HandleStats(Request, Responder resp) {
  InferenceCore& core = *ctx_.core;
  InferenceServiceStats st = core.Stats();
  nlohmann::json batches = nlohmann::json::array();
  for (size_t b = 1; b < st.batch_count_by_size.size(); ++b) {
    int64_t n = st.batch_count_by_size[b];
    if (n == 0) continue;
    double total = b < st.batch_latency_ms_by_size.size() ? st.batch_latency_ms_by_size[b] : 0;
    batches.push_back({{"batch_size", b},
                       {"count", n},
                       {"compute_ms_total", total},
                       {"compute_ms_mean", n ? total / static_cast<double>(n) : 0.0}});
  }
  InferenceService* service = core.service();
  nlohmann::json j = {{"model", service->model_name()},
                      {"backend", service->backend_name()},
                      {"device", service->device()},
                      {"queue_length", st.queue_length},
                      {"in_flight", st.in_flight},
                      {"completed", st.completed},
                      {"log_records_dropped", st.log_records_dropped},
                      {"batch_stats", batches}};
  if (AsyncLogWriter* log = core.log()) {
    AsyncLogWriterStats ls = log->GetStats();
    nlohmann::json by_reason = nlohmann::json::object();
    for (size_t i = 0; i < kLogDropReasonCount; ++i) {
      by_reason[LogDropReasonName(static_cast<LogDropReason>(i))] = ls.dropped_by_reason[i];
    }
    j["log_records_dropped_by_reason"] = by_reason;
    j["log_writable"] = log->healthy();
    j["log_records_written"] = ls.written_lines;
  }
  resp.Send(Response::Json(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

}  // namespace yoloscope
