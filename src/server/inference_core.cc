#include "server/inference_core.h"

#include <algorithm>
#include <mutex>

namespace yoloscope {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

CoreError Invalid(std::string message) {
  return CoreError{Outcome::kBadRequest, std::move(message), ""};
}

}  // namespace

std::string TritonPlatform(std::string_view backend) {
  if (backend == "torch") return "pytorch_libtorch";
  if (backend == "onnxruntime") return "onnxruntime_onnx";
  if (backend == "opencv") return "onnx_opencv";
  return std::string(backend);
}

InferenceCore::InferenceCore(InferenceService* service, RequestIdGenerator* ids, Clock* clock,
                             AsyncLogWriter* log, bool audit, int instances)
    : service_(service),
      ids_(ids),
      clock_(clock),
      log_(log),
      audit_(audit),
      instances_(instances) {}

std::string InferenceCore::RequestId(std::optional<std::string_view> client_given) const {
  if (client_given && ValidRequestId(*client_given)) return std::string(*client_given);
  return ids_->Next();
}

int64_t InferenceCore::ArrivalWallUs(int64_t receive_ns) const {
  return clock_->WallNowUs() - (clock_->NowNs() - receive_ns) / 1000;
}

std::optional<CoreError> InferenceCore::CheckModel(std::string_view name,
                                                   std::string_view version) const {
  const std::string& served = service_->model_name();
  if (name != served) {
    return CoreError{Outcome::kNotFound,
                     "Request for unknown model: '" + std::string(name) +
                         "' is not found (this server serves '" + served + "')",
                     ""};
  }
  if (!version.empty() && version != "1") {
    return CoreError{Outcome::kNotFound,
                     "Request for unknown model: '" + std::string(name) + "' version " +
                         std::string(version) + " is not found (version 1 is served)",
                     ""};
  }
  return std::nullopt;
}

std::optional<CoreError> InferenceCore::AuditRefusal() const {
  if (!audit_ || log_ == nullptr) return std::nullopt;
  if (!log_->healthy()) {
    return CoreError{Outcome::kUnavailable,
                     "the request log cannot be written (" + log_->last_error() +
                         "); refusing requests until it can (log.policy: audit)",
                     "log_unavailable"};
  }
  if (log_->queue_full()) {
    // This request's record would be dropped: the writer is behind.
    return CoreError{Outcome::kUnavailable,
                     "the request log's queue is full (the writer cannot keep up); refusing "
                     "requests until it drains (log.policy: audit)",
                     "log_unavailable"};
  }
  return std::nullopt;
}

void InferenceCore::Refuse(const CallInfo& call, std::string_view client_id, const CoreError& error,
                           int http_status) const {
  service_->LogRejected(Rejection(call, client_id, error, http_status));
}

RejectedRequest InferenceCore::Rejection(const CallInfo& call, std::string_view client_id,
                                         const CoreError& error, int http_status) const {
  RejectedRequest r;
  r.request_id = call.request_id;
  r.protocol = call.protocol;
  r.client_id.assign(client_id);
  r.arrival_wall_us = ArrivalWallUs(call.receive_ns);
  r.receive_ns = call.receive_ns;
  r.input_bytes = call.input_bytes;
  r.outcome = error.outcome;
  r.http_status = http_status;
  r.log_status = error.log_status;
  r.message = error.message;
  return r;
}

std::optional<CoreError> InferenceCore::ToPipeline(KServeInferRequest& request,
                                                   std::vector<InferenceRequest>* images) const {
  const std::string& model = service_->model_name();
  const ModelInfo& info = service_->model_info();
  const std::string allowed = "'" + std::string(kImagesInput) +
                              "' (BYTES [B], encoded images) or '" + std::string(kImagesFp32Input) +
                              "' (FP32 [B,3," + std::to_string(info.input_h) + "," +
                              std::to_string(info.input_w) + "], letterboxed RGB in [0,1])";
  if (request.inputs.empty()) {
    return Invalid("expected 1 input but got 0 inputs for model '" + model + "': send " + allowed);
  }
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const std::string& name = request.inputs[i].name;
    if (name != kImagesInput && name != kImagesFp32Input) {
      return Invalid("unexpected inference input '" + name + "' for model '" + model +
                     "': its inputs are " + allowed);
    }
    for (size_t j = 0; j < i; ++j) {
      if (request.inputs[j].name == name) {
        return Invalid("input '" + name + "' is given more than once");
      }
    }
  }
  if (request.inputs.size() > 1) {
    return Invalid("expected 1 input but got " + std::to_string(request.inputs.size()) +
                   " inputs for model '" + model + "': send either '" + std::string(kImagesInput) +
                   "' or '" + std::string(kImagesFp32Input) + "'");
  }
  KServeInputTensor& in = request.inputs[0];
  const bool bytes = in.name == kImagesInput;
  const char* expected = bytes ? "BYTES" : "FP32";
  if (in.datatype != expected) {
    std::string hint;
    if (bytes && in.datatype == "FP32") {
      hint = " (send letterboxed FP32 tensors as input '" + std::string(kImagesFp32Input) + "')";
    } else if (!bytes && in.datatype == "BYTES") {
      hint = " (send encoded images as input '" + std::string(kImagesInput) + "')";
    }
    return Invalid("inference input '" + in.name + "' data-type is '" + in.datatype +
                   "', but model '" + model + "' expects '" + expected + "'" + hint);
  }
  const auto& shape = in.shape;
  const bool shape_ok =
      bytes ? (shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)) && shape[0] >= 1
            : shape.size() == 4 && shape[0] >= 1 && shape[1] == 3 && shape[2] == info.input_h &&
                  shape[3] == info.input_w;
  if (!shape_ok) {
    return Invalid(
        "unexpected shape for input '" + in.name + "' for model '" + model + "'. Expected " +
        (bytes
             ? std::string("[-1] or [-1,1]")
             : "[-1,3," + std::to_string(info.input_h) + "," + std::to_string(info.input_w) + "]") +
        ", got " + ShapeText(shape));
  }
  const int64_t batch = shape[0];
  const int max_batch = service_->max_batch_size();
  if (batch > max_batch) {
    return Invalid("inference request batch-size must be <= " + std::to_string(max_batch) +
                   " for '" + model + "' (got " + std::to_string(batch) +
                   " images; split the request)");
  }
  if (!in.has_data) return Invalid("input '" + in.name + "' has no data");
  images->clear();
  if (bytes) {
    if (static_cast<int64_t>(in.bytes.size()) != batch) {
      return Invalid("input '" + in.name + "' has " + std::to_string(in.bytes.size()) +
                     " elements but its shape " + ShapeText(shape) + " needs " +
                     std::to_string(batch));
    }
    for (size_t b = 0; b < in.bytes.size(); ++b) {
      if (in.bytes[b].empty()) {
        return Invalid("input '" + in.name + "' element " + std::to_string(b) +
                       " is empty (expected an encoded image)");
      }
    }
    for (auto& element : in.bytes) {
      InferenceRequest ir;
      ir.image = std::move(element);
      images->push_back(std::move(ir));
    }
  } else {
    const size_t per = static_cast<size_t>(3) * info.input_h * info.input_w;
    if (in.fp32.size() != per * static_cast<size_t>(batch)) {
      return Invalid("input '" + in.name + "' has " + std::to_string(in.fp32.size()) +
                     " values but its shape " + ShapeText(shape) + " needs " +
                     std::to_string(per * static_cast<size_t>(batch)));
    }
    for (int64_t b = 0; b < batch; ++b) {
      InferenceRequest ir;
      ir.tensor = TensorInput{
          std::vector<float>(in.fp32.begin() + b * per, in.fp32.begin() + (b + 1) * per)};
      images->push_back(std::move(ir));
    }
  }
  return std::nullopt;
}

std::optional<CoreError> InferenceCore::CheckOutputs(const KServeInferRequest& request) const {
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const std::string& name = request.outputs[i].name;
    if (name != kNumDetectionsOutput && name != kDetectionsOutput) {
      return Invalid("unexpected inference output '" + name + "' for model '" +
                     service_->model_name() + "': its outputs are '" +
                     std::string(kNumDetectionsOutput) + "' and '" +
                     std::string(kDetectionsOutput) + "'");
    }
    for (size_t j = 0; j < i; ++j) {
      if (request.outputs[j].name == name) {
        return Invalid("output '" + name + "' is requested more than once");
      }
    }
  }
  return std::nullopt;
}

void InferenceCore::Infer(KServeInferRequest request, const CallInfo& call, InferDone done) {
  auto refuse = [&](const CoreError& error) {
    Refuse(call, request.id, error);
    InferReply reply;
    reply.error = error;
    reply.request_id = call.request_id;
    done(std::move(reply));
  };
  if (auto e = CheckModel(request.model_name, request.model_version)) return refuse(*e);
  if (auto e = AuditRefusal()) return refuse(*e);
  std::vector<InferenceRequest> images;
  if (auto e = ToPipeline(request, &images)) return refuse(*e);
  if (auto e = CheckOutputs(request)) return refuse(*e);

  const int64_t wall = ArrivalWallUs(call.receive_ns);
  const size_t n = images.size();
  for (size_t i = 0; i < n; ++i) {
    InferenceRequest& ir = images[i];
    ir.request_id = n == 1 ? call.request_id : call.request_id + "-" + std::to_string(i);
    ir.protocol = call.protocol;
    ir.client_id = request.id;
    ir.receive_ns = call.receive_ns;
    ir.arrival_wall_us = wall;
    request.params.ApplyTo(&ir);
  }
  // One answer when the last image completes.
  struct Gather {
    std::mutex mu;
    std::vector<InferenceResult> results;  // Guarded by mu.
    size_t remaining = 0;                  // Guarded by mu.
    KServeInferRequest request;
    std::string request_id, model;
    InferDone done;
  };
  auto g = std::make_shared<Gather>();
  g->results.resize(n);
  g->remaining = n;
  g->request = std::move(request);
  g->request.inputs.clear();  // the data now lives in the pipeline requests
  g->request_id = call.request_id;
  g->model = service_->model_name();
  g->done = std::move(done);
  service_->SubmitAll(std::move(images), [g](size_t i, InferenceResult&& r) {
    std::unique_lock<std::mutex> lock(g->mu);
    g->results[i] = std::move(r);
    if (--g->remaining > 0) return;
    lock.unlock();
    InferReply reply;
    reply.request_id = g->request_id;
    for (const InferenceResult& res : g->results) {
      if (!res.status.ok()) {
        // The whole request fails with its first failed image (every image
        // has its own record with its own status).
        reply.error = CoreError{res.outcome, res.status.message(), ""};
        g->done(std::move(reply));
        return;
      }
    }
    KServeInferResponse& resp = reply.response;
    resp.model_name = g->model;
    resp.id = g->request.id;
    const auto b = static_cast<int64_t>(g->results.size());
    size_t k = 0;
    for (const auto& res : g->results) k = std::max(k, res.detections.size());
    auto add = [&](std::string_view name) {
      KServeOutputTensor t;
      t.name = std::string(name);
      if (name == kNumDetectionsOutput) {
        t.datatype = "INT32";
        t.shape = {b};
        for (const auto& res : g->results) {
          t.int32_data.push_back(static_cast<int32_t>(res.detections.size()));
        }
      } else {
        t.datatype = "FP32";
        t.shape = {b, static_cast<int64_t>(k), 6};
        t.fp32_data.reserve(static_cast<size_t>(b) * k * 6);
        for (const auto& res : g->results) {
          for (size_t d = 0; d < k; ++d) {
            if (d < res.detections.size()) {
              const Detection& det = res.detections[d];
              t.fp32_data.insert(t.fp32_data.end(), {det.x1, det.y1, det.x2, det.y2, det.score,
                                                     static_cast<float>(det.class_id)});
            } else {
              // Padding rows: score 0, class -1.
              t.fp32_data.insert(t.fp32_data.end(), {0.f, 0.f, 0.f, 0.f, 0.f, -1.f});
            }
          }
        }
      }
      return t;
    };
    if (g->request.outputs.empty()) {
      for (std::string_view name : {kNumDetectionsOutput, kDetectionsOutput}) {
        KServeOutputTensor t = add(name);
        t.binary = g->request.binary_outputs;
        resp.outputs.push_back(std::move(t));
      }
    } else {
      for (const KServeRequestedOutput& o : g->request.outputs) {
        KServeOutputTensor t = add(o.name);
        t.binary = o.binary;
        resp.outputs.push_back(std::move(t));
      }
    }
    g->done(std::move(reply));
  });
}

void InferenceCore::Detect(InferenceRequest request, const CallInfo& call, Completion done) {
  request.request_id = call.request_id;
  request.protocol = call.protocol;
  request.receive_ns = call.receive_ns;
  request.arrival_wall_us = ArrivalWallUs(call.receive_ns);
  if (auto e = AuditRefusal()) {
    RejectedRequest rejected = Rejection(call, request.client_id, *e, -1);
    rejected.frame = request.frame;  // a refused video frame still names its stream
    service_->LogRejected(rejected);
    InferenceResult r;
    r.status = UnavailableError(e->message);
    r.outcome = e->outcome;
    r.http_status = DescribeOutcome(e->outcome).http_status;
    r.error_code = e->log_status;
    r.request_id = call.request_id;
    done(std::move(r));
    return;
  }
  service_->Submit(std::move(request), std::move(done));
}

ModelDescription InferenceCore::Describe() const {
  const ModelInfo& info = service_->model_info();
  ModelDescription d;
  d.name = service_->model_name();
  d.backend = service_->backend_name();
  d.platform = TritonPlatform(d.backend);
  d.device = service_->device();
  d.input_h = info.input_h;
  d.input_w = info.input_w;
  d.inputs = {{std::string(kImagesInput), "BYTES", {-1}},
              {std::string(kImagesFp32Input), "FP32", {-1, 3, info.input_h, info.input_w}}};
  d.outputs = {{std::string(kNumDetectionsOutput), "INT32", {-1}},
               {std::string(kDetectionsOutput), "FP32", {-1, -1, 6}}};
  d.max_batch_size = service_->max_batch_size();
  const BatcherConfig& b = service_->batcher_config();
  d.preferred_batch_sizes = b.preferred_batch_sizes;
  std::sort(d.preferred_batch_sizes.begin(), d.preferred_batch_sizes.end());
  d.max_queue_delay_us = b.max_queue_delay_us;
  d.max_queue_size = b.max_queue_size;
  d.default_timeout_us = b.default_timeout_us;
  d.instances = instances_;
  d.class_names = info.class_names;
  auto engine = info.metadata.find("engine");
  d.engine = engine != info.metadata.end() ? engine->second : d.backend;
  return d;
}

}  // namespace yoloscope
