// InferenceService: the serving pipeline behind the HTTP layer. All stages
// run concurrently on their own threads:
//
//   Submit -> [preprocess queue] -> preprocess workers (decode + letterbox)
//          -> DynamicBatcher -> device workers (one Backend instance each)
//          -> [postprocess queue] -> postprocess workers (YOLO decode + NMS)
//          -> Completion callback (the HTTP responder) + one `request` record
//
// Every request that reaches Submit gets exactly one Completion call and
// exactly one `request` log record, whatever happens to it (bad image, queue
// full, timeout, backend failure, shutdown). Every executed batch writes one
// `batch` record. Requests rejected before Submit (bad HTTP input, and the
// HTTP layer's own refusals) are logged through LogRejected.
//
// Batch size: Create caps batcher.max_batch_size at the smallest
// Backend::max_batch() of its instances (a device may hold fewer images than
// asked, e.g. a CUDA backend sized by activation memory), says so on stderr,
// and uses the capped value for the warm-up, the batcher and the stats.
//
// Records: `gpu_id` of request and batch records is the GPU index of the
// device of the instance that ran them (Backend::device() "cuda:N" /
// "sim:N"; null on "cpu"). Records are built in a per-thread record and
// line buffer, so writing one allocates nothing in steady state.
//
// Ownership: owns its backends, threads and buffers; borrows the Clock,
// metrics registry and log writer (which must outlive it; the log writer may
// be null to disable the request log). Thread-safety: Submit, LogRejected,
// Stats are thread-safe; Shutdown is called once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "batching/batcher_config.h"
#include "common/clock.h"
#include "common/status.h"
#include "image/image.h"
#include "logging/async_log_writer.h"
#include "model/detection.h"
#include "model/yolo_decoder.h"
#include "reqlog/log_records.h"
#include "server/metrics_registry.h"
#include "server/outcome.h"

namespace yoloscope {

struct InferenceServiceConfig {
  BackendConfig backend;            // each instance builds its own Backend from this
  int instances = 1;                // model instances = device worker threads
  int preprocess_workers = 2;       // decode + letterbox threads
  int postprocess_workers = 1;      // YOLO decode + NMS threads
  int64_t max_pixels = 40'000'000;  // images over this are refused (422) before decoding
  // Decode JPEGs >= 2x the network input at 1/2, 1/4 or 1/8 scale in the DCT
  // domain (faster; the network input then differs from Ultralytics'). Off:
  // full decode + INTER_LINEAR resize, Ultralytics' exact preprocessing.
  bool fast_decode = false;
  BatcherConfig batcher;          // max_batch_size also caps the backend's batch
  PostprocessConfig postprocess;  // defaults; requests may override conf/iou/max_det
  bool warmup = true;             // run every batch size once before serving
  std::string model_name;         // served name; "" = the model file's stem
  // Builds each instance's backend; empty = CreateBackend. A test seam (a
  // backend with a smaller max_batch(), another device name).
  std::function<StatusOr<std::unique_ptr<Backend>>(const BackendConfig&)> backend_factory;
  // Called for every `request` record before it is written, from worker
  // threads (e.g. to add the latest device telemetry). Must be thread-safe.
  std::function<void(RequestLogRecord*)> annotate_request;
  // Called with every request / batch record (after annotate_request),
  // whether or not the request log is on: the live alerter's feed.
  std::function<void(const RequestLogRecord&)> on_request_record;
  std::function<void(const BatchLogRecord&)> on_batch_record;
};

// Where the time went, in milliseconds. Optional stages are empty when they
// do not exist on this device (no copies on CPU).
struct StageTiming {
  double queue_ms = 0, decode_ms = 0, preprocess_ms = 0, inference_ms = 0, postprocess_ms = 0,
         total_ms = 0;
  std::optional<double> h2d_ms, d2h_ms;
};

// An already letterboxed input (KServe FP32 tensor input): skips decoding.
struct TensorInput {
  std::vector<float> chw;  // 3 x H x W, RGB in [0, 1], H and W = the model's input
};

// Where a video frame came from (a request made by a stream, not a
// client): logged on its `request` record (docs/streams.md).
struct StreamFrameInfo {
  std::string stream;            // the stream's name
  int64_t frame_index = 0;       // position among the frames read from the stream
  std::optional<double> pts_ms;  // presentation time in the stream, ms
  double decode_ms = 0;          // reading + decoding the frame (the stream source's time)
};

struct InferenceRequest {
  std::string request_id;
  // How it arrived: a static string ("http", "kserve_http", "kserve_grpc",
  // "stream")
  // for the record's `protocol`; empty = unknown.
  std::string_view protocol;
  std::string client_id;              // the client's own id (KServe `id`), logged as client_id
  std::string image;                  // encoded image bytes (ignored when tensor is set)
  std::optional<TensorInput> tensor;  // pre-processed input instead of an image
  // An already decoded RGB picture (a video frame) instead of `image`: only
  // letterboxed; its decode time comes from `frame`.
  std::optional<Image> pixels;
  std::optional<StreamFrameInfo> frame;  // set for a video frame
  int64_t receive_ns = 0;                // Clock::NowNs when the request arrived
  int64_t arrival_wall_us = 0;           // Clock::WallNowUs at arrival (the log's ts)
  std::optional<float> conf, iou;        // overrides of the service's postprocess config
  std::optional<int> max_det;
  bool high_priority = false;
  int64_t timeout_us = 0;  // 0 = the batcher's default_timeout_us
};

struct InferenceResult {
  Status status;                   // OK, or why the request failed
  Outcome outcome = Outcome::kOk;  // how it ended (outcome.h maps it to every protocol)
  int http_status = 200;   // DescribeOutcome(outcome).http_status (or the protocol's own refusal)
  std::string error_code;  // log `status`: "ok", "bad_image", "queue_full", "timeout", ...
  std::string request_id;
  int width = 0, height = 0;  // original image size
  Detections detections;
  int64_t batch_id = 0;
  int batch_size = 0;
  int queue_len = 0;
  StageTiming timing;
};

using Completion = std::function<void(InferenceResult&&)>;

// A count and the summed duration of what it counts, in nanoseconds.
struct CountAndNs {
  int64_t count = 0;
  int64_t ns = 0;
};

// Per executed batch size: batches, and the time spent on them.
// compute_input = the decode + letterbox time of the batch's images (summed),
// compute_infer = the backend's execution of the batch,
// compute_output = the YOLO decode + NMS time of the batch's images (summed).
struct BatchSizeStats {
  int batch_size = 0;
  CountAndNs compute_input, compute_infer, compute_output;
};

struct InferenceServiceStats {
  int64_t queue_length = 0;  // waiting for a preprocess worker + in the batcher
  int64_t in_flight = 0;     // submitted, not yet completed
  int64_t completed = 0;
  std::vector<int64_t> batch_count_by_size;      // index = batch size
  std::vector<double> batch_latency_ms_by_size;  // summed execution time
  int64_t log_records_dropped = 0;
  // Triton's statistics extension, per image (a KServe request of B images
  // counts B). The counts are those of /metrics: success.count = the
  // stage histograms' _count, success + fail = yoloscope_requests_total;
  // queue / compute_* ns = the stage histograms' _sum.
  CountAndNs success, fail, queue, compute_input, compute_infer, compute_output;
  int64_t execution_count = 0;    // executed batches (yoloscope_batches_total)
  int64_t last_inference_ms = 0;  // wall time (ms since the epoch) of the last success; 0 = none
  std::vector<BatchSizeStats> batch_stats;  // sizes that ran, ascending
};

// A request refused by a protocol front end before it reached Submit.
struct RejectedRequest {
  std::string request_id;
  std::string_view protocol;  // static string, as InferenceRequest::protocol
  std::string client_id;
  int64_t arrival_wall_us = 0;
  int64_t receive_ns = 0;
  int64_t input_bytes = 0;  // <= 0: unknown
  Outcome outcome = Outcome::kBadRequest;
  // The HTTP status answered; 0 = no response was sent (connection closed).
  // -1 = DescribeOutcome(outcome).http_status.
  int http_status = -1;
  std::string log_status;  // "" = DescribeOutcome(outcome).log_status
  std::string message;
  std::optional<StreamFrameInfo> frame;  // a video frame refused before the pipeline
};

class InferenceService {
 public:
  static StatusOr<std::unique_ptr<InferenceService>> Create(const InferenceServiceConfig& config,
                                                            Clock* clock, MetricsRegistry* metrics,
                                                            AsyncLogWriter* log);
  ~InferenceService();

  // Admits a request; `done` is called exactly once, from a worker thread
  // (or from this thread when the request is refused at once: queue full,
  // shutting down).
  void Submit(InferenceRequest request, Completion done);

  // Admits all of `requests` or none of them (one client request of several
  // images): when the queue cannot take them all, each is answered
  // queue_full at once (each with its own record). `done(index, result)` is
  // called exactly once per request, as in Submit.
  using IndexedCompletion = std::function<void(size_t index, InferenceResult&&)>;
  void SubmitAll(std::vector<InferenceRequest> requests, IndexedCompletion done);

  // Writes the `request` record (and metrics) of a request refused before
  // Submit, e.g. an unsupported content type (`http_status` 415) or a body
  // over the HTTP layer's limit (413). `http_status` 0: no response was sent
  // (the connection was closed), so yoloscope_requests_total is not counted.
  // `input_bytes` <= 0: unknown (left out of the record).
  void LogRejected(const std::string& request_id, int64_t arrival_wall_us, int64_t receive_ns,
                   int64_t input_bytes, int http_status, const std::string& error_code,
                   const std::string& message);
  // The same with the outcome and protocol given by the front end.
  void LogRejected(const RejectedRequest& rejected);

  // Stops admitting (later Submits fail with 503), finishes everything
  // admitted, joins the workers. Idempotent.
  void Shutdown();

  bool ready() const { return ready_.load(); }
  const ModelInfo& model_info() const;
  const std::string& model_name() const { return model_name_; }
  std::string backend_name() const;
  // The device's own telemetry when the backend models it (simulated GPU).
  std::unique_ptr<TelemetrySource> NewTelemetrySource() const;
  std::string device() const;
  // The largest batch the service forms: batcher.max_batch_size capped by
  // the backends' max_batch().
  int max_batch_size() const;
  // The batcher's settings as the service runs them (max_batch_size capped).
  const BatcherConfig& batcher_config() const;
  InferenceServiceStats Stats() const;

 private:
  struct Job;
  struct Impl;
  InferenceService() = default;

  std::unique_ptr<Impl> impl_;
  std::string model_name_;
  std::atomic<bool> ready_{false};
};

}  // namespace yoloscope
