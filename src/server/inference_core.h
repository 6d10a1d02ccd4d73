// InferenceCore: the protocol-independent half of serving. Every front end
// (/v1/detect over HTTP, KServe v2 over HTTP, KServe v2 over gRPC) parses
// its wire format into the core's types, calls the core, and renders what
// the core answers; the core validates, admits, runs the pipeline and makes
// sure each client request leaves one consistent set of `request` records
// (one record per image, or exactly one record for a request refused before
// the pipeline). Errors are Outcomes (outcome.h): each front end maps them
// through the one table to its own codes.
//
// Ownership: borrows the service, id generator, clock and log writer (which
// must outlive it; the log may be null). Thread-safety: every method is
// thread-safe; completions run on pipeline worker threads.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "logging/async_log_writer.h"
#include "server/inference_service.h"
#include "server/kserve_types.h"
#include "server/outcome.h"
#include "server/request_id_generator.h"

namespace yoloscope {

// What the front end knows about one call, for its records.
struct CallInfo {
  std::string request_id;     // the log id (client-given when valid, else generated)
  std::string_view protocol;  // "http", "kserve_http", "kserve_grpc"
  int64_t receive_ns = 0;     // Clock::NowNs when the request had arrived
  int64_t input_bytes = 0;    // size of the request on the wire; <= 0 = unknown
};

// A refusal or failure, in the pipeline's words.
struct CoreError {
  Outcome outcome = Outcome::kInternal;
  std::string message;
  std::string log_status;  // the record's status when not the outcome's (e.g. "log_unavailable")
};

struct InferReply {
  std::optional<CoreError> error;  // set: the request failed (response is empty)
  KServeInferResponse response;
  std::string request_id;  // the log id, for the X-Request-Id header
};

// One tensor of the model's metadata (shape with -1 for variable sizes).
struct TensorSpec {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
};

// What metadata, /config and the repository index say about the model.
struct ModelDescription {
  std::string name;
  std::string version = "1";
  std::string platform;  // Triton's platform name, e.g. "onnxruntime_onnx"
  std::string backend;   // yoloscope's backend: onnxruntime, torch, opencv, sim, identity
  std::string device;    // "cpu", "cuda:0", "sim:0"
  std::vector<TensorSpec> inputs, outputs;
  int input_h = 0, input_w = 0;
  int max_batch_size = 0;
  std::vector<int> preferred_batch_sizes;
  int64_t max_queue_delay_us = 0;
  int max_queue_size = 0;
  int64_t default_timeout_us = 0;
  int instances = 1;
  std::vector<std::string> class_names;
  std::string engine;  // the backend's engine detail (e.g. the ONNX Runtime version)
};

class InferenceCore {
 public:
  // `audit`: refuse inference while the request log cannot be written
  // (log.policy audit).
  InferenceCore(InferenceService* service, RequestIdGenerator* ids, Clock* clock,
                AsyncLogWriter* log, bool audit, int instances);

  // The id to log for a request: `client_given` when valid, else a new one.
  std::string RequestId(std::optional<std::string_view> client_given) const;
  // Wall time (the log's ts) of the moment Clock::NowNs was `receive_ns`.
  int64_t ArrivalWallUs(int64_t receive_ns) const;

  // nullopt when `name` (and `version`, "" = latest) is served; else
  // kNotFound with Triton's wording.
  std::optional<CoreError> CheckModel(std::string_view name, std::string_view version) const;

  // Writes the one record of a request refused before the pipeline.
  // `http_status` -1: the outcome's; `log_status` "": the outcome's.
  void Refuse(const CallInfo& call, std::string_view client_id, const CoreError& error,
              int http_status = -1) const;

  // A KServe inference: validates the request against the model's inputs,
  // refuses a batch over max_batch_size (400, as Triton does), admits all of
  // its images or none, and answers once with every requested output.
  using InferDone = std::function<void(InferReply&&)>;
  void Infer(KServeInferRequest request, const CallInfo& call, InferDone done);

  // One image (/v1/detect): the audit check, then Submit. `done` gets the
  // pipeline's result (or the audit refusal as a failed result).
  void Detect(InferenceRequest request, const CallInfo& call, Completion done);

  ModelDescription Describe() const;
  InferenceServiceStats Stats() const { return service_->Stats(); }
  bool ready() const { return service_->ready(); }
  InferenceService* service() const { return service_; }
  AsyncLogWriter* log() const { return log_; }

 private:
  // The record of a request refused before the pipeline.
  RejectedRequest Rejection(const CallInfo& call, std::string_view client_id,
                            const CoreError& error, int http_status) const;
  // Audit policy: the refusal, if the log cannot take this request's record.
  std::optional<CoreError> AuditRefusal() const;
  // Validates `request`'s inputs and turns them into pipeline requests.
  std::optional<CoreError> ToPipeline(KServeInferRequest& request,
                                      std::vector<InferenceRequest>* images) const;
  std::optional<CoreError> CheckOutputs(const KServeInferRequest& request) const;

  InferenceService* service_;
  RequestIdGenerator* ids_;
  Clock* clock_;
  AsyncLogWriter* log_;
  bool audit_;
  int instances_;
};

// Triton's platform name for a yoloscope backend ("onnxruntime" ->
// "onnxruntime_onnx", "torch" -> "pytorch_libtorch", ...).
std::string TritonPlatform(std::string_view backend);

}  // namespace yoloscope
