// InferenceServer: `yoloscope serve` as a library object. Owns the HTTP
// server, its routes, the InferenceService pipeline, the request-log writer,
// the metrics registry and the request-id generator.
//
// Routes:
//   POST /v1/detect                 image body (image/*, application/octet-stream) or
//                                   multipart/form-data field `image`; ?conf=&iou=&max_det=
//   GET  /v1/stats                  per-batch-size execution counts and times
//   GET  /metrics                   Prometheus text format
//   GET  /v2, /v2/health/live, /v2/health/ready
//   GET  /v2/models/{m}, /v2/models/{m}/ready
//   POST /v2/models/{m}/infer       KServe v2: BYTES input of encoded images (JSON base64
//                                   strings or the binary-tensor extension) or an FP32
//                                   [B,3,H,W] tensor; outputs num_detections + detections
// Every error is `{"error": "..."}` with a 4xx/5xx status; every inference
// request writes one `request` log record: those that reach a handler, and
// those the HTTP layer refuses itself (413, 431, 401, malformed HTTP, read
// timeout; see docs/serve.md), reported through HttpRejectionHandler.
//
// Thread-safety: Start/Shutdown from one controlling thread; handlers run on
// I/O threads and hand work to the pipeline.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/serve_config.h"

namespace yoloscope {

class InferenceServer {
 public:
  // Receives operational warnings (request-log write failures, recovery, a
  // reopened log file), rate-limited by the writer; called on the log
  // writer's thread. serve prints them on stderr.
  using WarningSink = std::function<void(const std::string& message)>;

  // Loads the model (and warms it up), opens the request log and binds the
  // port; serves nothing until Start. `clock` may be null (a RealClock is
  // used); `warn` may be null (no warnings).
  static StatusOr<std::unique_ptr<InferenceServer>> Create(const ServeConfig& config,
                                                           Clock* clock = nullptr,
                                                           WarningSink warn = nullptr);
  ~InferenceServer();

  Status Start();
  int port() const;
  // Stops accepting, answers everything accepted, flushes the request log.
  // Returns true when everything drained within `grace`.
  bool Shutdown(std::chrono::milliseconds grace);

  // The Prometheus text exposition of every metric, gauges refreshed.
  std::string RenderMetrics();

  // SIGHUP: reopens every file the server writes (the request log; alert
  // records go through it) after writing what is buffered to the old file.
  // Serving continues throughout. Any thread.
  Status ReopenLogs();

  // What the request log wrote and dropped (by reason name), for the exit
  // message. Any thread.
  struct LogSummary {
    int64_t written = 0;
    int64_t dropped = 0;
    std::vector<std::pair<std::string, int64_t>> dropped_by_reason;
  };
  LogSummary GetLogSummary() const;

 private:
  struct Impl;
  InferenceServer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace yoloscope
